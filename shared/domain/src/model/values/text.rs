//! Free text a requester or agent writes: the subject line and the body of a message.

use crate::FieldError;
use crate::model::field::clean_text;

/// A subject: one line, so that it can never inject a mail header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        clean_text("subject", raw, 3, Self::MAX, false).map(Subject)
    }

    /// A subject from an incoming mail: folded onto one line and cut to size rather than
    /// refused, since the sender cannot be asked to retype it. `None` when it is empty.
    pub fn from_mail(raw: &str) -> Option<Self> {
        let line: String = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::MAX)
            .collect();
        Subject::parse(&line).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(Subject, "subject");

/// The text of a message: the description of a new ticket, a reply, a note.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body(String);

impl Body {
    pub const MAX: usize = 50_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field("description", raw)
    }

    /// The same rule, reported under another field name (`text` for replies and notes).
    pub fn parse_field(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        clean_text(field, &raw.replace("\r\n", "\n"), 1, Self::MAX, true).map(Body)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(Body, "description");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldProblem;

    #[test]
    fn subjects_are_one_line() {
        assert_eq!(Subject::parse("  Consulta  ").unwrap().as_str(), "Consulta");
        assert_eq!(
            Subject::parse("Hola\r\nBcc: victim@example.com")
                .unwrap_err()
                .problem,
            FieldProblem::ControlCharacters
        );
        assert_eq!(
            Subject::parse("ok").unwrap_err().problem,
            FieldProblem::TooShort { min: 3 }
        );
    }

    #[test]
    fn mail_subjects_are_folded_and_cut() {
        let s = Subject::from_mail("Re: consulta\r\n\tsobre el trámite").unwrap();
        assert_eq!(s.as_str(), "Re: consulta sobre el trámite");
        assert_eq!(
            Subject::from_mail(&"x".repeat(500)).unwrap().as_str().len(),
            200
        );
        assert!(Subject::from_mail("  ").is_none());
    }

    #[test]
    fn bodies_keep_lines_and_normalise_line_ends() {
        let b = Body::parse("Buenos días,\r\n\r\nNecesito ayuda.\t").unwrap();
        assert_eq!(b.as_str(), "Buenos días,\n\nNecesito ayuda.");
        assert_eq!(
            Body::parse("a\u{0}b").unwrap_err().problem,
            FieldProblem::ControlCharacters
        );
        assert_eq!(Body::parse_field("text", " ").unwrap_err().field, "text");
        assert!(Body::parse(&"á".repeat(Body::MAX)).is_ok());
        assert!(Body::parse(&"á".repeat(Body::MAX + 1)).is_err());
    }
}
