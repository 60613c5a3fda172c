//! Tickets and the messages of their thread.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::BlobKey;
use crate::model::information_answer::InformationAnswer;
use crate::model::mail::MailMessageId;
use crate::model::mail_queue::MailIntent;
use crate::model::milestones::{Milestones, Reached};
use crate::model::rating::Rating;
use crate::model::term::{Extension, Suspension, Term, TermClock, Warning, WarningPoint};
use crate::{
    AgencyCode, AgentId, Body, Category, Channel, Email, Gender, IdDocument, Nationality,
    PersonName, Phone, Priority, QueueName, Status, Subject, TicketNumber, Timestamp, UserType,
};

/// The person a ticket is for. A ticket opened by mail knows only the name and address;
/// one opened by the form knows what the form asks; one an agent opened for a caller may
/// have no address (the citizen follows it with its number and their ID document).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub name: PersonName,
    pub email: Option<Email>,
    pub id_document: Option<IdDocument>,
    pub phone: Option<Phone>,
    pub nationality: Option<Nationality>,
    pub gender: Option<Gender>,
    pub user_type: Option<UserType>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub number: TicketNumber,
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub category: Category,
    pub status: Status,
    pub priority: Priority,
    pub assignee: Option<AgentId>,
    pub requester: Requester,
    pub subject: Subject,
    pub created_at: Timestamp,
    /// When the conversation last moved: surfaces a follow-up in its queue by its own date.
    pub last_activity: Timestamp,
    /// Raised by every update; an update names the version it saw (optimistic concurrency).
    pub version: u64,
    /// The finished ticket this one follows up, when a follow-up opened a new ticket.
    pub linked_to: Option<TicketNumber>,
    /// How the request reached the agency; `None` on tickets opened before it was kept.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Agencies that transferred the ticket away and kept a referral: they may read it and
    /// add notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referrals: Vec<AgencyCode>,
    /// Agencies that held it before (transferred away), oldest first: what an erasure
    /// reaches besides those that find it now (`rules::search::erasure_keys`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_before: Vec<AgencyCode>,
    /// Tickets an agent said are related to this one (each lists the other), at most
    /// [`MAX_RELATED`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<TicketNumber>,
    /// The ticket this one was merged into, a duplicate of the same requester's: its
    /// conversation goes on there (mail to it, its number on the status page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<TicketNumber>,
    /// The tickets merged into this one, at most [`MAX_MERGED`]: their threads are shown
    /// with its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<TicketNumber>,
    /// Public replies stored but not yet accepted by the mail provider: sent again until
    /// they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undelivered: Vec<MessageId>,
    /// When the requester's personal data was erased (`privacy`): on request or by the
    /// retention rule.
    pub erased_at: Option<Timestamp>,
    /// The last day of the term the agency has to answer (`rules::deadline`), in Ecuador;
    /// `None` on tickets opened before due dates existed.
    #[serde(default)]
    pub due_on: Option<chrono::NaiveDate>,
    /// While the agency waits on the citizen, the term's clock is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<Suspension>,
    /// The term it was given when opened (its days, how they count, the rule, the extension
    /// allowed); `None` on tickets opened before terms were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    /// The one extension of its term, once granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended: Option<Extension>,
    /// The last warning about its term its agents were sent (`rules::deadline::warnings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned: Option<WarningPoint>,
    /// What its agency's figures count (`rules::stats`), set by [`TicketChange::apply`].
    #[serde(default, skip_serializing_if = "Milestones::is_empty")]
    pub milestones: Milestones,
    /// A request for public information: how the agency answered it (the LOTAIP report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information_answer: Option<InformationAnswer>,
    /// How the citizen rated the attention, once (`model::rating`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

