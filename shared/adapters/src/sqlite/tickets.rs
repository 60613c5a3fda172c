//! Tickets, their threads and mail ids: the `TicketStore` port.

use super::*;
use ventanilla_domain::Choice;

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
            // Counted and read in this write transaction, so no other opening comes between.
            // (Not with RETURNING, for which SQLite builds a temporary table on every call.)
            execute(tx,
                    "INSERT INTO counters (agency, code, year, last) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT (agency, code, year) DO UPDATE SET last = last + 1",
                    params![draft.agency.as_str(), code, year],
                )
                .map_err(db)?;
            let sequence: i64 = query_row(tx,
                    "SELECT last FROM counters WHERE agency = ?1 AND code = ?2 AND year = ?3",
                    params![draft.agency.as_str(), code, year],
                    |row| row.get(0),
                )
                .map_err(db)?;
            let number = TicketNumber::new(&draft.agency, code, year, sequence as u64);
            let claim = draft.idempotency.clone();
            let mails = draft.mails.clone();
            let (ticket, message) = draft.into_ticket(number);
            write_ticket(tx, None, &ticket)?;
            write_message(tx, &ticket.number, &message)?;
            let keys = search::message_keys(&ticket, &message, true);
            for_search_words(tx, WRITE_WORD, &ticket.number, &keys)?;
            for mail in mails {
                mail_queue::insert(tx, &mail.queued(ticket.number.clone(), ticket.agency.clone()))?;
            }
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
            let items: Vec<Message> = json_rows(
                tx,
                "SELECT message FROM messages
                     WHERE ticket = ?1 AND (?2 IS NULL OR sort_key < ?2)
                     ORDER BY sort_key DESC LIMIT ?3",
                params![&number, before, take],
            )?;
            let mut page = Page::of(items, limit, false, ThreadCursor::of);
            page.items.reverse();
            Ok((ticket, page))
        })
        .await
    }

    async fn update(&self, update: TicketUpdate) -> Result<Ticket, StoreError> {
        self.transaction(move |tx| write_update(tx, update)).await
    }

    async fn update_pair(
        &self,
        first: TicketUpdate,
        second: TicketUpdate,
    ) -> Result<(Ticket, Ticket), StoreError> {
        if first.number == second.number {
            return Err(StoreError::unavailable("a pair of updates of one ticket"));
        }
        self.transaction(move |tx| Ok((write_update(tx, first)?, write_update(tx, second)?)))
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
                    let number = first_text(
                        tx,
                        "SELECT ticket FROM mail_ids WHERE mail_id = ?1",
                        mail_id,
                    )?;
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
            let after = query.after.as_ref();
            let items = json_rows(
                tx,
                sql,
                params![
                    query.agency.as_str(),
                    query.queue.as_str(),
                    query.status.map(|s| s.wire()),
                    after.map(|c| c.last_activity.to_string()),
                    after.map(|c| c.number.as_str().to_owned()),
                    (query.limit + 1) as i64,
                ],
            )?;
            Ok(Page::of(items, query.limit, false, Cursor::after))
        })
        .await
    }

    async fn due_tickets(&self, query: &DueQuery) -> Result<Page<Ticket, DueCursor>, StoreError> {
        let query = query.clone();
        self.transaction(move |tx| {
            let after = query.after.as_ref();
            let items = json_rows(
                tx,
                "SELECT ticket FROM tickets
                 WHERE agency = ?1 AND due_key IS NOT NULL
                   AND (?2 IS NULL OR due_key <= ?2)
                   AND (?3 IS NULL OR (due_key, number) > (?3, ?4))
                   AND (?6 IS NULL OR due_key >= ?6)
                 ORDER BY due_key ASC, number ASC
                 LIMIT ?5",
                params![
                    query.agency.as_str(),
                    query.until.map(|day| day.to_string()),
                    after.map(|c| c.due.to_string()),
                    after.map(|c| c.number.as_str().to_owned()),
                    (query.limit + 1) as i64,
                    query.from.map(|day| day.to_string()),
                ],
            )?;
            Ok(Page::of(items, query.limit, false, DueCursor::after))
        })
        .await
    }

    async fn tickets_to_warn(
        &self,
        query: &DueQuery,
    ) -> Result<Page<TicketNumber, DueCursor>, StoreError> {
        let query = query.clone();
        self.transaction(move |tx| {
            let after = query.after.as_ref();
            let mut statement = tx
                .prepare_cached(
                    "SELECT warn_on, number FROM tickets
                     WHERE agency = ?1 AND warn_on IS NOT NULL
                       AND (?2 IS NULL OR warn_on <= ?2)
                       AND (?3 IS NULL OR (warn_on, number) > (?3, ?4))
                       AND (?6 IS NULL OR warn_on >= ?6)
                     ORDER BY warn_on ASC, number ASC
                     LIMIT ?5",
                )
                .map_err(db)?;
            let rows = statement
                .query_map(
                    params![
                        query.agency.as_str(),
                        query.until.map(|day| day.to_string()),
                        after.map(|c| c.due.to_string()),
                        after.map(|c| c.number.as_str().to_owned()),
                        (query.limit + 1) as i64,
                        query.from.map(|day| day.to_string()),
                    ],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .map_err(db)?;
            let mut found = Vec::new();
            for row in rows {
                let (day, number) = row.map_err(db)?;
                let cursor = DueCursor::from_parts(&day, &number)
                    .map_err(|e| StoreError::unavailable(e.to_string()))?;
                found.push(cursor);
            }
            let page = Page::of(found, query.limit, false, Clone::clone);
            Ok(Page {
                items: page.items.into_iter().map(|c| c.number).collect(),
                next: page.next,
            })
        })
        .await
    }

    async fn search(&self, keys: &[String], limit: usize) -> Result<Vec<TicketNumber>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.transaction(move |tx| {
            let marks = vec!["?"; keys.len()].join(", ");
            let sql = format!(
                "SELECT ticket FROM search_words WHERE word IN ({marks}) GROUP BY ticket
                 HAVING count(DISTINCT word) = {} ORDER BY ticket DESC LIMIT {limit}",
                keys.len()
            );
            let mut statement = tx.prepare(&sql).map_err(db)?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(keys.iter()), |row| {
                    row.get::<_, String>(0)
                })
                .map_err(db)?;
            rows.map(|number| {
                TicketNumber::parse(&number.map_err(db)?).map_err(StoreError::unavailable)
            })
            .collect()
        })
        .await
    }

    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, StoreError> {
        let sql = "SELECT ticket FROM tickets WHERE requester = ?1
                   ORDER BY created_at DESC, number DESC";
        self.documents(sql, &email.match_key()).await
    }

    async fn erase(&self, erasure: &Erasure) -> Result<Ticket, StoreError> {
        let erasure = erasure.clone();
        self.transaction(move |tx| {
            let current = load_ticket(tx, erasure.ticket.number.as_str())?;
            if current.version != erasure.expected_version {
                return Err(StoreError::VersionConflict);
            }
            write_ticket(tx, Some(&current), &erasure.ticket)?;
            execute(
                tx,
                "DELETE FROM search_words WHERE ticket = ?1",
                [erasure.ticket.number.as_str()],
            )
            .map_err(db)?;
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

/// One update inside the caller's transaction: the ticket at its expected version, its
/// message and words, its mails.
fn write_update(tx: &Connection, update: TicketUpdate) -> Result<Ticket, StoreError> {
    let current = load_ticket(tx, update.number.as_str())?;
    if current.version != update.expected_version {
        return Err(StoreError::VersionConflict);
    }
    let next = update.change.apply(&current, update.message.as_ref());
    write_ticket(tx, Some(&current), &next)?;
    move_search_words(tx, &current, &next)?;
    if let Some(message) = &update.message {
        write_message(tx, &next.number, message)?;
        let keys = search::message_keys(&next, message, false);
        for_search_words(tx, WRITE_WORD, &next.number, &keys)?;
    }
    for mail in update.mails {
        mail_queue::insert(tx, &mail.queued(next.number.clone(), next.agency.clone()))?;
    }
    Ok(next)
}
