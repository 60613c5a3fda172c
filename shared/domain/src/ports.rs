//! The ports: what the domain needs from the outside world, in the domain's words. Adapters
//! implement them for AWS (DynamoDB, S3, SES v2) and for the embedded default (SQLite, a
//! folder, an outbox folder). No SDK type crosses them.

use std::future::Future;
use std::time::Duration;

use crate::BlobKey;
use crate::model::agencies::{Agency, CalendarDay};
use crate::model::agents::{Agent, AuditEntry, TokenHash, Viewer};
use crate::model::canned_responses::{CannedId, CannedResponse};
use crate::model::erasure::Erasure;
use crate::model::mail::{MailMessageId, OutgoingMail};
use crate::model::mail_queue::QueuedMail;
use crate::model::ticket::{MessageId, TicketDraft, TicketUpdate};
use crate::rules::stats::Tally;
use crate::{
    AgencyCode, AgentId, Email, FieldError, FieldProblem, Message, QueueName, Status, Ticket,
    TicketNumber, Timestamp,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    #[error("the ticket changed since it was read")]
    VersionConflict,
    // The cause is part of the message: a log line of this error names what AWS said
    // (e.g. which action an AccessDenied refused), which no answer to a client shows.
    #[error("the ticket store is unavailable: {0}")]
    Unavailable(BoxError),
}

impl StoreError {
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(error.into())
    }
}

/// What opening a ticket did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a return value, moved once; boxing it would only add an allocation"
)]
pub enum Opened {
    /// A new ticket with a new number, and its first message (what an acknowledgement quotes).
    Created(Ticket, Message),
    /// The idempotency key was used before: the first ticket, unchanged.
    Replayed(Ticket),
}

impl Opened {
    pub fn ticket(&self) -> &Ticket {
        match self {
            Opened::Created(t, _) | Opened::Replayed(t) => t,
        }
    }

    pub fn into_ticket(self) -> Ticket {
        match self {
            Opened::Created(t, _) | Opened::Replayed(t) => t,
        }
    }
}

/// Where a queue listing resumes: after the ticket with this activity and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub last_activity: Timestamp,
    pub number: TicketNumber,
}

impl Cursor {
    pub fn after(ticket: &Ticket) -> Self {
        Cursor {
            last_activity: ticket.last_activity,
            number: ticket.number.clone(),
        }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.last_activity, self.number)
    }

    pub fn decode(text: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("cursor", FieldProblem::InvalidFormat);
        let (at, number) = text.split_once('_').ok_or_else(bad)?;
        Ok(Cursor {
            last_activity: Timestamp::parse(at).ok_or_else(bad)?,
            number: TicketNumber::parse(number).map_err(|_| bad())?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueQuery {
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub status: Option<Status>,
    pub limit: usize,
    pub after: Option<Cursor>,
    /// Least recent activity first (the oldest waiting first), instead of the newest.
    pub oldest_first: bool,
}

/// Where a listing by due date resumes: after the ticket with this due date and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    pub due: chrono::NaiveDate,
    pub number: TicketNumber,
}

impl DueCursor {
    /// After `ticket`, one of a listing by due date (so it has a due key).
    pub fn after(ticket: &Ticket) -> Self {
        DueCursor {
            due: ticket
                .due_key()
                .or(ticket.due_on)
                .unwrap_or(chrono::NaiveDate::MIN),
            number: ticket.number.clone(),
        }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.due, self.number)
    }

    pub fn decode(text: &str) -> Result<Self, FieldError> {
        let (due, number) = text
            .split_once('_')
            .ok_or_else(|| FieldError::new("cursor", FieldProblem::InvalidFormat))?;
        Self::from_parts(due, number)
    }

    /// From a day (`YYYY-MM-DD`) and a number as the stores keep them.
    pub fn from_parts(due: &str, number: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("cursor", FieldProblem::InvalidFormat);
        Ok(DueCursor {
            due: chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d").map_err(|_| bad())?,
            number: TicketNumber::parse(number).map_err(|_| bad())?,
        })
    }
}

/// An agency's unfinished tickets by due date, the soonest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueQuery {
    pub agency: AgencyCode,
    /// Only those due on this day or after.
    pub from: Option<chrono::NaiveDate>,
    /// Only those due on this day or before.
    pub until: Option<chrono::NaiveDate>,
    pub after: Option<DueCursor>,
    pub limit: usize,
}