impl Ticket {
    #[cfg(test)]
    /// A closed complaint of 1 March 2025, for tests.
    pub(crate) fn example() -> Ticket {
        use crate::Choice;
        let at = Timestamp::parse("2025-03-01T10:00:00Z").unwrap();
        Ticket {
            number: TicketNumber::parse("MDT-QUE-2025-00007").unwrap(),
            agency: AgencyCode::parse("MDT").unwrap(),
            queue: QueueName::parse("atencion-ciudadana").unwrap(),
            category: Category::parse("queja").unwrap(),
            status: Status::Closed,
            priority: Priority::High,
            assignee: None,
            requester: Requester {
                name: PersonName::parse("Rosa Quishpe").unwrap(),
                email: Some(Email::parse("rosa@example.com").unwrap()),
                id_document: None,
                phone: None,
                nationality: None,
                gender: None,
                user_type: None,
            },
            subject: Subject::parse("El funcionario Pérez no me atendió").unwrap(),
            created_at: at,
            last_activity: at,
            version: 4,
            linked_to: None,
            channel: Some(Channel::Formulario),
            referrals: Vec::new(),
            held_before: Vec::new(),
            related: Vec::new(),
            merged_into: None,
            merged: Vec::new(),
            undelivered: Vec::new(),
            erased_at: None,
            due_on: None,
            suspended: None,
            term: None,
            extended: None,
            warned: None,
            milestones: Milestones::default(),
            information_answer: None,
            rating: None,
        }
    }

    /// The date its queue sorts and warns by: the due date, or while the clock is stopped
    /// the one it will have if the citizen does not answer; `None` once it is finished (or
    /// when it has no due date).
    pub fn due_key(&self) -> Option<chrono::NaiveDate> {
        if self.status.is_finished() {
            return None;
        }
        self.due_date()
    }

    /// The due date people are shown: while the clock is stopped, the one it will have if
    /// the citizen does not answer (and will have once it runs again by itself).
    pub fn due_date(&self) -> Option<chrono::NaiveDate> {
        self.suspended.map(|s| s.latest_due).or(self.due_on)
    }

    /// The next warning its agents are owed, and its day: what the sweeper's index is keyed
    /// by.
    pub fn next_warning(&self) -> Option<Warning> {
        crate::rules::deadline::next_warning(self)
    }

    /// Its agency's changes to the national calendar its term counts on.
    pub fn calendar(&self) -> &crate::rules::calendar::CalendarChanges {
        self.term
            .as_ref()
            .map_or(&crate::rules::calendar::NO_CHANGES, |term| &term.calendar)
    }

    /// The suspension still stopping the clock on `today` (Ecuador's day).
    pub fn clock_stopped(&self, today: chrono::NaiveDate) -> Option<Suspension> {
        self.suspended.filter(|s| today < s.resumes_on)
    }
}

/// Our identifier of a message in a thread (time-ordered), not a mail Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// Stands for "the first message" in a mail intent made before the ticket's first
    /// message has its id (`open` sets it).
    pub const UNSET: MessageId = MessageId(Uuid::nil());
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Written by the requester, through the form or by mail.
    CitizenMessage,
    /// An agent's answer: shown to the citizen and mailed to them.
    PublicReply,
    /// Between agents only: never on the status page, never in a mail.
    InternalNote,
    /// Recorded by the system: status changes, transfers, held mail.
    SystemEvent,
}

impl MessageKind {
    /// Whether the citizen sees it on the status page and by mail.
    pub fn is_public(self) -> bool {
        matches!(self, MessageKind::CitizenMessage | MessageKind::PublicReply)
    }

    /// Whether it moves the ticket's last activity: the conversation does, bookkeeping not.
    pub fn moves_activity(self) -> bool {
        self.is_public()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: AgentId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Author {
    Requester,
    Agent(AgentRef),
    System,
}

/// A file stored with a message: screenshots of the form, attachments of a mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub blob: BlobKey,
}

impl AttachmentRef {
    /// At most this many characters of a file's name are kept (its extension whole).
    pub const MAX_NAME: usize = 200;
    /// A content type longer than this (RFC 6838 allows 127 per part) is no content type.
    pub const MAX_CONTENT_TYPE: usize = 100;

