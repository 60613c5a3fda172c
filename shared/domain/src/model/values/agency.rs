//! Who owns a ticket: an agency (by its acronym) and one of its queues.

use crate::{FieldError, FieldProblem};

/// `raw` trimmed, if it is there and `well_formed` holds: the parse every identifier shares,
/// with `field` naming it in the error.
fn identifier(
    field: &'static str,
    raw: &str,
    well_formed: impl Fn(&str) -> bool,
) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, FieldProblem::Required));
    }
    if !well_formed(text) {
        return Err(FieldError::new(field, FieldProblem::InvalidFormat));
    }
    Ok(text.to_owned())
}

/// An agency's acronym, e.g. `MDT`, `MINTEL`: the first part of its ticket numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_uppercase();
        identifier("agency", &text, super::ticket_number::is_acronym).map(AgencyCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(AgencyCode, "agency");

/// A queue of an agency, e.g. `general`, `soporte-tecnico`: lower-case words joined by hyphens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueName(String);

impl QueueName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        identifier("queue", raw, |text| {
            text.len() <= 40
                && text.split('-').all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
        .map(QueueName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(QueueName, "queue");

/// An agent's stable identifier (not its token, not its name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(String);

impl AgentId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        identifier("assignee", raw, |text| {
            text.len() <= 64
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(AgentId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(AgentId, "assignee");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes_are_upper_case_acronyms() {
        assert_eq!(AgencyCode::parse(" mdt ").unwrap().as_str(), "MDT");
        assert_eq!(AgencyCode::parse("MINTEL").unwrap().as_str(), "MINTEL");
        assert!(AgencyCode::parse("M").is_err());
        assert!(AgencyCode::parse("MD-T").is_err());
        assert_eq!(
            AgencyCode::parse("").unwrap_err().problem,
            FieldProblem::Required
        );
    }

    #[test]
    fn queue_names_are_slugs() {
        assert!(QueueName::parse("soporte-tecnico").is_ok());
        assert!(QueueName::parse("general").is_ok());
        for bad in ["Soporte", "soporte técnico", "-x", "x--y", "a/b"] {
            assert!(QueueName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn agent_ids_refuse_separators_that_would_break_keys() {
        assert!(AgentId::parse("agent-01").is_ok());
        assert!(AgentId::parse("a#b").is_err());
        assert!(AgentId::parse("a b").is_err());
    }
}
