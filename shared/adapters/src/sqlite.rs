//! Tickets in one SQLite file (bundled SQLite, WAL): the embedded default of the local
//! server and of handler tests. Writes that belong together share one IMMEDIATE
//! transaction, so SQLite's single writer gives the same guarantees DynamoDB's conditional
//! transactions give.

use std::path::Path;
use std::sync::{Arc, Mutex};
use ventanilla_domain::Choice;

use crate::agency_cache::AgencyCache;
use rusqlite::{Connection, OptionalExtension, params};
use ventanilla_domain::model::agencies::{Agency, CalendarDay};
use ventanilla_domain::model::agents::{Agent, AuditEntry, TokenHash, Viewer};
use ventanilla_domain::model::canned_responses::{CannedId, CannedResponse};
use ventanilla_domain::model::erasure::Erasure;
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::ticket::{MessageId, TicketDraft, TicketUpdate};
use ventanilla_domain::ports::{AgencyDirectory, AgentDirectory, AuditLog};
use ventanilla_domain::ports::{
    Cursor, DueCursor, DueQuery, Opened, Page, QueueQuery, StatsStore, StoreError, ThreadCursor,
    ThreadQuery, Throttle, ThrottleKey, TicketStore, window_start,
};
use ventanilla_domain::rules::deadline::start_of_day_in_ecuador;
use ventanilla_domain::rules::{search, stats};
use ventanilla_domain::{AgencyCode, AgentId, Email, Message, Ticket, TicketNumber, Timestamp};

mod directory;
mod mail_queue;
mod tickets;

const SCHEMA_VERSION: i64 = 13;

const SCHEMA: &str = "
-- due_key and warn_on since schema 7: `Ticket::due_key` (NULL once finished) and the day
-- of its next warning (`Ticket::next_warning`).
CREATE TABLE IF NOT EXISTS tickets (
    number        TEXT PRIMARY KEY,
    agency        TEXT NOT NULL,
    queue         TEXT NOT NULL,
    status        TEXT NOT NULL,
    requester     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    version       INTEGER NOT NULL,
    ticket        TEXT NOT NULL,
    due_key       TEXT,
    warn_on       TEXT
);
CREATE INDEX IF NOT EXISTS tickets_by_queue
    ON tickets (agency, queue, last_activity DESC, number DESC);
CREATE INDEX IF NOT EXISTS tickets_by_requester
    ON tickets (requester, created_at DESC, number DESC);
-- An agency's tickets by the day they were received: exports.
CREATE INDEX IF NOT EXISTS tickets_by_agency_received
    ON tickets (agency, created_at, number);
