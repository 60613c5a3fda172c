//! Tickets in one SQLite file (bundled SQLite, WAL): the embedded default of the local
//! server and of handler tests. Writes that belong together share one IMMEDIATE
//! transaction, so SQLite's single writer gives the same guarantees DynamoDB's conditional
//! transactions give.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::agency_cache::AgencyCache;
use rusqlite::{Connection, OptionalExtension, params};
use ventanilla_domain::agencies::Agency;
use ventanilla_domain::agents::{Agent, AuditEntry, TokenHash};
use ventanilla_domain::mail::MailMessageId;
use ventanilla_domain::ports::{AgencyDirectory, AgentDirectory, AuditLog};
use ventanilla_domain::ports::{
    Cursor, Opened, Page, QueueQuery, StoreError, ThreadCursor, ThreadQuery, Throttle, ThrottleKey,
    TicketStore, window_start,
};
use ventanilla_domain::privacy::Erasure;
use ventanilla_domain::ticket::{MessageId, TicketDraft, TicketUpdate};
use ventanilla_domain::{AgencyCode, AgentId, Email, Message, Ticket, TicketNumber, Timestamp};

const SCHEMA_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tickets (
    number        TEXT PRIMARY KEY,
    agency        TEXT NOT NULL,
    queue         TEXT NOT NULL,
    status        TEXT NOT NULL,
    requester     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    version       INTEGER NOT NULL,
    ticket        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_by_queue
    ON tickets (agency, queue, last_activity DESC, number DESC);
CREATE INDEX IF NOT EXISTS tickets_by_requester
    ON tickets (requester, created_at DESC, number DESC);
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

    /// A private database that lives as long as the store: for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::prepare(
            Connection::open_in_memory().map_err(StoreError::unavailable)?,
            true,
        )
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
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(StoreError::unavailable)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            in_memory,
            agencies: AgencyCache::default(),
        })
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
    let json: Option<String> = query_row(
        tx,
        "SELECT ticket FROM tickets WHERE number = ?1",
        [number],
        |row| row.get(0),
    )
    .optional()
    .map_err(db)?;
    from_json(&json.ok_or(StoreError::NotFound)?)
}

