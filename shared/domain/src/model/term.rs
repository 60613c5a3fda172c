//! The term an agency has to answer a kind of request: how many days, how they count, and
//! the rule that sets it (written beside it in the configuration and docs/DEADLINES.md).

use serde::{Deserialize, Serialize};

use crate::rules::calendar::CalendarChanges;

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

/// Kept on the ticket when it is opened, so that later changes of the configuration do not
/// change the term it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub days: u32,
    pub kind: DayKind,
    /// The rule that sets it: "COA, art. 207".
    pub basis: String,
    /// Whether (and by how much) the agency may extend it, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<TermExtension>,
    /// When its agents are warned before it ends (besides the day after, always).
    #[serde(default)]
    pub warnings: WarningRules,
    /// Its agency's changes to the national calendar over the days the term may run: days
    /// are counted on them (and recounted when an admin changes one, `rules::deadline::recount`).
    #[serde(default, skip_serializing_if = "CalendarChanges::is_empty")]
    pub calendar: CalendarChanges,
}

/// When a term's agents are warned before it ends: once a share of it has passed, and some
/// business days before its last day; 0 turns either off. After the last day they are
/// always warned that it expired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningRules {
    /// Percent of the term's business days passed: 80.
    pub at_percent: u32,
    /// Business days before the due date: 1, the day before.
    pub days_before: u32,
}

/// A warning about a ticket's term, in the order they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningPoint {
    /// A share of the term has passed.
    SharePassed,
    /// The due date is a few business days away.
    DueSoon,
    /// The due date has passed.
    Expired,
}

impl WarningPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningPoint::SharePassed => "share_passed",
            WarningPoint::DueSoon => "due_soon",
            WarningPoint::Expired => "expired",
        }
    }
}

/// A warning and the day it is due to be sent (Ecuador's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub point: WarningPoint,
    pub on: chrono::NaiveDate,
}

/// How far a term may be extended, once, by a supervisor's decision with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermExtension {
    /// Days of the term's own kind.
    pub days: u32,
    /// Whether the citizen is told by mail (the law may require it).
    pub notice: bool,
}

/// An extension granted on a ticket: by whom, when, why and by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub days: u32,
    pub reason: String,
    pub by: crate::AgentId,
    pub at: crate::Timestamp,
    /// The due date before it.
    pub was_due_on: chrono::NaiveDate,
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
