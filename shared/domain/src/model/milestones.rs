//! What a ticket's figures count, frozen when it happens: its first answer, when it was
//! finished (and whether on time), how often it was reopened and followed up. Kept on the
//! ticket so that the agency's figures (`rules::stats`) are a function of its tickets alone:
//! a rebuild from the tickets finds what the updates added up.

use serde::{Deserialize, Serialize};

use crate::{AgentId, Timestamp};

/// A moment in a ticket's life and how long it took from its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub at: Timestamp,
    /// Business days from the day it was received to this one (in Ecuador, on its agency's
    /// calendar): 0 on the same day.
    pub business_days: u32,
    /// Within its due date; `None` when it had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    /// Whose work it was: the agent assigned, else the agent who did it (a reply that
    /// finished it); `None` when neither is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<AgentId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones {
    /// The agency's first public answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<Reached>,
    /// Its last finishing (resolved or closed); `None` while it is not finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Reached>,
    /// Times a finished ticket went back to work.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reopened: u32,
    /// The citizen's messages after the first, by any way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub follow_ups: u32,
    /// Of those, the ones that came by mail.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mail_follow_ups: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Milestones {
    pub fn is_empty(&self) -> bool {
        *self == Milestones::default()
    }
}
