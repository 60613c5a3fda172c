//! An agency's figures as counters kept per day and queue, so that a year's dashboard reads a
//! few hundred items whatever the number of tickets. What a ticket adds to them is a function
//! of the ticket alone ([`contribution`]); a write of a ticket adds the difference between
//! what it adds after and before ([`delta`]) in the same transaction, so the counters are
//! always the sum over the tickets, and a rebuild from the tickets finds the same numbers.
//!
//! A ticket counts where it is now: a transfer moves all it counts to the agency and queue it
//! went to. Its receipt counts on the day it was received, its first answer and its finishing
//! on their own days (in Ecuador), and while it is unfinished it counts in the backlog of the
//! month it was received in (what "open tickets by age" reads). Nothing personal is counted:
//! an erasure changes no figure.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::rules::deadline::day_in_ecuador;
use crate::{AgencyCode, QueueName, Ticket};

/// Days of a response or a resolution are counted one by one up to this; more are counted
/// together as `MAX_DAYS + 1` ("more than 60").
pub const MAX_DAYS: u32 = 60;

/// What a counter counts over: what happened on a day, or the tickets received in a month
/// that are still unfinished (the month's first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Day(NaiveDate),
    OpenSince(NaiveDate),
}

impl Bucket {
    /// The backlog bucket of the month of `day`.
    pub fn open_since(day: NaiveDate) -> Bucket {
        Bucket::OpenSince(day.with_day(1).unwrap_or(day))
    }

    /// How stores key it: `D2025-03-07`, `O2025-03-01`; a day's sort by date.
    pub fn code(self) -> String {
        match self {
            Bucket::Day(day) => format!("D{day}"),
            Bucket::OpenSince(month) => format!("O{month}"),
        }
    }

    pub fn parse(code: &str) -> Option<Bucket> {
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        match code.split_at_checked(1)? {
            ("D", text) => day(text).map(Bucket::Day),
            ("O", text) => day(text).map(Bucket::OpenSince),
            _ => None,
        }
    }
}

/// Where a counter is kept: an agency's queue's bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatsKey {
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub bucket: Bucket,
}

/// Counter names and their values.
pub type Counts = BTreeMap<String, i64>;

/// The counters' names: one function per kind, so that writing and reading agree.
pub mod counter {
    use super::MAX_DAYS;
    use crate::{AgentId, Category, Channel, Status, model::field::Choice};

    /// Received that day.
    pub const OPENED: &str = "opened";
    /// Of those received that day, reopened at least once.
    pub const REOPENED: &str = "reopened";
    /// The citizens' follow-ups of those received that day, and how many came by mail.
    pub const FOLLOW_UPS: &str = "follow_ups";
    pub const MAIL_FOLLOW_UPS: &str = "mail_follow_ups";
    /// First answers given that day, and how many within the due date.
    pub const RESPONDED: &str = "responded";
    pub const RESPONDED_ON_TIME: &str = "responded_on_time";
    /// Finished that day: within their due date, past it (the rest had none).
    pub const FINISHED: &str = "finished";
    pub const FINISHED_ON_TIME: &str = "finished_on_time";
    pub const FINISHED_LATE: &str = "finished_late";
    /// Received in the month and still unfinished.
    pub const OPEN: &str = "open";

    pub fn category(category: Category) -> String {
        format!("category.{}", category.wire())
    }
    pub fn channel(channel: Channel) -> String {
        format!("channel.{}", channel.wire())
    }
    /// The status now of those received that day.
    pub fn status(status: Status) -> String {
        format!("status.{}", status.wire())
    }
    /// First answers that took `days` business days.
    pub fn response_days(days: u32) -> String {
        format!("response_days.{}", days.min(MAX_DAYS + 1))
    }
    /// Finishings that took `days` business days.
    pub fn resolution_days(days: u32) -> String {
        format!("resolution_days.{}", days.min(MAX_DAYS + 1))
    }
    /// Finished that day by this agent (`Reached::by`; `-`: nobody known).
    pub fn finished_by(agent: Option<&AgentId>) -> String {
        format!("finished_by.{}", agent.map_or("-", |a| a.as_str()))
    }
    /// Ratings given that day with this score (1 to 5).
    pub fn rating(score: u8) -> String {
        format!("rating.{score}")
    }
    /// Unfinished, with this agent assigned (`-`: nobody).
    pub fn open_with(agent: Option<&AgentId>) -> String {
        format!("open_with.{}", agent.map_or("-", |a| a.as_str()))
    }
}

