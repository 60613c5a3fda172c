//! Canned responses: texts an agency's admins write once and agents choose when they answer,
//! with placeholders for the ticket they answer (the citizen's name, the number, the due
//! date), filled in before the agent reads and sends it.

use serde::{Deserialize, Serialize};

use crate::model::field::display_name;
use crate::model::lang::Lang;
use crate::model::time::long_date;
use crate::{AgencyCode, AgentId, Body, FieldError, FieldProblem, Ticket, Timestamp};

/// The placeholders a canned response may hold, and what each becomes.
pub const PLACEHOLDERS: [&str; 3] = ["{nombre}", "{numero}", "{fecha_limite}"];

/// The most canned responses an agency keeps: the console lists them all in one select.
pub const MAX_PER_AGENCY: usize = 100;

/// The longest title (it is what the list shows) and text.
pub const TITLE_MAX: usize = 120;
pub const TEXT_MAX: usize = 5_000;

/// What names a canned response in its agency: lower-case letters, digits and hyphens, as in
/// a path (`/canned-responses/plazo-ampliado`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CannedId(String);

impl CannedId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let valid = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(CannedId(raw.to_owned()))
        } else {
            Err(FieldError::new("id", FieldProblem::InvalidFormat))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CannedId {
    type Error = FieldError;
    fn try_from(raw: String) -> Result<Self, FieldError> {
        CannedId::parse(&raw)
    }
}

impl From<CannedId> for String {
    fn from(id: CannedId) -> String {
        id.0
    }
}

/// One canned response of an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    pub agency: AgencyCode,
    pub id: CannedId,
    pub title: String,
    /// With placeholders (`PLACEHOLDERS`), as the admin wrote it.
    pub text: String,
    pub by: AgentId,
    pub at: Timestamp,
}

/// A canned response's title and text, checked: the title a short name, the text not empty,
/// at most `TEXT_MAX` characters, and every `{…}` in it a known placeholder (a misspelt one
/// would reach a citizen as written).
pub fn parse_canned(
    title: Option<&str>,
    text: Option<&str>,
) -> Result<(String, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let title = display_name(title, TITLE_MAX)
        .and_then(|title| {
            if title.chars().any(char::is_control) {
                Err(FieldError::new("name", FieldProblem::InvalidFormat))
            } else {
                Ok(title)
            }
        })
        .map_err(|e| FieldError::new("title", e.problem))
        .map_err(|e| errors.push(e))
        .ok();
    let text = text.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        errors.push(FieldError::new("text", FieldProblem::Required));
    } else if let Err(error) = Body::parse_field("text", text) {
        // What a message may not hold (control characters), a canned response may not either.
        errors.push(error);
    } else if text.chars().count() > TEXT_MAX {
        errors.push(FieldError::new(
            "text",
            FieldProblem::TooLong { max: TEXT_MAX },
        ));
    } else if unknown_placeholder(text) {
        errors.push(FieldError::new("text", FieldProblem::UnknownValue));
    }
    match title {
        Some(title) if errors.is_empty() => Ok((title, text.to_owned())),
        _ => Err(errors),
    }
}

/// Whether `text` has something that looks meant as a placeholder (`{words}`: letters,
/// digits, `_`, `-` and spaces, with a letter) and is not one: `{nobre}`, `{fecha-limite}`.
fn unknown_placeholder(text: &str) -> bool {
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            return false;
        };
        let candidate = &after[..=end];
        let word = &candidate[1..candidate.len() - 1];
        if word.chars().any(char::is_alphabetic)
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
            && !PLACEHOLDERS.contains(&candidate)
        {
            return true;
        }
        rest = &after[1..];
    }
    false
}

impl CannedResponse {
    /// The text for `ticket`, its placeholders filled in once each (a name that reads
    /// "{numero}" stays a name); a ticket without a due date says so. `None` for a text no
    /// message may hold (one stored before the rules that refuse it).
    pub fn for_ticket(&self, ticket: &Ticket, lang: Lang) -> Option<Body> {
        let due = match ticket.due_date() {
            Some(day) => long_date(day, lang),
            None => match lang {
                Lang::Es => "la fecha que corresponda".to_owned(),
                Lang::En => "the date that applies".to_owned(),
            },
        };
        let values = [
            ticket.requester.name.as_str(),
            ticket.number.as_str(),
            due.as_str(),
        ];
        let mut text = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find('{') {
            text.push_str(&rest[..start]);
            let after = &rest[start..];
            match PLACEHOLDERS.iter().position(|p| after.starts_with(p)) {
                Some(index) => {
                    text.push_str(values[index]);
                    rest = &after[PLACEHOLDERS[index].len()..];
                }
                None => {
                    text.push('{');
                    rest = &after[1..];
                }
            }
        }
        text.push_str(rest);
        // A name of 120 characters in each of many placeholders could pass the body's limit.
        let text: String = text.chars().take(Body::MAX).collect();
        Body::parse(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_for_the_ticket_and_unknown_ones_refused() {
        let ticket = Ticket::example();
        let canned = CannedResponse {
            agency: ticket.agency.clone(),
            id: CannedId::parse("recibido").unwrap(),
            title: "Recibido".into(),
            text: "Estimada {nombre}: su trámite {numero} se responde hasta el {fecha_limite}."
                .into(),
            by: AgentId::parse("ana").unwrap(),
            at: ticket.created_at,
        };
        let text = canned.for_ticket(&ticket, Lang::Es).unwrap();
        assert!(
            text.as_str()
                .starts_with("Estimada Rosa Quishpe: su trámite MDT-QUE-2025-00007")
        );
        assert!(!text.as_str().contains('{'), "{}", text.as_str());
        assert!(parse_canned(Some("Título"), Some("Hola {nombre}, {numero}")).is_ok());
        let wrong = parse_canned(Some("Título"), Some("Hola {nobre}")).unwrap_err();
        assert_eq!(wrong[0].field, "text");
        assert_eq!(wrong[0].problem, FieldProblem::UnknownValue);
        // Braces that are not a placeholder's stay text; a misspelt placeholder is refused.
        assert!(parse_canned(Some("T"), Some("Use {} o { } o {1,2}")).is_ok());
        for misspelt in ["{fecha-limite}", "{fecha limite}", "{Nombre}"] {
            assert!(
                parse_canned(Some("T"), Some(misspelt)).is_err(),
                "{misspelt}"
            );
        }
        // What a message may not hold, a canned response may not either.
        assert!(parse_canned(Some("T"), Some("a\u{0}b")).is_err());
        assert!(parse_canned(Some("T\u{1b}"), Some("x")).is_err());
        // A name that reads like a placeholder is not filled in again.
        let mut odd = ticket.clone();
        odd.requester.name = crate::PersonName::parse("Ana {numero}").unwrap_or(odd.requester.name);
        let once = CannedResponse {
            text: "{nombre}".into(),
            ..canned.clone()
        };
        let filled = once.for_ticket(&odd, Lang::Es).unwrap();
        assert!(!filled.as_str().contains("MDT-QUE"), "{}", filled.as_str());
        let missing = parse_canned(None, Some("")).unwrap_err();
        assert_eq!(missing.len(), 2);
        assert!(CannedId::parse("plazo-ampliado").is_ok());
        for bad in ["", "Mayúscula", "a/b", &"x".repeat(41)] {
            assert!(CannedId::parse(bad).is_err(), "{bad}");
        }
    }
}
