//! The term an agency has to answer a kind of request: how many days, how they count, and
//! the rule that sets it (written beside it in the configuration and docs/DEADLINES.md).

use serde::{Deserialize, Serialize};

/// How a term's days count (Código Orgánico Administrativo, arts. 158-160).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// "Término": business days only.
    Business,
    /// "Plazo": calendar days; one that would end on a day off ends on the next business day.
    Calendar,
}

impl DayKind {
    pub fn wire(self) -> &'static str {
        match self {
            DayKind::Business => "business",
            DayKind::Calendar => "calendar",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "business" => Some(DayKind::Business),
            "calendar" => Some(DayKind::Calendar),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub days: u32,
    pub kind: DayKind,
    /// The rule that sets it: "COA, art. 207".
    pub basis: String,
}