/// Counters by where they are kept (what to add, or what is kept); never a zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<StatsKey, Counts>);

impl Tally {
    pub fn add(&mut self, key: &StatsKey, counter: &str, by: i64) {
        if by == 0 {
            return;
        }
        let counts = self.0.entry(key.clone()).or_default();
        let value = counts.entry(counter.to_owned()).or_default();
        *value += by;
        if *value == 0 {
            counts.remove(counter);
            if counts.is_empty() {
                self.0.remove(key);
            }
        }
    }

    /// Adds all of `other`, times `sign`.
    pub fn merge(&mut self, other: &Tally, sign: i64) {
        for (key, counts) in &other.0 {
            for (counter, value) in counts {
                self.add(key, counter, value * sign);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each bucket's counters.
    pub fn items(&self) -> impl Iterator<Item = (&StatsKey, &Counts)> {
        self.0.iter()
    }
}

/// What `ticket` adds to its agency's counters.
pub fn contribution(ticket: &Ticket) -> Tally {
    let mut delta = Tally::default();
    let at = |bucket| StatsKey {
        agency: ticket.agency.clone(),
        queue: ticket.queue.clone(),
        bucket,
    };
    let received = at(Bucket::Day(day_in_ecuador(ticket.created_at)));
    delta.add(&received, counter::OPENED, 1);
    delta.add(&received, &counter::category(ticket.category), 1);
    if let Some(channel) = ticket.channel {
        delta.add(&received, &counter::channel(channel), 1);
    }
    delta.add(&received, &counter::status(ticket.status), 1);
    let milestones = &ticket.milestones;
    if milestones.reopened > 0 {
        delta.add(&received, counter::REOPENED, 1);
    }
    delta.add(&received, counter::FOLLOW_UPS, milestones.follow_ups.into());
    delta.add(
        &received,
        counter::MAIL_FOLLOW_UPS,
        milestones.mail_follow_ups.into(),
    );
    if let Some(response) = &milestones.first_response {
        let day = at(Bucket::Day(day_in_ecuador(response.at)));
        delta.add(&day, counter::RESPONDED, 1);
        if response.on_time == Some(true) {
            delta.add(&day, counter::RESPONDED_ON_TIME, 1);
        }
        delta.add(&day, &counter::response_days(response.business_days), 1);
    }
    if let Some(rating) = &ticket.rating {
        let day = at(Bucket::Day(day_in_ecuador(rating.at)));
        delta.add(&day, &counter::rating(rating.score), 1);
    }
    if ticket.status.is_finished() {
        if let Some(finished) = &milestones.finished {
            let day = at(Bucket::Day(day_in_ecuador(finished.at)));
            delta.add(&day, counter::FINISHED, 1);
            match finished.on_time {
                Some(true) => delta.add(&day, counter::FINISHED_ON_TIME, 1),
                Some(false) => delta.add(&day, counter::FINISHED_LATE, 1),
                None => {}
            }
            delta.add(&day, &counter::resolution_days(finished.business_days), 1);
            delta.add(&day, &counter::finished_by(finished.by.as_ref()), 1);
        }
    } else {
        let backlog = at(Bucket::open_since(day_in_ecuador(ticket.created_at)));
        delta.add(&backlog, counter::OPEN, 1);
        delta.add(&backlog, &counter::open_with(ticket.assignee.as_ref()), 1);
    }
    delta
}

/// What a write of a ticket adds: what it adds as `after` less what it added as `before`
/// (nothing when it is new).
pub fn delta(before: Option<&Ticket>, after: &Ticket) -> Tally {
    let mut delta = contribution(after);
    if let Some(before) = before {
        delta.merge(&contribution(before), -1);
    }
    delta
}

/// The sum of the counters of many buckets, by counter.
pub fn sum<'a>(counts: impl IntoIterator<Item = &'a Counts>) -> Counts {
    let mut total = Counts::new();
    for counts in counts {
        for (counter, value) in counts {
            *total.entry(counter.clone()).or_default() += value;
        }
    }
    total
}

/// The counters named `prefix.<x>`, by `x`.
pub fn by_prefix<'a>(counts: &'a Counts, prefix: &str) -> impl Iterator<Item = (&'a str, i64)> {
    let head = format!("{prefix}.");
    counts
        .iter()
        .filter_map(move |(name, value)| Some((name.strip_prefix(&head)?, *value)))
}

/// The `share` (0 to 1) quantile of the days counted under `prefix` (`response_days`,
/// `resolution_days`): the least number of days within which that share was reached. `None`
/// when nothing was counted; `MAX_DAYS + 1` means more than [`MAX_DAYS`].
pub fn days_quantile(counts: &Counts, prefix: &str, share: f64) -> Option<u32> {
    let mut days: Vec<(u32, i64)> = by_prefix(counts, prefix)
        .filter_map(|(days, n)| Some((days.parse().ok()?, n)))
        .filter(|(_, n)| *n > 0)
        .collect();
    days.sort_unstable();
    let total: i64 = days.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // The first day whose running count reaches the share of the total.
    #[allow(clippy::cast_precision_loss)]
    let needed = ((total as f64) * share).ceil().max(1.0);
    let mut seen = 0;
    for (day, n) in days {
        seen += n;
        #[allow(clippy::cast_precision_loss)]
        if seen as f64 >= needed {
            return Some(day);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::milestones::Reached;
    use crate::{AgentId, AgentRef, Author, Body, Message, MessageId, MessageKind, Status};
    use crate::{TicketChange, Timestamp};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn day(text: &str) -> Bucket {
        Bucket::Day(NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap())
    }

    fn reply(when: &str) -> Message {
        Message {
            id: MessageId(uuid::Uuid::now_v7()),
            at: at(when),
            kind: MessageKind::PublicReply,
            author: Author::Agent(AgentRef {
                id: AgentId::parse("ana").unwrap(),
                name: "Ana".into(),
            }),
            body: Body::parse("Respuesta").unwrap(),
            attachments: Vec::new(),
            mail: None,
        }
    }

    fn counts_at(delta: &Tally, bucket: Bucket) -> Counts {
        sum(delta
            .items()
            .filter(|(key, _)| key.bucket == bucket)
            .map(|(_, counts)| counts))
    }

    /// A new ticket received Friday 7 March 2025 at 22:00 in Ecuador (Saturday in UTC), due
    /// on the 20th.
    fn received() -> Ticket {
        Ticket {
            status: Status::New,
            created_at: at("2025-03-08T03:00:00Z"),
            last_activity: at("2025-03-08T03:00:00Z"),
            due_on: NaiveDate::from_ymd_opt(2025, 3, 20),
            ..Ticket::example()
        }
    }

    #[test]
    fn a_life_adds_up_to_what_the_ticket_counts_at_its_end() {
        let mut ticket = received();
        let mut total = delta(None, &ticket);
        fn step(
            change: TicketChange,
            message: Option<Message>,
            ticket: &mut Ticket,
            total: &mut Tally,
        ) {
            let next = change.apply(ticket, message.as_ref());
            total.merge(&delta(Some(ticket), &next), 1);
            *ticket = next;
        }
        // Answered Tuesday 11 March (business days 10 and 11; the 3rd and 4th were Carnival).
        step(
            TicketChange::to_status(&ticket, Some(Status::Open), at("2025-03-11T15:00:00Z"), 30),
            Some(reply("2025-03-11T15:00:00Z")),
            &mut ticket,
            &mut total,
        );
        let closing = at("2025-03-25T15:00:00Z");
        step(
            TicketChange::to_status(&ticket, Some(Status::Resolved), closing, 30),
            None,
            &mut ticket,
            &mut total,
        );
        assert_eq!(
            ticket.milestones.first_response,
            Some(Reached {
                at: at("2025-03-11T15:00:00Z"),
                business_days: 2,
                on_time: Some(true),
                by: Some(AgentId::parse("ana").unwrap()),
            })
        );
        assert_eq!(
            ticket.milestones.finished.as_ref().unwrap().on_time,
            Some(false)
        );
        assert_eq!(total, contribution(&ticket));
        let friday = counts_at(&total, day("2025-03-07"));
        assert_eq!(friday.get(counter::OPENED), Some(&1));
        assert_eq!(friday.get("status.resolved"), Some(&1));
        assert_eq!(friday.get("status.new"), None, "the status moved");
        let answered = counts_at(&total, day("2025-03-11"));
        assert_eq!(answered.get("response_days.2"), Some(&1));
        let finished = counts_at(&total, day("2025-03-25"));
        assert_eq!(finished.get(counter::FINISHED_LATE), Some(&1));
        assert!(
            counts_at(
                &total,
                Bucket::open_since(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap())
            )
            .is_empty()
        );

        // Rated on the 26th, once: a second rating changes nothing.
        for score in ["4", "1"] {
            let rating =
                crate::model::rating::Rating::parse(score, None, at("2025-03-26T15:00:00Z"))
                    .unwrap();
            step(
                TicketChange {
                    rating: Some(rating),
                    ..TicketChange::default()
                },
                None,
                &mut ticket,
                &mut total,
            );
        }
        assert_eq!(total, contribution(&ticket));
        let rated = counts_at(&total, day("2025-03-26"));
        assert_eq!(rated.get("rating.4"), Some(&1));
        assert_eq!(rated.get("rating.1"), None);

        // Reopened: its finishing is undone, it is back in March's backlog.
        step(
            TicketChange::to_status(&ticket, Some(Status::Open), at("2025-04-02T15:00:00Z"), 30),
            None,
            &mut ticket,
            &mut total,
        );
        assert_eq!(total, contribution(&ticket));
        assert!(counts_at(&total, day("2025-03-25")).is_empty());
        let march = counts_at(
            &total,
            Bucket::open_since(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
        );
        assert_eq!(march.get(counter::OPEN), Some(&1));
        assert_eq!(
            counts_at(&total, day("2025-03-07")).get(counter::REOPENED),
            Some(&1)
        );

        // Transferred: everything moves to the other agency.
        let other = AgencyCode::parse("INEC").unwrap();
        step(
            TicketChange {
                queue: Some((other.clone(), QueueName::parse("consultas").unwrap())),
                ..TicketChange::default()
            },
            None,
            &mut ticket,
            &mut total,
        );
        assert_eq!(total, contribution(&ticket));
        assert!(total.items().all(|(key, _)| key.agency == other));
    }

    #[test]
    fn an_erasure_changes_no_figure() {
        let mut ticket = received();
        ticket.rating = Some(
            crate::model::rating::Rating::parse(
                "2",
                Some("Rosa Quishpe esperó"),
                at("2025-03-26T15:00:00Z"),
            )
            .unwrap(),
        );
        let erasure = crate::rules::privacy::erasure(&ticket, &[], at("2026-01-01T00:00:00Z"));
        assert_eq!(contribution(&erasure.ticket), contribution(&ticket));
    }

    #[test]
    fn quantiles_of_days() {
        let mut counts = Counts::new();
        for (days, n) in [(0, 5), (2, 3), (61, 2)] {
            counts.insert(counter::resolution_days(days), n);
        }
        assert_eq!(days_quantile(&counts, "resolution_days", 0.5), Some(0));
        assert_eq!(days_quantile(&counts, "resolution_days", 0.6), Some(2));
        assert_eq!(days_quantile(&counts, "resolution_days", 0.9), Some(61));
        assert_eq!(days_quantile(&Counts::new(), "resolution_days", 0.5), None);
    }
}
