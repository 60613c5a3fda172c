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

/// A term's clock stopped while the agency waits on the citizen (COA, art. 140: the
/// requester is given days to complete or correct the request; the term does not run
/// meanwhile). It starts again when the citizen answers, or by itself after the configured
/// maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// The day the clock stopped, in Ecuador.
    pub since: chrono::NaiveDate,
    /// The day it starts again by itself if the citizen has not answered.
    pub resumes_on: chrono::NaiveDate,
    /// The due date if the clock starts again by itself, at the maximum: what queues sort
    /// and warn by while it is stopped.
    pub latest_due: chrono::NaiveDate,
}

/// Where a ticket's clock stands after a change of status: its due date and, while stopped,
/// its suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermClock {
    pub due_on: chrono::NaiveDate,
    pub suspended: Option<Suspension>,
}
