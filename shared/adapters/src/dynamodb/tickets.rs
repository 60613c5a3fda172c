//! Reading and writing tickets: the `TicketStore` port.

use super::*;
use ventanilla_domain::Choice;

/// How many of a word's tickets one search reads (one query page of small items).
const SEARCH_READ: i32 = 500;
/// At most this many tickets of a rare word are looked up in a common word's items (one
/// `GetItem` each) in one search.
const SEARCH_CHECKS: usize = 100;

impl DynamoStore {
    pub(super) async fn query_tickets(
        &self,
        index: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        filter_status: Option<&str>,
        wanted: Option<usize>,
        forward: bool,
    ) -> Result<(Vec<Ticket>, bool), StoreError> {
        let mut tickets = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take());
            for (name, value) in &values {
                request = request.expression_attribute_values(*name, value.clone());
            }
            // A filter reads attributes a keys-only index does not hold.
            debug_assert!(filter_status.is_none() || index != REQUESTER_INDEX);
            if let Some(status) = filter_status {
                request = request
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status));
            }
            if let Some(wanted) = wanted {
                request = request.limit(i32::try_from(wanted - tickets.len()).unwrap_or(i32::MAX));
            }
            let output = request.send().await.map_err(unavailable)?;
            if index == REQUESTER_INDEX {
                tickets.extend(self.indexed_tickets(index, output.items()).await?);
            } else {
                for item in output.items() {
                    tickets.push(ticket_from_item(item)?);
                }
            }
            let full = wanted.is_some_and(|w| tickets.len() >= w);
            match output.last_evaluated_key {
                Some(last) if !full => start = Some(last),
                more => return Ok((tickets, more.is_some())),
            }
        }
    }

    /// The tickets of a page of `index`'s entries (keys only: GSI2), read from the table in
    /// the entries' order. An entry whose ticket has since moved in the index (erased: its
    /// address key changed) is left out: the index holds the ticket where it is now, and
    /// reading it here would put it out of order.
    async fn indexed_tickets(
        &self,
        index: &str,
        entries: &[Item],
    ) -> Result<Vec<Ticket>, StoreError> {
        let keys: Vec<Item> = entries
            .iter()
            .map(|entry| Ok(key(partition_key(entry)?.to_owned(), META)))
            .collect::<Result<_, StoreError>>()?;
        let found = self.batch_get(&keys).await?;
        let (hash, range) = (format!("{index}PK"), format!("{index}SK"));
        let mut tickets = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(item) = found.get(partition_key(entry)?) else {
                continue;
            };
            if item.get(&hash) == entry.get(&hash) && item.get(&range) == entry.get(&range) {
                tickets.push(ticket_from_item(item)?);
            }
        }
        Ok(tickets)
    }
}

