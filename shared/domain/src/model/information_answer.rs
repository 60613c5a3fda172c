//! How an agency answered a request for public information (LOTAIP, category
//! `acceso_informacion`): what its annual report to the Defensoría del Pueblo lists for each
//! request, beside its dates, days taken and extension.

use serde::{Deserialize, Serialize};

use crate::model::field::{choice, clean_text};
use crate::{FieldError, FieldProblem};

choice! {
    pub enum InformationOutcome in "information_answer" {
        Granted => ("Entregada", "Granted"),
        PartlyGranted => ("Entregada parcialmente", "Partly granted"),
        Denied => ("Negada", "Denied"),
        /// Sent on to the agency that holds the information.
        Referred => ("Remitida a la entidad competente", "Referred"),
    }
}

/// Longest reason kept (characters).
pub const MAX_REASON: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InformationAnswer {
    pub outcome: InformationOutcome,
    /// Why it was denied or partly granted (the law's ground), or where it was referred;
    /// required but for `Granted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl InformationAnswer {
    /// An outcome with its reason, trimmed; a reason is required unless the information was
    /// granted, and kept to [`MAX_REASON`] characters.
    pub fn parse(outcome: InformationOutcome, reason: Option<&str>) -> Result<Self, FieldError> {
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            None if outcome != InformationOutcome::Granted => {
                return Err(FieldError::new(
                    "information_reason",
                    FieldProblem::Required,
                ));
            }
            None => None,
            Some(text) => Some(clean_text(
                "information_reason",
                text,
                1,
                MAX_REASON,
                false,
            )?),
        };
        Ok(InformationAnswer { outcome, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_unless_granted_and_bounded() {
        assert!(InformationAnswer::parse(InformationOutcome::Granted, None).is_ok());
        assert!(InformationAnswer::parse(InformationOutcome::Denied, Some("  ")).is_err());
        let denied =
            InformationAnswer::parse(InformationOutcome::Denied, Some(" Reservada (art. 17) "))
                .unwrap();
        assert_eq!(denied.reason.as_deref(), Some("Reservada (art. 17)"));
        let long = "x".repeat(MAX_REASON + 1);
        assert!(InformationAnswer::parse(InformationOutcome::Referred, Some(&long)).is_err());
        assert!(
            InformationAnswer::parse(InformationOutcome::Referred, Some("MINTEL\u{1b}[2J"))
                .is_err(),
            "no control characters"
        );
    }
}