CREATE TABLE IF NOT EXISTS messages (
    ticket   TEXT NOT NULL REFERENCES tickets (number),
    sort_key TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (ticket, sort_key)
);
CREATE TABLE IF NOT EXISTS counters (
    agency TEXT NOT NULL,
    code   TEXT NOT NULL,
    year   INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (agency, code, year)
);
CREATE TABLE IF NOT EXISTS mail_ids (
    mail_id TEXT PRIMARY KEY,
    ticket  TEXT NOT NULL REFERENCES tickets (number),
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key        TEXT PRIMARY KEY,
    ticket     TEXT NOT NULL REFERENCES tickets (number),
    expires_at TEXT NOT NULL
);
-- Since schema 2.
CREATE TABLE IF NOT EXISTS throttle (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
-- Since schema 5: every take sweeps the windows that are over.
CREATE INDEX IF NOT EXISTS throttle_expiry ON throttle (expires_at);
-- Since schema 3.
CREATE TABLE IF NOT EXISTS agents (
    id         TEXT PRIMARY KEY,
    agency     TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    agent      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    ticket TEXT,
    at     TEXT NOT NULL,
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    entry  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_ticket ON audit (ticket, at, seq);
-- Since schema 4.
CREATE TABLE IF NOT EXISTS agencies (
    code   TEXT PRIMARY KEY,
    agency TEXT NOT NULL
);
-- Since schema 6: the mail queue (the durable outbox).
CREATE TABLE IF NOT EXISTS mail_queue (
    id       TEXT PRIMARY KEY,
    state    TEXT NOT NULL,
    agency   TEXT NOT NULL,
    next_try TEXT NOT NULL,
    version  INTEGER NOT NULL,
    mail     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_queue_by_state ON mail_queue (state, next_try);
-- Since schema 8: who has a ticket open in the console, until when (unix seconds).
CREATE TABLE IF NOT EXISTS viewing (
    ticket TEXT NOT NULL,
    agent  TEXT NOT NULL,
    until  INTEGER NOT NULL,
    viewer TEXT NOT NULL,
    PRIMARY KEY (ticket, agent)
);
-- Since schema 8: the days admins changed in their agencies' calendars.
CREATE TABLE IF NOT EXISTS calendar_days (
    agency TEXT NOT NULL,
    day    TEXT NOT NULL,
    entry  TEXT NOT NULL,
    PRIMARY KEY (agency, day)
);
-- Since schema 10: the words tickets are searched by (`rules::search`), as their keys.
-- Without rowids since schema 13: the key is the table, one B-tree fewer per word written.
CREATE TABLE IF NOT EXISTS search_words (
    word   TEXT NOT NULL,
    ticket TEXT NOT NULL,
    PRIMARY KEY (word, ticket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_words_by_ticket ON search_words (ticket);
-- Since schema 12: the agencies' figures (`rules::stats`): a counter per agency, queue,
-- bucket ('D<day>' or 'O<first day of the month>') and name.
CREATE TABLE IF NOT EXISTS stats (
    agency  TEXT NOT NULL,
    bucket  TEXT NOT NULL,
    queue   TEXT NOT NULL,
    counter TEXT NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (agency, bucket, queue, counter)
);
-- Since schema 9: the agencies' canned responses.
CREATE TABLE IF NOT EXISTS canned_responses (
    agency TEXT NOT NULL,
    id     TEXT NOT NULL,
    entry  TEXT NOT NULL,
    PRIMARY KEY (agency, id)
);
";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    /// No file behind it: calls run in place (see `transaction`).
    in_memory: bool,
    agencies: AgencyCache,
}

impl SqliteStore {
    /// Opens (and creates, or migrates) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::unavailable)?;
        }
        let connection = Connection::open(path).map_err(StoreError::unavailable)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(StoreError::unavailable)?;
        Self::prepare(connection, false)
    }

    /// A private database that lives as long as the store: for tests and benchmarks.
    ///
    /// A database of SQLite's `memdb` VFS, not `:memory:`: the latter keeps every page in the
    /// page cache, whose hash table some commits walk whole, so a commit's cost grew with
    /// the database (a sixth of an opening's CPU after 15 000 tickets in the handler
    /// benchmark). Over `memdb` the cache is of bounded size, as over the local server's
    /// file; the journal stays in memory. A name without a leading `/` is private to its
    /// connection. `memdb` holds at most 1 GiB (`SQLITE_MEMDB_DEFAULT_MAXSIZE`); past it a
    /// write fails as a full disk would.
    pub fn in_memory() -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags("file:ventanilla?vfs=memdb", flags)
            .map_err(StoreError::unavailable)?;
        Self::prepare(connection, true)
    }

    fn prepare(connection: Connection, in_memory: bool) -> Result<Self, StoreError> {
        // Room for every statement this adapter runs, queue listings' variants included.
        connection.set_prepared_statement_cache_capacity(64);
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(StoreError::unavailable)?;
        // Another process (a second local server on the same folder) may hold the lock briefly.
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(StoreError::unavailable)?;
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(StoreError::unavailable)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::unavailable(format!(
                "database schema {version} is newer than this program's {SCHEMA_VERSION}"
            )));
        }
        connection
            .execute_batch(SCHEMA)
            .map_err(StoreError::unavailable)?;
        if (1..6).contains(&version) {
            in_transaction(&connection, queue_undelivered_replies)?;
        }
        if (1..7).contains(&version) {
            in_transaction(&connection, add_deadline_keys)?;
        }
        // Schema 13 keeps the word keys without rowids: the table of 10-12 copied over.
        if (10..13).contains(&version) {
            in_transaction(&connection, |tx| {
                tx.execute_batch(WORDS_WITHOUT_ROWID).map_err(db)
            })?;
        }
        // Schema 11 keys each word by the agency that finds the ticket: indexed afresh.
        if (1..11).contains(&version) {
            in_transaction(&connection, index_search_words)?;
        }
        // Schema 12 keeps the figures: counted from the tickets there are.
        if (1..12).contains(&version) {
            in_transaction(&connection, count_stats)?;
        }
        connection
            .execute_batch(DEADLINE_INDEXES)
            .map_err(StoreError::unavailable)?;
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(StoreError::unavailable)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            in_memory,
            agencies: AgencyCache::default(),
        })
    }

    /// The JSON documents `sql` selects for one key, each decoded.
    async fn documents<T>(&self, sql: &'static str, key: &str) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let key = key.to_owned();
        self.transaction(move |tx| json_rows(tx, sql, [key])).await
    }

    /// Runs `work` in one IMMEDIATE transaction that commits only when it succeeds. On a file,
    /// off the async threads: a commit waits for the disk. In memory nothing waits, and the
    /// hop to tokio's blocking pool and back would cost more than the work (a thread wake-up
    /// each way: a quarter of a lookup's CPU, docs/PERFORMANCE.md), so it runs in place.
    async fn transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let run = move || {
            let connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            in_transaction(&connection, work)
        };
        if self.in_memory {
            run()
        } else {
            tokio::task::spawn_blocking(run)
                .await
                .map_err(StoreError::unavailable)?
        }
    }
}