    /// A file as stored: its name and content type bounded, whatever a mail or a form said,
    /// so that twenty files never push a message past DynamoDB's 400 KB item. A name loses
    /// its middle, not its extension; a content type that is not `type/subtype` in plain
    /// token characters becomes `application/octet-stream`.
    pub fn new(name: &str, content_type: &str, size: u64, blob: BlobKey) -> Self {
        AttachmentRef {
            name: bounded_name(name),
            content_type: bounded_content_type(content_type),
            size,
            blob,
        }
    }
}

/// A file's name as stored (see [`AttachmentRef::new`]).
pub fn bounded_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() {
        return "adjunto".to_owned();
    }
    if name.chars().count() <= AttachmentRef::MAX_NAME {
        return name;
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 10);
    let room = AttachmentRef::MAX_NAME - extension.map_or(0, |e| e.chars().count() + 1) - 1;
    let stem: String = name.chars().take(room).collect();
    match extension {
        Some(ext) => format!("{stem}….{ext}"),
        None => format!("{stem}…"),
    }
}

fn bounded_content_type(raw: &str) -> String {
    let text = raw.trim().to_ascii_lowercase();
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match text.split_once('/') {
        Some((kind, sub))
            if text.len() <= AttachmentRef::MAX_CONTENT_TYPE && token(kind) && token(sub) =>
        {
            text
        }
        _ => "application/octet-stream".to_owned(),
    }
}

/// How a message travelled by mail, for threading.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMeta {
    /// Message-IDs that name this message: the one its sender set, and for our own mail
    /// the one SES gave it. Each is indexed so that replies find the ticket.
    #[serde(default)]
    pub message_ids: Vec<MailMessageId>,
    /// The raw message as received, kept for agents and audits.
    pub raw: Option<BlobKey>,
    /// SES's checks did not authenticate the sender's domain: agents see "remitente no
    /// verificado", and such a mail never joined a ticket by who it claims to be from.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sender_unverified: bool,
    /// The history a citizen's mail quoted below (or between) what they wrote now: agents
    /// read it collapsed under the message. At most [`MailMeta::QUOTED_MAX_BYTES`]; the
    /// raw mail keeps all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
}

impl MailMeta {
    /// A stored message's item must stay under DynamoDB's 400 KB with a 50,000-character
    /// body (up to 200 KB) beside it.
    pub const QUOTED_MAX_BYTES: usize = 64 * 1024;

    /// The quoted history to keep with a message: none if empty, cut at a character
    /// boundary past the limit.
    pub fn quoted_history(history: &str) -> Option<String> {
        let history = history.trim();
        if history.is_empty() {
            return None;
        }
        let mut end = history.len().min(Self::QUOTED_MAX_BYTES);
        while !history.is_char_boundary(end) {
            end -= 1;
        }
        Some(history[..end].to_owned())
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub at: Timestamp,
    pub kind: MessageKind,
    pub author: Author,
    pub body: Body,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    pub mail: Option<MailMeta>,
}

impl Message {
    /// A line the system writes in the thread (a change, a recount, an extension), in
    /// `author`'s name: no files, no mail.
    pub fn system_event(id: MessageId, at: Timestamp, author: Author, body: Body) -> Message {
        Message {
            id,
            at,
            kind: MessageKind::SystemEvent,
            author,
            body,
            attachments: Vec::new(),
            mail: None,
        }
    }

    /// The Message-IDs the store must index with this message.
    pub fn mail_ids(&self) -> &[MailMessageId] {
        self.mail.as_ref().map_or(&[], |m| &m.message_ids)
    }
}

/// A claim that makes a repeated submission return the first ticket instead of a second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyClaim {
    pub key: IdempotencyKey,
    /// After this the key may be used again (TTL on DynamoDB; checked by the stores too).
    pub expires_at: Timestamp,
}