/// The key condition of a query of `index` (GSI3 or GSI4: keys `<day>#<number>` under
/// `pk`) for `query`'s days and cursor, with its values; `None` when nothing can match. Every
/// key of a day sorts below `<day>$`, and every key after `<key>` at or above `<key> ` (ticket
/// numbers are letters, digits and dashes).
fn by_day(
    query: &DueQuery,
    index: &str,
    pk: String,
) -> Option<(String, Vec<(&'static str, AttributeValue)>)> {
    let mut values = vec![(":pk", s(pk))];
    let after = query
        .after
        .as_ref()
        .map(|after| format!("{} ", due_sk(after.due, &after.number)));
    // Every key of a day sorts at or above the bare day.
    let from = query.from.map(|day| day.to_string());
    let after = match (after, from) {
        (Some(after), Some(from)) => Some(after.max(from)),
        (after, from) => after.or(from),
    };
    let until = query.until.map(|day| format!("{day}$"));
    let range = match (after, until) {
        // DynamoDB refuses a BETWEEN whose bounds are reversed: nothing is between them.
        (Some(after), Some(until)) if after > until => return None,
        (Some(after), Some(until)) => {
            values.push((":after", s(after)));
            values.push((":until", s(until)));
            " AND {index}SK BETWEEN :after AND :until"
        }
        (Some(after), None) => {
            values.push((":after", s(after)));
            " AND {index}SK >= :after"
        }
        (None, Some(until)) => {
            values.push((":until", s(until)));
            " AND {index}SK <= :until"
        }
        (None, None) => "",
    };
    let condition = format!("{index}PK = :pk{}", range.replace("{index}", index));
    Some((condition, values))
}

impl TicketStore for DynamoStore {
    async fn open(&self, draft: TicketDraft) -> Result<Opened, StoreError> {
        let opened = {
            let _turn = self.opening.lock().await;
            // Boxed: each try holds a transaction's items, and callers' futures nest it deeply.
            until_won(OPENING, || Box::pin(self.try_open(&draft))).await?
        };
        // After its turn: the next opening need not wait for these.
        if let Opened::Created(ticket, message) = &opened {
            self.write_words(ticket, message, true).await;
        }
        Ok(opened)
    }

    async fn ticket(&self, number: &TicketNumber) -> Result<Ticket, StoreError> {
        let item = self
            .get(key(ticket_pk(number), META))
            .await?
            .ok_or(StoreError::NotFound)?;
        ticket_from_item(&item)
    }

    async fn thread_page(
        &self,
        number: &TicketNumber,
        query: &ThreadQuery,
    ) -> Result<(Ticket, Page<Message, ThreadCursor>), StoreError> {
        if query.before.is_none() && query.limit == usize::MAX {
            // The whole thread: one query reads the META item and every message (`META`
            // sorts before `MSG#`), page after page.
            let items = self.all_items(None, ticket_pk(number)).await?;
            let meta = items
                .iter()
                .find(|item| matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk == META))
                .ok_or(StoreError::NotFound)?;
            let ticket = ticket_from_item(meta)?;
            let items = items
                .iter()
                .filter_map(message_from_item)
                .collect::<Result<_, _>>()?;
            return Ok((ticket, Page { items, next: None }));
        }
        // A page: newest first, down to the META item when the thread is that short (one
        // query); one more message than asked tells whether older ones exist.
        let mut condition = "PK = :pk".to_owned();
        let mut request = self
            .client
            .get()
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(ticket_pk(number)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(query.limit.saturating_add(2)).unwrap_or(i32::MAX));
        if let Some(before) = &query.before {
            condition.push_str(" AND SK < :before");
            request = request
                .expression_attribute_values(":before", s(format!("MSG#{}", before.as_str())));
        }
        let output = request
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(unavailable)?;
        let truncated = output.last_evaluated_key.is_some();
        let mut ticket = None;
        let mut items = Vec::new();
        for item in output.items.unwrap_or_default() {
            if matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk == META) {
                ticket = Some(ticket_from_item(&item)?);
            } else if let Some(read) = message_from_item(&item) {
                items.push(read?);
            }
        }
        let ticket = match ticket {
            Some(ticket) => ticket,
            // A long thread: its META item by a second Query, not a GetItem, so that the
            // functions that read threads need no other grant than Query (ticket-status).
            None => {
                let meta = self
                    .client
                    .get()
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk AND SK = :meta")
                    .expression_attribute_values(":pk", s(ticket_pk(number)))
                    .expression_attribute_values(":meta", s(META))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let item = meta
                    .items
                    .and_then(|mut items| items.pop())
                    .ok_or(StoreError::NotFound)?;
                ticket_from_item(&item)?
            }
        };
        // Older messages exist when one more came back than asked, or DynamoDB stopped
        // (1 MB) before reaching the META item.
        let mut page = Page::of(items, query.limit, truncated, ThreadCursor::of);
        page.items.reverse();
        Ok((ticket, page))
    }

    async fn update(&self, update: TicketUpdate) -> Result<Ticket, StoreError> {
        let retries = Retries {
            gave_up: "the update kept conflicting with other transactions",
            ..CONFLICTED
        };
        until_won(retries, || Box::pin(self.try_update(&update))).await
    }

    async fn update_pair(
        &self,
        first: TicketUpdate,
        second: TicketUpdate,
    ) -> Result<(Ticket, Ticket), StoreError> {
        if first.number == second.number {
            return Err(StoreError::unavailable("a pair of updates of one ticket"));
        }
        let retries = Retries {
            gave_up: "the pair of updates kept conflicting with other transactions",
            ..CONFLICTED
        };
        until_won(retries, || Box::pin(self.try_update_pair(&first, &second))).await
    }

    async fn add_event(&self, number: &TicketNumber, event: &Message) -> Result<(), StoreError> {
        let retries = Retries {
            gave_up: "the event kept conflicting with other transactions",
            ..CONFLICTED
        };
        until_won(retries, || self.try_add_event(number, event)).await
    }

    async fn link_mail_id(
        &self,
        number: &TicketNumber,
        message: MessageId,
        mail_id: &MailMessageId,
    ) -> Result<(), StoreError> {
        // The ticket read, then the id written on its own, not both in a transaction: no
        // ticket item is ever deleted, so one read now is there when the id is written, and
        // a read (one unit at a fifth of a write's price) and a write cost less than the four
        // write units of a condition check and a put in a transaction (issue 25).
        if self.get(key(ticket_pk(number), META)).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let item = mail_id_item(number, message, mail_id);
        match self
            .write_if(item, "attribute_not_exists(PK)", None, None)
            .await?
        {
            Conditional::Written => Ok(()),
            Conditional::Refused => Err(StoreError::AlreadyExists),
            Conditional::Busy => Err(StoreError::unavailable(
                "a transaction held the sent mail's id",
            )),
        }
    }

    async fn find_by_mail_ids(
        &self,
        mail_ids: &[MailMessageId],
    ) -> Result<Vec<Option<TicketNumber>>, StoreError> {
        let wanted: Vec<Item> = mail_ids
            .iter()
            .map(|id| key(format!("MAILID#{}", id.as_str()), META))
            .collect();
        let found = self.batch_get(&wanted).await?;
        wanted
            .iter()
            .map(|item| {
                match found
                    .get(partition_key(item)?)
                    .and_then(|i| i.get("ticket"))
                {
                    Some(AttributeValue::S(number)) => {
                        Ok(Some(TicketNumber::parse(number).map_err(unavailable)?))
                    }
                    Some(_) => Err(StoreError::unavailable("mail id item without its ticket")),
                    None => Ok(None),
                }
            })
            .collect()
    }

    async fn queue(&self, query: &QueueQuery) -> Result<Page<Ticket>, StoreError> {
        let mut values = vec![(
            ":pk",
            s(queue_pk(query.agency.as_str(), query.queue.as_str())),
        )];
        let condition = match &query.after {
            Some(after) => {
                values.push((":after", s(activity_sk(after.last_activity, &after.number))));
                if query.oldest_first {
                    "GSI1PK = :pk AND GSI1SK > :after"
                } else {
                    "GSI1PK = :pk AND GSI1SK < :after"
                }
            }
            None => "GSI1PK = :pk",
        };
        let (items, _) = self
            .query_tickets(
                QUEUE_INDEX,
                condition,
                values,
                query.status.map(|s| s.wire()),
                Some(query.limit + 1),
                query.oldest_first,
            )
            .await?;
        Ok(Page::of(items, query.limit, false, Cursor::after))
    }

    async fn due_tickets(&self, query: &DueQuery) -> Result<Page<Ticket, DueCursor>, StoreError> {
        let Some((condition, values)) = by_day(query, "GSI3", due_pk(query.agency.as_str())) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let (items, _) = self
            .query_tickets(
                DUE_INDEX,
                &condition,
                values,
                None,
                Some(query.limit + 1),
                true,
            )
            .await?;
        Ok(Page::of(items, query.limit, false, DueCursor::after))
    }

    async fn tickets_to_warn(
        &self,
        query: &DueQuery,
    ) -> Result<Page<TicketNumber, DueCursor>, StoreError> {
        let pk = format!("WARN#{}", query.agency.as_str());
        let Some((condition, values)) = by_day(query, "GSI4", pk) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut request = self
            .client
            .get()
            .query()
            .table_name(&self.table)
            .index_name(WARNING_INDEX)
            .key_condition_expression(condition)
            .limit(i32::try_from(query.limit + 1).unwrap_or(i32::MAX));
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        let output = request.send().await.map_err(unavailable)?;
        let mut found = Vec::new();
        for item in output.items() {
            let key = match item.get("GSI4SK") {
                Some(AttributeValue::S(key)) => key,
                _ => return Err(StoreError::unavailable("a warning entry without its key")),
            };
            let cursor = key
                .split_once('#')
                .and_then(|(day, number)| DueCursor::from_parts(day, number).ok())
                .ok_or_else(|| StoreError::unavailable("a warning entry with a bad key"))?;
            found.push(cursor);
        }
        let more = output.last_evaluated_key.is_some();
        let page = Page::of(found, query.limit, more, Clone::clone);
        Ok(Page {
            items: page.items.into_iter().map(|c| c.number).collect(),
            next: page.next,
        })
    }

    async fn search(&self, keys: &[String], limit: usize) -> Result<Vec<TicketNumber>, StoreError> {
        // Each word's tickets, the highest numbers first, at most SEARCH_READ of them.
        let mut lists: Vec<(&String, Vec<String>, bool)> = Vec::with_capacity(keys.len());
        for word in keys {
            let output = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(word_pk(word)))
                .scan_index_forward(false)
                .limit(SEARCH_READ)
                .send()
                .await
                .map_err(unavailable)?;
            let whole = output.last_evaluated_key.is_none();
            let numbers: Vec<String> = output
                .items
                .unwrap_or_default()
                .iter()
                .filter_map(|item| match item.get("SK") {
                    Some(AttributeValue::S(number)) => Some(number.clone()),
                    _ => None,
                })
                .collect();
            lists.push((word, numbers, whole));
        }
        // Led by the shortest list read whole (a rare word): a ticket of it that a common
        // word's first numbers do not reach is asked for directly, within a budget. Without
        // one, the lists as read.
        lists.sort_by_key(|(_, numbers, whole)| (!whole, numbers.len()));
        let Some(((_, lead, _), rest)) = lists.split_first() else {
            return Ok(Vec::new());
        };
        let mut budget = SEARCH_CHECKS;
        let mut found = Vec::new();
        'candidates: for number in lead {
            if found.len() >= limit {
                break;
            }
            for (word, numbers, whole) in rest {
                if numbers.contains(number) {
                    continue;
                }
                if *whole || budget == 0 {
                    continue 'candidates;
                }
                budget -= 1;
                if self.get(key(word_pk(word), number)).await?.is_none() {
                    continue 'candidates;
                }
            }
            found.extend(TicketNumber::parse(number).ok());
        }
        Ok(found)
    }

    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, StoreError> {
        let values = vec![(":pk", s(format!("REQUESTER#{}", email.match_key())))];
        let (tickets, _) = self
            .query_tickets(REQUESTER_INDEX, "GSI2PK = :pk", values, None, None, false)
            .await?;
        Ok(tickets)
    }

    async fn erase(&self, erasure: &Erasure) -> Result<Ticket, StoreError> {
        let retries = Retries {
            gave_up: "the erasure kept conflicting with other transactions",
            ..CONFLICTED
        };
        until_won(retries, || self.try_erase(erasure)).await
    }
}
