//! An agency as the site knows it: its queues, where each category lands, how long it
//! takes to answer, and what each queue does with mail to finished tickets. Configured in the
//! settings file and changed at run time by admins (the `AgencyDirectory` port).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::field::choice;
use crate::rules::calendar::CalendarChanges;
use crate::{AgencyCode, AgentId, Category, QueueName, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    pub code: AgencyCode,
    pub name: String,
    pub response_days: u32,
    pub default_queue: QueueName,
    #[serde(default)]
    pub queues_by_category: BTreeMap<Category, QueueName>,
    /// Queues whose follow-ups to finished tickets differ from the `[mail]` default.
    #[serde(default)]
    pub follow_ups: BTreeMap<QueueName, FinishedTicketRule>,
    /// The categories under a law of their own it takes (`Category::is_special`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub special_categories: Vec<Category>,
}

impl Agency {
    /// The queue a new ticket of this category lands in.
    pub fn queue_for(&self, category: Category) -> &QueueName {
        self.queues_by_category
            .get(&category)
            .unwrap_or(&self.default_queue)
    }

    /// Whether a citizen may open a ticket of `category` with it.
    pub fn offers(&self, category: Category) -> bool {
        !category.is_special() || self.special_categories.contains(&category)
    }

    /// Every queue the agency works.
    pub fn queues(&self) -> Vec<QueueName> {
        let mut queues: Vec<QueueName> = std::iter::once(self.default_queue.clone())
            .chain(self.queues_by_category.values().cloned())
            .chain(self.follow_ups.keys().cloned())
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }
}

/// What a queue does with a citizen's mail to a resolved or closed ticket (as in OTRS). On
/// the wire: `{"rule": "reopen", "within_days": 30}`, `{"rule": "reject"}`,
/// `{"rule": "new-linked"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum FinishedTicketRule {
    /// Reopen it, if it finished at most this many days ago (always, with `None`); older
    /// ones get a new ticket linked to them.
    Reopen {
        #[serde(default)]
        within_days: Option<u32>,
    },
    /// Leave it closed; the sender gets a notice.
    Reject,
    /// Always a new ticket, linked to the old one.
    NewLinked,
}

choice! {
    /// How an admin changed a day of their agency's calendar.
    pub enum DayChange in "kind" {
        /// A day off the Government decreed (a "feriado puente").
        DecreedRest => ("Descanso decretado", "Decreed day off"),
        /// A holiday where the agency is: a canton's or province's own.
        LocalHoliday => ("Feriado local", "Local holiday"),
        /// A day that would rest (a Saturday) and is worked, to make up a decreed one.
        MakeUpDay => ("Día de recuperación", "Make-up day"),
    }
}

/// A day an admin changed in their agency's calendar, and why: terms are counted on the
/// national calendar with these changes (`rules::calendar::CalendarChanges`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub agency: AgencyCode,
    pub day: chrono::NaiveDate,
    pub kind: DayChange,
    /// What it is, as the decree or the ordinance says: "Fundación de Quito".
    pub name: String,
    pub by: AgentId,
    pub at: Timestamp,
}

/// What `agency`'s changed days make of the national calendar.
pub fn calendar_changes(days: &[CalendarDay], agency: &AgencyCode) -> CalendarChanges {
    let mut changes = CalendarChanges::default();
    for day in days.iter().filter(|day| &day.agency == agency) {
        match day.kind {
            DayChange::DecreedRest | DayChange::LocalHoliday => changes.days_off.insert(day.day),
            DayChange::MakeUpDay => changes.working_days.insert(day.day),
        };
    }
    changes
}