/// A client-chosen key (`Idempotency-Key` header, the form's hidden token).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, crate::FieldError> {
        let text = raw.trim();
        let ok = (8..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(IdempotencyKey(text.to_owned()))
        } else {
            Err(crate::FieldError::new(
                "idempotency_key",
                crate::FieldProblem::InvalidFormat,
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the store needs to open a ticket; it allocates the number itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub category: Category,
    pub requester: Requester,
    pub subject: Subject,
    pub opened_at: Timestamp,
    pub first_message: Message,
    pub idempotency: Option<IdempotencyClaim>,
    pub linked_to: Option<TicketNumber>,
    pub channel: Channel,
    /// The mails owed, queued with the ticket: the acknowledgement, the agents' alert.
    pub mails: Vec<MailIntent>,
    pub due_on: Option<chrono::NaiveDate>,
    pub term: Option<Term>,
}

impl TicketDraft {
    /// The ticket the store writes once it knows the number.
    pub fn into_ticket(self, number: TicketNumber) -> (Ticket, Message) {
        let ticket = Ticket {
            number,
            agency: self.agency,
            queue: self.queue,
            category: self.category,
            status: Status::New,
            priority: Priority::default(),
            assignee: None,
            requester: self.requester,
            subject: self.subject,
            created_at: self.opened_at,
            last_activity: self.opened_at,
            version: 1,
            linked_to: self.linked_to,
            channel: Some(self.channel),
            referrals: Vec::new(),
            held_before: Vec::new(),
            related: Vec::new(),
            merged_into: None,
            merged: Vec::new(),
            undelivered: Vec::new(),
            erased_at: None,
            due_on: self.due_on,
            suspended: None,
            term: self.term,
            extended: None,
            warned: None,
            milestones: Milestones::default(),
            information_answer: None,
            rating: None,
        };
        (ticket, self.first_message)
    }
}

/// Fields an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<AgentId>>,
    /// A transfer: to another agency's queue.
    pub queue: Option<(AgencyCode, QueueName)>,
    /// An agency that keeps read-and-note access after a transfer.
    pub referral: Option<AgencyCode>,
    /// A ticket related to this one, listed on it.
    pub related: Option<TicketNumber>,
    /// Merged into that ticket (`Ticket::merged_into`), once and for good.
    pub merged_into: Option<TicketNumber>,
    /// That ticket merged into this one, listed on it.
    pub merged: Option<TicketNumber>,
    /// A public reply waiting for the mail provider.
    pub undelivered: Option<MessageId>,
    /// A public reply the mail provider accepted.
    pub delivered: Option<MessageId>,
    /// The term's clock after a change of status (`rules::deadline::clock_on`) or an
    /// extension.
    pub term: Option<TermClock>,
    /// The term's extension, granted with this change (`rules::deadline::extend`).
    pub extended: Option<Extension>,
    /// A warning about the term sent with this change.
    pub warned: Option<WarningPoint>,
    /// The term it keeps from now on: recounted on its agency's changed calendar
    /// (`rules::deadline::recount`), or given to a ticket opened before terms were kept.
    pub kept_term: Option<Term>,
    /// When a change of status happened (set by [`TicketChange::to_status`]): the moment
    /// its milestones record when no message dates it.
    pub at: Option<Timestamp>,
    /// How a request for public information was answered.
    pub information_answer: Option<InformationAnswer>,
    /// The citizen's rating: kept only on a ticket not rated yet.
    pub rating: Option<Rating>,
}

impl TicketChange {
    /// The ticket keeps `term` from now on, with its clock at `clock`: recounted on a changed
    /// calendar, or given to a ticket opened before terms were kept.
    pub fn keep_term(term: Term, clock: TermClock) -> TicketChange {
        TicketChange {
            term: Some(clock),
            kept_term: Some(term),
            ..TicketChange::default()
        }
    }

    /// A change of `current`'s status to `to` (none: no change) at `at`, with what it does
    /// to the term's clock: every status change goes through here, so none forgets it.
    pub fn to_status(
        current: &Ticket,
        to: Option<Status>,
        at: Timestamp,
        suspension_max_days: u32,
    ) -> TicketChange {
        TicketChange {
            status: to,
            term: to.and_then(|to| {
                crate::rules::deadline::clock_on(current, to, at, suspension_max_days)
            }),
            at: Some(at),
            ..TicketChange::default()
        }
    }

    /// The ticket after the change and, when given, a new message; raises the version.
    pub fn apply(&self, ticket: &Ticket, message: Option<&Message>) -> Ticket {
        let mut next = ticket.clone();
        if let Some(status) = self.status {
            next.status = status;
        }
        if let Some(priority) = self.priority {
            next.priority = priority;
        }
        if let Some(answer) = &self.information_answer {
            next.information_answer = Some(answer.clone());
        }
        if let Some(rating) = &self.rating
            && next.rating.is_none()
        {
            next.rating = Some(rating.clone());
        }
        if let Some(assignee) = &self.assignee {
            next.assignee = assignee.clone();
        }
        if let Some((agency, queue)) = &self.queue {
            if agency != &next.agency && !next.held_before.contains(&next.agency) {
                next.held_before.push(next.agency.clone());
            }
            next.agency = agency.clone();
            next.queue = queue.clone();
            // The agency it went to has full access; a referral for it is moot.
            next.referrals.retain(|a| a != agency);
        }
        if let Some(agency) = &self.referral
            && !next.referrals.contains(agency)
            && agency != &next.agency
        {
            next.referrals.push(agency.clone());
        }
        if let Some(number) = &self.related
            && !next.related.contains(number)
            && number != &next.number
            && next.related.len() < MAX_RELATED
        {
            next.related.push(number.clone());
        }
        if let Some(number) = &self.merged_into
            && next.merged_into.is_none()
            && number != &next.number
        {
            next.merged_into = Some(number.clone());
        }
        if let Some(number) = &self.merged
            && !next.merged.contains(number)
            && number != &next.number
            && next.merged.len() < MAX_MERGED
        {
            next.merged.push(number.clone());
        }
        if let Some(id) = self.undelivered
            && !next.undelivered.contains(&id)
        {
            next.undelivered.push(id);
        }
        if let Some(id) = self.delivered {
            next.undelivered.retain(|pending| *pending != id);
        }
        if let Some(clock) = self.term {
            next.due_on = Some(clock.due_on);
            next.suspended = clock.suspended;
        }
        if let Some(extension) = &self.extended {
            next.extended = Some(extension.clone());
            // A new due date: its warnings are owed afresh.
            next.warned = None;
        }
        if let Some(point) = self.warned {
            next.warned = Some(point);
        }
        if let Some(term) = &self.kept_term {
            next.term = Some(term.clone());
            // A due date moved by a change of the calendar: its warnings are owed afresh.
            if next.due_date() != ticket.due_date() {
                next.warned = None;
            }
        }
        if let Some(message) = message
            && message.kind.moves_activity()
            && message.at > next.last_activity
        {
            next.last_activity = message.at;
        }
        next.milestones = self.milestones(ticket, &next, message);
        next.version = ticket.version + 1;
        next
    }

    /// `before`'s milestones once it became `after` with `message`: an agent's first public
    /// answer, a finishing (its days and whether on time, against the due date it had), a
    /// reopening, a citizen's follow-up.
    fn milestones(&self, before: &Ticket, after: &Ticket, message: Option<&Message>) -> Milestones {
        let mut milestones = before.milestones.clone();
        let at = self
            .at
            .or(message.map(|m| m.at))
            .unwrap_or(after.last_activity);
        let author = message.and_then(|m| match &m.author {
            Author::Agent(agent) => Some(agent.id.clone()),
            _ => None,
        });
        let by = after.assignee.clone().or(author);
        let reached = |at: Timestamp| {
            let day = crate::rules::deadline::day_in_ecuador(at);
            Reached {
                by: by.clone(),
                at,
                business_days: crate::rules::deadline::business_days_between(
                    crate::rules::deadline::day_in_ecuador(before.created_at),
                    day,
                    before.calendar(),
                ),
                on_time: before.due_date().map(|due| day <= due),
            }
        };
        if let Some(message) = message {
            match (message.kind, &message.author) {
                (MessageKind::PublicReply, Author::Agent(_))
                    if milestones.first_response.is_none() =>
                {
                    milestones.first_response = Some(reached(message.at));
                }
                (MessageKind::CitizenMessage, _) => {
                    milestones.follow_ups += 1;
                    if message.mail.as_ref().is_some_and(|mail| mail.raw.is_some()) {
                        milestones.mail_follow_ups += 1;
                    }
                }
                _ => {}
            }
        }
        match (before.status.is_finished(), after.status.is_finished()) {
            (false, true) => milestones.finished = Some(reached(at)),
            (true, false) => {
                milestones.finished = None;
                milestones.reopened += 1;
            }
            _ => {}
        }
        milestones
    }
}

/// At most this many related tickets per ticket.
pub const MAX_RELATED: usize = 20;

/// At most this many tickets merged into one: showing it reads each one's thread.
pub const MAX_MERGED: usize = 10;

/// One update of a ticket: a change, a new message, or both, conditional on the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketUpdate {
    pub number: TicketNumber,
    pub expected_version: u64,
    pub change: TicketChange,
    pub message: Option<Message>,
    /// The mails the update owes (an agent's reply, the agents' alert), queued with it.
    pub mails: Vec<MailIntent>,
}