fn write_ticket(tx: &Connection, ticket: &Ticket, insert: bool) -> Result<(), StoreError> {
    let sql = if insert {
        "INSERT INTO tickets (number, agency, queue, status, requester, created_at, last_activity, version, ticket)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    } else {
        "UPDATE tickets SET agency = ?2, queue = ?3, status = ?4, requester = ?5, created_at = ?6,
             last_activity = ?7, version = ?8, ticket = ?9
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
            ticket.requester.email.match_key(),
            ticket.created_at.to_string(),
            ticket.last_activity.to_string(),
            ticket.version as i64,
            to_json(ticket)?,
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

/// The records a statement's first column holds as JSON, in its order.
fn json_rows<T: serde::de::DeserializeOwned>(
    statement: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(db)?;
    rows.map(|json| from_json(&json.map_err(db)?)).collect()
}

impl TicketStore for SqliteStore {
    async fn open(&self, draft: TicketDraft) -> Result<Opened, StoreError> {
        self.transaction(move |tx| {
            if let Some(claim) = &draft.idempotency {
                let earlier: Option<(String, String)> = query_row(tx,
                        "SELECT ticket, expires_at FROM idempotency WHERE key = ?1",
                        [claim.key.as_str()],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(db)?;
                if let Some((number, expires_at)) = earlier
                    && expires_at > draft.opened_at.to_string()
                {
                    return Ok(Opened::Replayed(load_ticket(tx, &number)?));
                }
            }
            let code = draft.category.number_code();
            let year = draft.opened_at.year();
            let sequence: i64 = query_row(tx,
                    "INSERT INTO counters (agency, code, year, last) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT (agency, code, year) DO UPDATE SET last = last + 1
                     RETURNING last",
                    params![draft.agency.as_str(), code, year],
                    |row| row.get(0),
                )
                .map_err(db)?;
            let number = TicketNumber::new(&draft.agency, code, year, sequence as u64);
            let claim = draft.idempotency.clone();
            let (ticket, message) = draft.into_ticket(number);
            write_ticket(tx, &ticket, true)?;
            write_message(tx, &ticket.number, &message)?;
            if let Some(claim) = claim {
                execute(tx,
                    "INSERT INTO idempotency (key, ticket, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET ticket = excluded.ticket, expires_at = excluded.expires_at",
                    params![claim.key.as_str(), ticket.number.as_str(), claim.expires_at.to_string()],
                )
                .map_err(db)?;
            }
            Ok(Opened::Created(ticket, message))
        })
        .await
    }

    async fn ticket(&self, number: &TicketNumber) -> Result<Ticket, StoreError> {
        let number = number.as_str().to_owned();
        self.transaction(move |tx| load_ticket(tx, &number)).await
    }

    async fn thread_page(
        &self,
        number: &TicketNumber,
        query: &ThreadQuery,
    ) -> Result<(Ticket, Page<Message, ThreadCursor>), StoreError> {
        let number = number.as_str().to_owned();
        let before = query.before.as_ref().map(|c| c.as_str().to_owned());
        // One more than asked: whether older messages exist.
        let take = i64::try_from(query.limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        let limit = query.limit;
        self.transaction(move |tx| {
            let ticket = load_ticket(tx, &number)?;
            let mut statement = tx
                .prepare_cached(
                    "SELECT message FROM messages
                     WHERE ticket = ?1 AND (?2 IS NULL OR sort_key < ?2)
                     ORDER BY sort_key DESC LIMIT ?3",
                )
                .map_err(db)?;
            let mut items: Vec<Message> =
                json_rows(&mut statement, params![&number, before, take])?;
            let next = (items.len() > limit).then(|| {
                items.truncate(limit);
                items.last().map(ThreadCursor::of)
            });
            items.reverse();
            Ok((
                ticket,
                Page {
                    items,
                    next: next.flatten(),
                },
            ))
        })
        .await
    }

    async fn update(&self, update: TicketUpdate) -> Result<Ticket, StoreError> {
        self.transaction(move |tx| {
            let current = load_ticket(tx, update.number.as_str())?;
            if current.version != update.expected_version {
                return Err(StoreError::VersionConflict);
            }
            let next = update.change.apply(&current, update.message.as_ref());
            write_ticket(tx, &next, false)?;
            if let Some(message) = &update.message {
                write_message(tx, &next.number, message)?;
            }
            Ok(next)
        })
        .await
    }

    async fn add_event(&self, number: &TicketNumber, event: &Message) -> Result<(), StoreError> {
        let (number, event) = (number.clone(), event.clone());
        self.transaction(move |tx| {
            require_ticket(tx, &number)?;
            write_message(tx, &number, &event)
        })
        .await
    }

    async fn link_mail_id(
        &self,
        number: &TicketNumber,
        message: MessageId,
        mail_id: &MailMessageId,
    ) -> Result<(), StoreError> {
        let (number, mail_id) = (number.clone(), mail_id.clone());
        self.transaction(move |tx| {
            require_ticket(tx, &number)?;
            link_mail_id(tx, &number, message, &mail_id)
        })
        .await
    }

    async fn find_by_mail_ids(
        &self,
        mail_ids: &[MailMessageId],
    ) -> Result<Vec<Option<TicketNumber>>, StoreError> {
        let mail_ids: Vec<String> = mail_ids.iter().map(|id| id.as_str().to_owned()).collect();
        self.transaction(move |tx| {
            mail_ids
                .iter()
                .map(|mail_id| {
                    let number: Option<String> = query_row(
                        tx,
                        "SELECT ticket FROM mail_ids WHERE mail_id = ?1",
                        [mail_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                    number
                        .map(|n| TicketNumber::parse(&n).map_err(StoreError::unavailable))
                        .transpose()
                })
                .collect()
        })
        .await
    }

    async fn queue(&self, query: &QueueQuery) -> Result<Page<Ticket>, StoreError> {
        let query = query.clone();
        self.transaction(move |tx| {
            // One statement per direction: absent filters compare NULL and pass.
            let sql = if query.oldest_first {
                "SELECT ticket FROM tickets
                 WHERE agency = ?1 AND queue = ?2
                   AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR (last_activity, number) > (?4, ?5))
                 ORDER BY last_activity ASC, number ASC
                 LIMIT ?6"
            } else {
                "SELECT ticket FROM tickets
                 WHERE agency = ?1 AND queue = ?2
                   AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR (last_activity, number) < (?4, ?5))
                 ORDER BY last_activity DESC, number DESC
                 LIMIT ?6"
            };
            let mut statement = tx.prepare_cached(sql).map_err(db)?;
            let after = query.after.as_ref();
            let mut items = json_rows(
                &mut statement,
                params![
                    query.agency.as_str(),
                    query.queue.as_str(),
                    query.status.map(|s| s.wire()),
                    after.map(|c| c.last_activity.to_string()),
                    after.map(|c| c.number.as_str().to_owned()),
                    (query.limit + 1) as i64,
                ],
            )?;
            let next = if items.len() > query.limit {
                items.truncate(query.limit);
                items.last().map(Cursor::after)
            } else {
                None
            };
            Ok(Page { items, next })
        })
        .await
    }

    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, StoreError> {
        let key = email.match_key();
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT ticket FROM tickets WHERE requester = ?1
                     ORDER BY created_at DESC, number DESC",
                )
                .map_err(db)?;
            json_rows(&mut statement, [key])
        })
        .await
    }

    async fn erase(&self, erasure: &Erasure) -> Result<Ticket, StoreError> {
        let erasure = erasure.clone();
        self.transaction(move |tx| {
            let current = load_ticket(tx, erasure.ticket.number.as_str())?;
            if current.version != erasure.expected_version {
                return Err(StoreError::VersionConflict);
            }
            write_ticket(tx, &erasure.ticket, false)?;
            for message in &erasure.messages {
                execute(
                    tx,
                    "UPDATE messages SET message = ?3 WHERE ticket = ?1 AND sort_key = ?2",
                    params![
                        erasure.ticket.number.as_str(),
                        message_sort_key(message),
                        to_json(message)?
                    ],
                )
                .map_err(db)?;
            }
            Ok(erasure.ticket)
        })
        .await
    }
}

impl Throttle for SqliteStore {
    async fn take(
        &self,
        key: &ThrottleKey,
        window: std::time::Duration,
        now: Timestamp,
        limit: u64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let key = key.as_str().to_owned();
        let start = window_start(window, now);
        let expires_at = start.saturating_add(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let now_seconds = now.unix_seconds();
        self.transaction(move |tx| {
            // Windows that are over are of no use to any key: swept here (by the expiry
            // index), so the table holds only live windows without a job of its own.
            execute(
                tx,
                "DELETE FROM throttle WHERE expires_at <= ?1",
                params![now_seconds],
            )
            .map_err(db)?;
            // One statement: the row is counted only while it is under the limit, so that
            // parallel takers cannot all read "under" and all pass.
            let count: Option<i64> = query_row(
                tx,
                "INSERT INTO throttle (key, window_start, count, expires_at) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1
                     WHERE count < ?4
                     RETURNING count",
                params![key, start, expires_at, limit],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
            Ok(count.is_some())
        })
        .await
    }

    async fn release(
        &self,
        key: &ThrottleKey,
        window: std::time::Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key.as_str().to_owned();
        let start = window_start(window, now);
        self.transaction(move |tx| {
            execute(
                tx,
                "UPDATE throttle SET count = count - 1
                     WHERE key = ?1 AND window_start = ?2 AND count > 0",
                params![key, start],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn counts(
        &self,
        keys: &[ThrottleKey],
        window: std::time::Duration,
        now: Timestamp,
    ) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
        let start = window_start(window, now);
        self.transaction(move |tx| {
            keys.iter()
                .map(|key| {
                    let count: Option<i64> = query_row(
                        tx,
                        "SELECT count FROM throttle WHERE key = ?1 AND window_start = ?2",
                        params![key, start],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                    Ok(count.map_or(0, |c| u64::try_from(c).unwrap_or(0)))
                })
                .collect()
        })
        .await
    }
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl AgentDirectory for SqliteStore {
    async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let json = to_json(agent)?;
        let (id, agency, hash) = (
            agent.id.as_str().to_owned(),
            agent.agency.as_str().to_owned(),
            agent.token_hash.as_str().to_owned(),
        );
        self.transaction(move |tx| {
            match execute(
                tx,
                "INSERT INTO agents (id, agency, token_hash, agent) VALUES (?1, ?2, ?3, ?4)",
                params![id, agency, hash, json],
            ) {
                Ok(_) => Ok(()),
                Err(error) if is_unique_violation(&error) => Err(StoreError::AlreadyExists),
                Err(error) => Err(db(error)),
            }
        })
        .await
    }

    async fn save_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let json = to_json(agent)?;
        let (id, agency, hash) = (
            agent.id.as_str().to_owned(),
            agent.agency.as_str().to_owned(),
            agent.token_hash.as_str().to_owned(),
        );
        self.transaction(move |tx| {
            let changed = execute(
                tx,
                "UPDATE agents SET agency = ?2, token_hash = ?3, agent = ?4 WHERE id = ?1",
                params![id, agency, hash, json],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            if changed == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        let id = id.as_str().to_owned();
        self.transaction(move |tx| {
            let json: Option<String> =
                query_row(tx, "SELECT agent FROM agents WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(db)?;
            from_json(&json.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn agent_by_token(&self, hash: &TokenHash) -> Result<Option<Agent>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.transaction(move |tx| {
            let json: Option<String> = query_row(
                tx,
                "SELECT agent FROM agents WHERE token_hash = ?1",
                [hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
            json.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn agents(&self, agency: &AgencyCode) -> Result<Vec<Agent>, StoreError> {
        let agency = agency.as_str().to_owned();
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached("SELECT agent FROM agents WHERE agency = ?1 ORDER BY id")
                .map_err(db)?;
            json_rows(&mut statement, [agency])
        })
        .await
    }
}

impl AgencyDirectory for SqliteStore {
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.agencies
            .get_or_load(self.transaction(|tx| {
                let mut statement = tx
                    .prepare_cached("SELECT agency FROM agencies ORDER BY code")
                    .map_err(db)?;
                json_rows(&mut statement, [])
            }))
            .await
    }

    async fn save_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        let json = to_json(agency)?;
        let code = agency.code.as_str().to_owned();
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO agencies (code, agency) VALUES (?1, ?2)
                 ON CONFLICT (code) DO UPDATE SET agency = excluded.agency",
                params![code, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await?;
        self.agencies.forget();
        Ok(())
    }
}

impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = to_json(entry)?;
        let ticket = entry.ticket.as_ref().map(|n| n.as_str().to_owned());
        let at = entry.at.to_string();
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO audit (ticket, at, entry) VALUES (?1, ?2, ?3)",
                params![ticket, at, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn ticket_audit(&self, number: &TicketNumber) -> Result<Vec<AuditEntry>, StoreError> {
        let number = number.as_str().to_owned();
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached("SELECT entry FROM audit WHERE ticket = ?1 ORDER BY at, seq")
                .map_err(db)?;
            json_rows(&mut statement, [number])
        })
        .await
    }
}