/// Where a thread's page ends: the position of a message (its time and id), opaque to
/// clients, who hand it back to read the messages before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadCursor(String);

impl ThreadCursor {
    /// The position of `message` in its thread (both stores sort by it).
    pub fn of(message: &Message) -> Self {
        ThreadCursor(format!("{}#{}", message.at, message.id))
    }

    /// A cursor a client handed back: the shape of one, nothing else.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok = (1..=100).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'+' | b'#' | b'-')
            });
        if ok {
            Ok(ThreadCursor(raw.to_owned()))
        } else {
            Err(FieldError::new("before", FieldProblem::InvalidFormat))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which messages of a thread to read: the newest `limit` before `before` (all of them
/// with [`ThreadQuery::whole`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadQuery {
    pub before: Option<ThreadCursor>,
    pub limit: usize,
}

impl ThreadQuery {
    /// What a view shows at once: enough for any real conversation, bounded for one with
    /// ten thousand robot messages.
    pub const PAGE: usize = 100;

    pub fn whole() -> Self {
        ThreadQuery {
            before: None,
            limit: usize::MAX,
        }
    }

    /// The newest page, or the one before `before`.
    pub fn newest(before: Option<ThreadCursor>) -> Self {
        ThreadQuery {
            before,
            limit: Self::PAGE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C = Cursor> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page of `limit` items from a read of up to `limit + 1`: the extra one (or `more`,
    /// when the read stopped early) says a next page exists, which starts after the cursor
    /// `cursor` makes of this page's last item.
    pub fn of(mut items: Vec<T>, limit: usize, more: bool, cursor: impl Fn(&T) -> C) -> Self {
        let next = if items.len() > limit || (more && !items.is_empty()) {
            items.truncate(limit);
            items.last().map(cursor)
        } else {
            None
        };
        Page { items, next }
    }
}

/// Tickets and their threads.
pub trait TicketStore: Send + Sync {
    /// Allocates the next number for (agency, category code, year), and writes the ticket,
    /// the counter and the first message (with its mail ids) together, or nothing. With an
    /// idempotency claim that is still live, returns the ticket first opened with it.
    fn open(&self, draft: TicketDraft) -> impl Future<Output = Result<Opened, StoreError>> + Send;

    fn ticket(
        &self,
        number: &TicketNumber,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// The ticket and the page of its thread `query` asks for, oldest first, with the
    /// cursor to the messages before it when there are any: one read for a page (one
    /// DynamoDB Query), however long the thread.
    fn thread_page(
        &self,
        number: &TicketNumber,
        query: &ThreadQuery,
    ) -> impl Future<Output = Result<(Ticket, Page<Message, ThreadCursor>), StoreError>> + Send;

    /// The ticket and its whole thread, oldest first (erasure reads every message; a view
    /// reads a page).
    fn thread(
        &self,
        number: &TicketNumber,
    ) -> impl Future<Output = Result<(Ticket, Vec<Message>), StoreError>> + Send {
        async move {
            let (ticket, page) = self.thread_page(number, &ThreadQuery::whole()).await?;
            Ok((ticket, page.items))
        }
    }

    /// Applies a change and/or appends a message, if the ticket is still at the expected
    /// version (`VersionConflict` otherwise). A message whose mail id is already known is
    /// refused with `AlreadyExists`, so a mail delivered twice is stored once.
    fn update(
        &self,
        update: TicketUpdate,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// Two updates of two tickets, both or neither, each conditional on its version
    /// (`VersionConflict` when either moved): changes that only hold together (a merge).
    fn update_pair(
        &self,
        first: TicketUpdate,
        second: TicketUpdate,
    ) -> impl Future<Output = Result<(Ticket, Ticket), StoreError>> + Send;

    /// Adds an event (a system message, with its mail ids) to the thread without changing
    /// the ticket: its version and last activity stay, so that what automatic mail records
    /// never makes an agent's write conflict, nor moves the ticket up its queue.
    /// `NotFound` without the ticket; `AlreadyExists` when a mail id is known already.
    fn add_event(
        &self,
        number: &TicketNumber,
        event: &Message,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Indexes one more Message-ID for a message already stored (e.g. the id SES gave a
    /// mail after it was sent). `AlreadyExists` when the id is indexed already.
    fn link_mail_id(
        &self,
        number: &TicketNumber,
        message: MessageId,
        mail_id: &MailMessageId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The ticket each Message-ID belongs to, sent or received, in the order asked: one
    /// read for all of them (DynamoDB BatchGetItem), since a mail names its parents by the
    /// dozen.
    fn find_by_mail_ids(
        &self,
        mail_ids: &[MailMessageId],
    ) -> impl Future<Output = Result<Vec<Option<TicketNumber>>, StoreError>> + Send;

    /// A queue by last activity, newest first unless the query asks for the oldest.
    fn queue(
        &self,
        query: &QueueQuery,
    ) -> impl Future<Output = Result<Page<Ticket>, StoreError>> + Send;

    /// An agency's unfinished tickets that have a due date, by their `Ticket::due_key`
    /// (then number), the soonest first: read from an index of them, never by scanning.
    fn due_tickets(
        &self,
        query: &DueQuery,
    ) -> impl Future<Output = Result<Page<Ticket, DueCursor>, StoreError>> + Send;

    /// The numbers of an agency's tickets owed a warning (`Ticket::next_warning`) on or
    /// before `query.until`, by that day (then number); the cursor is that day and number.
    /// From an index of them: the sweeper reads only the tickets it warns about.
    fn tickets_to_warn(
        &self,
        query: &DueQuery,
    ) -> impl Future<Output = Result<Page<TicketNumber, DueCursor>, StoreError>> + Send;

    /// The tickets that have every one of the word keys `keys` (`rules::search`), whatever
    /// their agency (the caller filters by access), the highest numbers first, at most
    /// `limit`. From an index of words: never a scan.
    fn search(
        &self,
        keys: &[String],
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TicketNumber>, StoreError>> + Send;

    /// A requester's tickets, newest first.
    fn requester_tickets(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Vec<Ticket>, StoreError>> + Send;

    /// Writes an erased ticket and its erased thread in place of the originals, if the
    /// ticket is still at the version the erasure was made from (`VersionConflict`
    /// otherwise). The mail ids stay indexed.
    fn erase(&self, erasure: &Erasure) -> impl Future<Output = Result<Ticket, StoreError>> + Send;
}

/// The agents of every agency, found by the hash of their token.
pub trait AgentDirectory: Send + Sync {
    /// Adds an agent; `AlreadyExists` when its id (or its token) is taken.
    fn add_agent(&self, agent: &Agent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces an agent's record (disable, new role, new token). `NotFound` when unknown.
    fn save_agent(&self, agent: &Agent) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn agent(&self, id: &AgentId) -> impl Future<Output = Result<Agent, StoreError>> + Send;

    /// The agent a token belongs to, active or not.
    fn agent_by_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Agent>, StoreError>> + Send;

    /// An agency's agents, by id.
    fn agents(
        &self,
        agency: &AgencyCode,
    ) -> impl Future<Output = Result<Vec<Agent>, StoreError>> + Send;

    /// Notes that `viewer.agent` has `ticket` open until `viewer.until`, over their last note.
    fn mark_open(
        &self,
        ticket: &TicketNumber,
        viewer: &Viewer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Who has `ticket` open after `now`.
    fn open_by(
        &self,
        ticket: &TicketNumber,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<Viewer>, StoreError>> + Send;
}

/// Agencies admins saved at run time (they replace or add to the configured ones).
pub trait AgencyDirectory: Send + Sync {
    fn agencies(&self) -> impl Future<Output = Result<Vec<Agency>, StoreError>> + Send;

    /// Creates or replaces the agency of this code.
    fn save_agency(&self, agency: &Agency) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The days `agency` changed from `first` to `last`, by day, read as they are now (no
    /// copy kept in memory: a change counts at once everywhere).
    fn calendar_days(
        &self,
        agency: &AgencyCode,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Vec<CalendarDay>, StoreError>> + Send;

    /// Writes a changed day over the agency's change of that day, if any.
    fn save_calendar_day(
        &self,
        day: &CalendarDay,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the agency's change of `day`, and returns it (`None`: there was none).
    fn remove_calendar_day(
        &self,
        agency: &AgencyCode,
        day: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Option<CalendarDay>, StoreError>> + Send;

    /// The agency's canned responses, by id.
    fn canned_responses(
        &self,
        agency: &AgencyCode,
    ) -> impl Future<Output = Result<Vec<CannedResponse>, StoreError>> + Send;

    /// Writes a canned response over the agency's one of the same id, if any.
    fn save_canned_response(
        &self,
        canned: &CannedResponse,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the agency's canned response `id`, and returns it (`None`: there was none).
    fn remove_canned_response(
        &self,
        agency: &AgencyCode,
        id: &CannedId,
    ) -> impl Future<Output = Result<Option<CannedResponse>, StoreError>> + Send;
}

/// The agencies' figures (`rules::stats`): counters the ticket writes keep in the same
/// transaction, read by the dashboards and the public statistics, checked and rebuilt from
/// the tickets.
pub trait StatsStore: Send + Sync {
    /// An agency's counters of the days `from` to `to` (inclusive), and its backlog (every
    /// month's), with how many stored items were read: one per day and queue that had any
    /// activity, and one per month and queue with unfinished tickets, whatever the number of
    /// tickets.
    fn stats(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> impl Future<Output = Result<(Tally, usize), StoreError>> + Send;

    /// Every counter of every agency, as kept.
    fn all_stats(&self) -> impl Future<Output = Result<Tally, StoreError>> + Send;

    /// Adds `tally` to the counters: a rebuild's correction.
    fn add_stats(&self, tally: &Tally) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A page of every ticket there is, in the store's own order, after the cursor of the
    /// page before: what a rebuild counts.
    fn every_ticket(
        &self,
        after: Option<String>,
    ) -> impl Future<Output = Result<(Vec<Ticket>, Option<String>), StoreError>> + Send;

    /// A page of the tickets `agency` received (its numbers) on the days `from` to `to`
    /// (Ecuador's, both included) and holds now, after the cursor of the page before: what an
    /// export writes. One transferred away is not the agency's to export; one transferred in
    /// keeps its first agency's number and is not found. Read by number or by an index of the
    /// agency's tickets by date, never by scanning the store. A page may come back empty with
    /// a cursor: go on until there is none.
    fn received_tickets(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after: Option<String>,
    ) -> impl Future<Output = Result<(Vec<Ticket>, Option<String>), StoreError>> + Send;
}

/// Who did what, when: written by every agent action, read by admins.
pub trait AuditLog: Send + Sync {
    fn record(&self, entry: &AuditEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A ticket's audit trail, oldest first.
    fn ticket_audit(
        &self,
        number: &TicketNumber,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no blob with that key")]
    NotFound,
    #[error("the blob store is unavailable: {0}")]
    Unavailable(BoxError),
}

/// Screenshots, attachments and raw mail.
pub trait BlobStore: Send + Sync {
    fn put(&self, key: &BlobKey, blob: Blob) -> impl Future<Output = Result<(), BlobError>> + Send;

    fn get(&self, key: &BlobKey) -> impl Future<Output = Result<Blob, BlobError>> + Send;

    /// Deletes the blob; one already gone is no error.
    fn delete(&self, key: &BlobKey) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// A link that downloads the blob as `file_name` until `valid_for` has passed.
    fn download_url(
        &self,
        key: &BlobKey,
        file_name: &str,
        valid_for: Duration,
    ) -> impl Future<Output = Result<String, BlobError>> + Send;
}

/// What the mail provider said about a sent mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The provider's id of the mail (SES's MessageId).
    pub provider_id: String,
    /// The Message-ID the recipient sees; SES replaces ours with its own.
    pub message_id: MailMessageId,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this mail for good (bad address, unverified sender): retrying
    /// the same mail will not help.
    #[error("the mail was rejected: {0}")]
    Rejected(String),
    #[error("the mail service is unavailable: {0}")]
    Unavailable(BoxError),
}

/// Mail out. The domain builds the MIME message; the mailer only delivers it.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &OutgoingMail)
    -> impl Future<Output = Result<SentMail, MailError>> + Send;
}

/// The mail queue (the durable outbox): the mails owed, written with the changes that cause
/// them (`TicketStore::open` and `update` queue the mail of their draft or update), taken
/// by one sender at a time. See `model::mail_queue`.
pub trait MailQueue: Send + Sync {
    /// Queues a mail that comes with no other change (a refusal notice). `AlreadyExists`
    /// when its Message-ID is queued already (the same mail delivered twice).
    fn queue_mail(&self, mail: &QueuedMail) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes `mail` over the version it was made from (`mail.version - 1`): `false` when
    /// the stored one is no longer that version (another sender took it meanwhile).
    fn save_mail(&self, mail: &QueuedMail)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A queued mail by its Message-ID.
    fn queued_mail(
        &self,
        id: &MailMessageId,
    ) -> impl Future<Output = Result<QueuedMail, StoreError>> + Send;

    /// Up to `limit` pending mails whose `next_try` has come, the longest waiting first. (On
    /// DynamoDB read from an index: one may already be taken, which its save then finds.)
    fn due_mail(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<QueuedMail>, StoreError>> + Send;

    /// Up to `limit` of the mails parked while `agency` held their ticket, the most recent
    /// first.
    fn parked_mail(
        &self,
        agency: &AgencyCode,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<QueuedMail>, StoreError>> + Send;
}

/// Fixed-window counters shared by every instance of a function: they limit how many
/// tickets one source opens and how many status lookups may miss, across Lambda instances.
pub trait Throttle: Send + Sync {
    /// Takes one of the `limit` events the window of length `window` that holds `now` allows
    /// under `key`, atomically (one conditional write): `true` when it was taken, `false`
    /// when the window already holds `limit`. Parallel takers never pass the limit together.
    fn take(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
        limit: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives back one event taken with the same `key`, `window` and `now`, when the work it
    /// was taken for did not happen (the opening failed, or replayed an earlier one).
    fn release(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many events the windows that hold `now` have counted so far under each key, in
    /// the order of `keys` (at most 100): one read for all of them (one DynamoDB
    /// BatchGetItem), since a lookup checks two limits before every read.
    fn counts(
        &self,
        keys: &[ThrottleKey],
        window: Duration,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;
}

/// What a throttle counts: a purpose and a subject (`miss-number:<number>`). A subject that
/// identifies a person (an e-mail or IP address) goes through [`ThrottleKey::personal`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    pub fn new(purpose: &str, subject: &str) -> Self {
        ThrottleKey(format!("{purpose}:{subject}"))
    }

    /// A key whose subject is a person's identifier, stored only as its keyed hash.
    pub fn personal(purpose: &str, identifier: &str, secret: &IdentifierSecret) -> Self {
        Self::new(purpose, &secret.pseudonym(identifier))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret of the keyed hash (HMAC-SHA256) that stands for a person's identifier in a
/// store key: the table then holds neither the address nor, without the secret, a way back
/// to it (an unkeyed hash of an IPv4 address is undone by trying all four billion). A
/// secret of its own, never the link secret: leaking or rotating one leaves the other.
#[derive(Clone)]
pub struct IdentifierSecret(std::sync::Arc<[u8]>);

impl std::fmt::Debug for IdentifierSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentifierSecret(…)")
    }
}

impl IdentifierSecret {
    pub const MIN_BYTES: usize = 32;

    /// `None` when shorter than [`IdentifierSecret::MIN_BYTES`].
    pub fn new(secret: &[u8]) -> Option<Self> {
        (secret.len() >= Self::MIN_BYTES).then(|| IdentifierSecret(secret.into()))
    }

    /// The identifier's stand-in: 128 bits of its HMAC, in hex.
    pub fn pseudonym(&self, identifier: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(identifier.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// The start of the fixed window of length `window` that holds `now`, in Unix seconds; the
/// window's key, shared by both stores.
pub fn window_start(window: Duration, now: Timestamp) -> i64 {
    let length = i64::try_from(window.as_secs()).unwrap_or(i64::MAX).max(1);
    now.unix_seconds().div_euclid(length) * length
}

/// What time it is; the system's clock is an adapter, a test's stands still.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// New identifiers for messages.
pub trait IdSource: Send + Sync {
    fn message_id(&self) -> MessageId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_keys_cannot_escape_their_folder() {
        assert!(BlobKey::parse("attachments/MDT-REQ-2025-00001/0195-ab/captura.png").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "a/./b",
            "a\\b",
            "a/b c",
            "a/b/",
            ".meta/x",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            last_activity: Timestamp::parse("2025-03-01T10:00:00.123Z").unwrap(),
            number: TicketNumber::parse("MDT-REQ-2025-00001").unwrap(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in [
            "",
            "x_y",
            "2025-03-01T10:00:00.123Z",
            "2025-03-01T10:00:00.123Z_MDT",
        ] {
            assert_eq!(Cursor::decode(bad).unwrap_err().field, "cursor");
        }
    }

    #[test]
    fn throttle_windows_are_aligned() {
        let window = Duration::from_secs(3600);
        let at = |t: &str| window_start(window, Timestamp::parse(t).unwrap());
        assert_eq!(at("2025-01-01T10:00:00Z"), at("2025-01-01T10:59:59.999Z"));
        assert_ne!(at("2025-01-01T10:59:59Z"), at("2025-01-01T11:00:00Z"));
        assert_eq!(at("2025-01-01T10:30:00Z") % 3600, 0);
    }
}