/// Schema 6 brought the mail queue. A reply an older version left undelivered (it sent them
/// again when a ticket was opened or listed) is queued, due at once, so that the sweeper
/// sends it: the same Message-ID, from the reply's record.
fn queue_undelivered_replies(tx: &Connection) -> Result<(), StoreError> {
    use ventanilla_domain::model::mail_queue::{MailIntent, Notice};
    use ventanilla_domain::ports::Clock;
    let now = crate::system::SystemClock.now();
    let tickets: Vec<Ticket> = json_rows(
        tx,
        "SELECT ticket FROM tickets WHERE json_array_length(ticket, '$.undelivered') > 0",
        [],
    )?;
    for ticket in tickets {
        for id in &ticket.undelivered {
            let replies: Vec<Message> = json_rows(
                tx,
                "SELECT message FROM messages WHERE ticket = ?1 AND json_extract(message, '$.id') = ?2",
                params![ticket.number.as_str(), id.to_string()],
            )?;
            let Some(reply) = replies.first() else {
                continue;
            };
            let Some(mail_id) = reply.mail_ids().first().cloned() else {
                continue;
            };
            let intent = MailIntent {
                id: mail_id,
                notice: Notice::AgentReply,
                about: reply.id,
                lang: ventanilla_domain::Lang::Es,
                in_reply_to: None,
                queued_at: now,
                writer_until: now,
                to: None,
                actor: None,
                held: 0,
                held_alerts: Vec::new(),
            };
            match mail_queue::insert(
                tx,
                &intent.queued(ticket.number.clone(), ticket.agency.clone()),
            ) {
                Ok(()) | Err(StoreError::AlreadyExists) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// BEGIN IMMEDIATE, `work`, then COMMIT, or ROLLBACK when anything fails. The three
/// statements come from the statement cache like the others (rusqlite's `Transaction` parses
/// them on every call).
fn in_transaction<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let run = |sql: &str| connection.prepare_cached(sql)?.execute([]);
    let rollback = || {
        if !connection.is_autocommit() {
            let _ = run("ROLLBACK");
        }
    };
    // A panic inside earlier work may have left its transaction open.
    rollback();
    run("BEGIN IMMEDIATE").map_err(db)?;
    let done = work(connection).and_then(|value| {
        run("COMMIT").map_err(db)?;
        Ok(value)
    });
    if done.is_err() {
        rollback();
    }
    done
}

/// Statements are parsed once per connection and then reused from rusqlite's cache: parsing
/// SQL was a sixth of a lookup's CPU (docs/PERFORMANCE.md).
fn execute(tx: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

fn query_row<T>(
    tx: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, row)
}

/// The text in the first column of the row `sql` finds for `key`, if it finds one.
fn first_text(tx: &Connection, sql: &str, key: &str) -> Result<Option<String>, StoreError> {
    query_row(tx, sql, [key], |row| row.get(0))
        .optional()
        .map_err(db)
}

fn db(error: rusqlite::Error) -> StoreError {
    StoreError::unavailable(error)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::unavailable)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(StoreError::unavailable)
}

fn message_sort_key(message: &Message) -> String {
    format!("{}#{}", message.at, message.id)
}

fn load_ticket(tx: &Connection, number: &str) -> Result<Ticket, StoreError> {
    let json = first_text(tx, "SELECT ticket FROM tickets WHERE number = ?1", number)?;
    from_json(&json.ok_or(StoreError::NotFound)?)
}

/// The indexes of unfinished tickets by due date and by the day of their next warning:
/// created after the columns exist, which a file of schema 6 or older gets from
/// `add_deadline_keys`.
const DEADLINE_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS tickets_by_due ON tickets (agency, due_key, number)
    WHERE due_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_to_warn ON tickets (agency, warn_on, number)
    WHERE warn_on IS NOT NULL;
";

/// Schema 13: the search words of a file of schema 10 to 12 moved to a table without
/// rowids, as `SCHEMA` creates it.
const WORDS_WITHOUT_ROWID: &str = "
CREATE TABLE search_words_13 (
    word   TEXT NOT NULL,
    ticket TEXT NOT NULL,
    PRIMARY KEY (word, ticket)
) WITHOUT ROWID;
INSERT INTO search_words_13 (word, ticket) SELECT word, ticket FROM search_words;
DROP TABLE search_words;
ALTER TABLE search_words_13 RENAME TO search_words;
CREATE INDEX search_words_by_ticket ON search_words (ticket);
";

/// A file older than schema 11: every ticket's words indexed, from its thread as stored.
fn index_search_words(tx: &Connection) -> Result<(), StoreError> {
    execute(tx, "DELETE FROM search_words", []).map_err(db)?;
    let tickets: Vec<String> = {
        let mut statement = tx.prepare("SELECT ticket FROM tickets").map_err(db)?;
        let rows = statement.query_map([], |row| row.get(0)).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    for json in tickets {
        let ticket: Ticket = from_json(&json)?;
        let thread: Vec<Message> = json_rows(
            tx,
            "SELECT message FROM messages WHERE ticket = ?1 ORDER BY sort_key",
            [ticket.number.as_str()],
        )?;
        if ticket.erased_at.is_none() {
            let keys = search::thread_keys(&ticket, &thread);
            for_search_words(tx, WRITE_WORD, &ticket.number, &keys)?;
        }
    }
    Ok(())
}

/// Schema 7: the due-date and warning columns, filled for the unfinished tickets (none was
/// suspended or warned before they existed).
fn add_deadline_keys(tx: &Connection) -> Result<(), StoreError> {
    // A file whose version was set back by hand may have the columns already.
    for column in ["due_key", "warn_on"] {
        let has_column: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('tickets') WHERE name = ?1)",
                [column],
                |row| row.get(0),
            )
            .map_err(db)?;
        if !has_column {
            tx.execute_batch(&format!("ALTER TABLE tickets ADD COLUMN {column} TEXT;"))
                .map_err(db)?;
        }
    }
    let open: Vec<String> = {
        let mut statement = tx
            .prepare("SELECT ticket FROM tickets WHERE status NOT IN ('resolved', 'closed')")
            .map_err(db)?;
        let rows = statement.query_map([], |row| row.get(0)).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    for json in open {
        let ticket: Ticket = from_json(&json)?;
        execute(
            tx,
            "UPDATE tickets SET due_key = ?2, warn_on = ?3 WHERE number = ?1",
            params![
                ticket.number.as_str(),
                ticket.due_key().map(|day| day.to_string()),
                ticket.next_warning().map(|w| w.on.to_string()),
            ],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// Writes `ticket` over `before` (or as new) and adds the difference to its agency's figures
/// (`rules::stats::delta`), in the caller's transaction.
fn write_ticket(
    tx: &Connection,
    before: Option<&Ticket>,
    ticket: &Ticket,
) -> Result<(), StoreError> {
    add_stats(tx, &stats::delta(before, ticket))?;
    let sql = if before.is_none() {
        "INSERT INTO tickets (number, agency, queue, status, requester, created_at, last_activity, version, ticket, due_key, warn_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    } else {
        "UPDATE tickets SET agency = ?2, queue = ?3, status = ?4, requester = ?5, created_at = ?6,
             last_activity = ?7, version = ?8, ticket = ?9, due_key = ?10, warn_on = ?11
         WHERE number = ?1"
    };
    execute(
        tx,
        sql,
        params![
            ticket.number.as_str(),
            ticket.agency.as_str(),
            ticket.queue.as_str(),
            ticket.status.wire(),
            // No address, no key: '' matches no requester's address.
            (ticket.requester.email.as_ref()).map_or_else(String::new, |e| e.match_key()),
            ticket.created_at.to_string(),
            ticket.last_activity.to_string(),
            ticket.version as i64,
            to_json(ticket)?,
            ticket.due_key().map(|day| day.to_string()),
            ticket.next_warning().map(|w| w.on.to_string()),
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// `NotFound` unless the ticket exists.
fn require_ticket(tx: &Connection, number: &TicketNumber) -> Result<(), StoreError> {
    query_row(
        tx,
        "SELECT 1 FROM tickets WHERE number = ?1",
        [number.as_str()],
        |_| Ok(()),
    )
    .optional()
    .map_err(db)?
    .ok_or(StoreError::NotFound)
}

/// The ticket's whole thread, oldest first.
fn load_thread(tx: &Connection, number: &TicketNumber) -> Result<Vec<Message>, StoreError> {
    json_rows(
        tx,
        "SELECT message FROM messages WHERE ticket = ?1 ORDER BY sort_key",
        [number.as_str()],
    )
}

/// Moves the ticket's words to the agencies that find it after a change (`moved_keys`).
fn move_search_words(tx: &Connection, before: &Ticket, after: &Ticket) -> Result<(), StoreError> {
    if !search::searched_by_changed(before, after) {
        return Ok(());
    }
    let thread = load_thread(tx, &after.number)?;
    let (added, removed) = search::moved_keys(before, after, &thread);
    for_search_words(tx, DELETE_WORD, &after.number, &removed)?;
    for_search_words(tx, WRITE_WORD, &after.number, &added)
}

/// What is done with one word key of a ticket: written, or deleted.
const WRITE_WORD: &str =
    "INSERT INTO search_words (word, ticket) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
const DELETE_WORD: &str = "DELETE FROM search_words WHERE word = ?1 AND ticket = ?2";

/// Runs `statement` (`WRITE_WORD` or `DELETE_WORD`) for each of the ticket's word keys.
fn for_search_words<'a>(
    tx: &Connection,
    statement: &str,
    number: &TicketNumber,
    keys: impl IntoIterator<Item = &'a String>,
) -> Result<(), StoreError> {
    for key in keys {
        execute(tx, statement, params![key, number.as_str()]).map_err(db)?;
    }
    Ok(())
}

/// Writes a message and indexes its mail ids; a mail id seen before means the same mail
/// arrived twice: `AlreadyExists`, and the caller's transaction rolls back.
fn write_message(
    tx: &Connection,
    number: &TicketNumber,
    message: &Message,
) -> Result<(), StoreError> {
    execute(
        tx,
        "INSERT INTO messages (ticket, sort_key, message) VALUES (?1, ?2, ?3)",
        params![
            number.as_str(),
            message_sort_key(message),
            to_json(message)?
        ],
    )
    .map_err(db)?;
    for mail_id in message.mail_ids() {
        link_mail_id(tx, number, message.id, mail_id)?;
    }
    Ok(())
}

fn link_mail_id(
    tx: &Connection,
    number: &TicketNumber,
    message: MessageId,
    mail_id: &MailMessageId,
) -> Result<(), StoreError> {
    let inserted = execute(
        tx,
        "INSERT INTO mail_ids (mail_id, ticket, message) VALUES (?1, ?2, ?3)
             ON CONFLICT (mail_id) DO NOTHING",
        params![mail_id.as_str(), number.as_str(), message.to_string()],
    )
    .map_err(db)?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

/// The JSON documents in the first column of what `sql` selects, each decoded, in order.
fn json_rows<T: serde::de::DeserializeOwned>(
    tx: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut statement = tx.prepare_cached(sql).map_err(db)?;
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(db)?;
    rows.map(|json| from_json(&json.map_err(db)?)).collect()
}

/// Adds a tally to the figures, in the caller's transaction.
fn add_stats(tx: &Connection, tally: &stats::Tally) -> Result<(), StoreError> {
    for (key, counts) in tally.items() {
        for (counter, value) in counts {
            execute(
                tx,
                "INSERT INTO stats (agency, bucket, queue, counter, value) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (agency, bucket, queue, counter) DO UPDATE SET value = value + excluded.value",
                params![
                    key.agency.as_str(),
                    key.bucket.code(),
                    key.queue.as_str(),
                    counter,
                    value
                ],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

/// Schema 12: the figures counted from the tickets there are.
fn count_stats(tx: &Connection) -> Result<(), StoreError> {
    execute(tx, "DELETE FROM stats", []).map_err(db)?;
    let tickets: Vec<Ticket> = json_rows(tx, "SELECT ticket FROM tickets", [])?;
    let mut tally = stats::Tally::default();
    for ticket in &tickets {
        tally.merge(&stats::contribution(ticket), 1);
    }
    add_stats(tx, &tally)
}

/// The stats rows `sql` selects (agency, bucket, queue, counter, value), as a tally.
fn stats_rows(
    tx: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<(stats::Tally, usize), StoreError> {
    let mut statement = tx.prepare_cached(sql).map_err(db)?;
    let rows = statement
        .query_map(params, |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .map_err(db)?;
    let mut tally = stats::Tally::default();
    let mut items = std::collections::BTreeSet::new();
    for row in rows {
        let (agency, bucket, queue, counter, value) = row.map_err(db)?;
        let key = stats::StatsKey {
            agency: AgencyCode::parse(&agency).map_err(StoreError::unavailable)?,
            queue: ventanilla_domain::QueueName::parse(&queue).map_err(StoreError::unavailable)?,
            bucket: stats::Bucket::parse(&bucket)
                .ok_or_else(|| StoreError::unavailable(format!("a stats bucket {bucket:?}")))?,
        };
        tally.add(&key, &counter, value);
        items.insert((agency, bucket, queue));
    }
    Ok((tally, items.len()))
}

impl StatsStore for SqliteStore {
    async fn stats(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<(stats::Tally, usize), StoreError> {
        let agency = agency.as_str().to_owned();
        let (from, to) = (
            stats::Bucket::Day(from).code(),
            stats::Bucket::Day(to).code(),
        );
        self.transaction(move |tx| {
            stats_rows(
                tx,
                "SELECT agency, bucket, queue, counter, value FROM stats
                 WHERE agency = ?1 AND (bucket BETWEEN ?2 AND ?3 OR bucket LIKE 'O%')",
                params![agency, from, to],
            )
        })
        .await
    }

    async fn all_stats(&self) -> Result<stats::Tally, StoreError> {
        self.transaction(|tx| {
            let (tally, _) = stats_rows(
                tx,
                "SELECT agency, bucket, queue, counter, value FROM stats",
                [],
            )?;
            Ok(tally)
        })
        .await
    }

    async fn add_stats(&self, tally: &stats::Tally) -> Result<(), StoreError> {
        let tally = tally.clone();
        self.transaction(move |tx| add_stats(tx, &tally)).await
    }

    async fn every_ticket(
        &self,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        const PAGE: usize = 500;
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT number, ticket FROM tickets WHERE number > ?1 ORDER BY number LIMIT ?2",
                )
                .map_err(db)?;
            let rows = statement
                .query_map(params![after.unwrap_or_default(), PAGE as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(db)?;
            let mut tickets = Vec::new();
            let mut last = None;
            for row in rows {
                let (number, json) = row.map_err(db)?;
                tickets.push(from_json(&json)?);
                last = Some(number);
            }
            let next = if tickets.len() == PAGE { last } else { None };
            Ok((tickets, next))
        })
        .await
    }

    async fn received_tickets(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        const PAGE: usize = 500;
        let agency = agency.as_str().to_owned();
        let since = start_of_day_in_ecuador(from).to_string();
        let until = start_of_day_in_ecuador(to.succ_opt().unwrap_or(to)).to_string();
        // The cursor is the last row's `created_at` and number (tickets_by_agency_received).
        let (after_at, after_number) = match after.as_deref().map(|c| c.split_once('|')) {
            None => (String::new(), String::new()),
            Some(Some((at, number))) => (at.to_owned(), number.to_owned()),
            Some(None) => return Err(StoreError::unavailable("a malformed export cursor")),
        };
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT created_at, number, ticket FROM tickets
                     WHERE agency = ?1 AND created_at >= ?2 AND created_at < ?3
                       AND (created_at, number) > (?4, ?5) AND number LIKE ?1 || '-%'
                     ORDER BY created_at, number LIMIT ?6",
                )
                .map_err(db)?;
            let rows = statement
                .query_map(
                    params![agency, since, until, after_at, after_number, PAGE as i64],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    },
                )
                .map_err(db)?;
            let mut tickets = Vec::new();
            let mut last = None;
            for row in rows {
                let (at, number, json) = row.map_err(db)?;
                tickets.push(from_json(&json)?);
                last = Some(format!("{at}|{number}"));
            }
            let next = if tickets.len() == PAGE { last } else { None };
            Ok((tickets, next))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two in-memory stores of one process share nothing (each is a private `memdb`
    /// database), and a store's data lives as long as any of its clones.
    #[tokio::test]
    async fn in_memory_stores_are_private() {
        let one = SqliteStore::in_memory().unwrap();
        let other = SqliteStore::in_memory().unwrap();
        let counted = |store: &SqliteStore| {
            let connection = store.connection.lock().unwrap();
            connection
                .query_row("SELECT count(*) FROM agencies", [], |row| {
                    row.get::<_, i64>(0)
                })
                .unwrap()
        };
        one.transaction(|tx| {
            execute(
                tx,
                "INSERT INTO agencies (code, agency) VALUES ('MDT', '{}')",
                [],
            )
            .map_err(db)
        })
        .await
        .unwrap();
        let kept = one.clone();
        drop(one);
        assert_eq!((counted(&kept), counted(&other)), (1, 0));
    }
}