#[cfg(test)]
mod attachment_tests {
    use super::*;

    #[test]
    fn names_and_content_types_are_bounded() {
        let blob = BlobKey::parse("attachments/x/0").unwrap();
        let long = format!("{}.pdf", "a".repeat(25_000));
        let file = AttachmentRef::new(&long, "application/pdf", 1, blob.clone());
        assert_eq!(file.name.chars().count(), AttachmentRef::MAX_NAME);
        assert!(file.name.ends_with("….pdf"), "{}", file.name);
        let odd = AttachmentRef::new(" \u{0}", &"x/".repeat(20_000), 1, blob.clone());
        assert_eq!(odd.name, "adjunto");
        assert_eq!(odd.content_type, "application/octet-stream");
        let fine = AttachmentRef::new("cédula.png", "Image/PNG", 1, blob);
        assert_eq!(
            (fine.name.as_str(), fine.content_type.as_str()),
            ("cédula.png", "image/png")
        );
    }
}

#[cfg(test)]
mod recount_tests {
    use super::*;
    use crate::model::term::DayKind;

    #[test]
    fn a_due_date_moved_by_the_calendar_owes_its_warnings_afresh() {
        let day = |text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        let term = Term {
            days: 30,
            kind: DayKind::Business,
            basis: "COA, art. 207".into(),
            extension: None,
            warnings: Default::default(),
            calendar: Default::default(),
        };
        let warned = Ticket {
            status: Status::Open,
            due_on: Some(day("2027-04-13")),
            term: Some(term.clone()),
            warned: Some(WarningPoint::Expired),
            ..Ticket::example()
        };
        let recount = |due| TicketChange {
            term: Some(TermClock {
                due_on: day(due),
                suspended: None,
            }),
            kept_term: Some(term.clone()),
            ..TicketChange::default()
        };
        assert_eq!(recount("2027-04-14").apply(&warned, None).warned, None);
        assert_eq!(
            recount("2027-04-13").apply(&warned, None).warned,
            Some(WarningPoint::Expired)
        );
    }
}
