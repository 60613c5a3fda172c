//! The conditional writes of a ticket: opening (counter, ticket, first message, ids and
//! idempotency claim in one transaction), updates, events and erasure.

use super::*;

/// The condition of a write that must not overwrite a newer ticket.
const AT_VERSION: &str = "#version = :seen";

fn version_name() -> HashMap<String, String> {
    HashMap::from([("#version".to_owned(), "version".to_owned())])
}

fn seen_version(seen: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([(":seen".to_owned(), n(seen))])
}

impl DynamoStore {
    /// Writes `items` all or none. `Ok(Err(_))`: a condition or a concurrent transaction
    /// cancelled it, and the reasons say which item.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let result = self
            .client
            .get()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    Ok(Err(Cancelled {
                        codes: cancelled
                            .cancellation_reasons()
                            .iter()
                            .map(|r| r.code().unwrap_or("None").to_owned())
                            .collect(),
                        answer: aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
                    }))
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    /// What adds a message to a thread: the message and each of its mail ids, none of
    /// which may exist yet.
    fn message_items(
        &self,
        number: &TicketNumber,
        message: &Message,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![put_if_absent(&self.table, message_item(number, message)?)?];
        for mail_id in message.mail_ids() {
            items.push(put_if_absent(
                &self.table,
                mail_id_item(number, message.id, mail_id),
            )?);
        }
        Ok(items)
    }

    /// The search words a message adds to its ticket (`rules::search`), once the message is
    /// stored: one item per word and ticket, written over itself when the word comes again,
    /// 25 to a request. Outside the message's transaction (half its cost, and no longer
    /// transactions racing for a ticket's number): a word that could not be written is
    /// missing from the search, and logged; the message is stored all the same.
    pub(super) async fn write_words(&self, ticket: &Ticket, message: &Message, first: bool) {
        let puts: Vec<WriteRequest> = search::message_keys(ticket, message, first)
            .iter()
            .filter_map(|word| {
                let mut item = key(word_pk(word), ticket.number.as_str());
                item.insert("ticket".into(), s(ticket.number.as_str()));
                let put = PutRequest::builder().set_item(Some(item)).build().ok()?;
                Some(WriteRequest::builder().put_request(put).build())
            })
            .collect();
        let missed = self.batch_write(puts).await;
        if missed > 0 {
            tracing::error!(ticket = %ticket.number, missed, "search words not written: the ticket is not found by them");
        }
    }

    /// After a change of the agencies that find a ticket (a transfer, a referral kept), its
    /// words for them (`rules::search::moved_keys`), from its whole thread; like any word,
    /// one that could not be written is logged and missing from that agency's search.
    pub(super) async fn move_words(&self, before: &Ticket, after: &Ticket) {
        if !search::searched_by_changed(before, after) {
            return;
        }
        let number = &after.number;
        let thread = match self.thread(number).await {
            Ok((_, thread)) => thread,
            Err(error) => {
                tracing::error!(%error, ticket = %number, "a moved ticket's words not moved");
                return;
            }
        };
        let (added, removed) = search::moved_keys(before, after, &thread);
        let deletes = removed.iter().filter_map(|word| {
            let delete = DeleteRequest::builder()
                .set_key(Some(key(word_pk(word), number.as_str())))
                .build()
                .ok()?;
            Some(WriteRequest::builder().delete_request(delete).build())
        });
        let puts = added.iter().filter_map(|word| {
            let mut item = key(word_pk(word), number.as_str());
            item.insert("ticket".into(), s(number.as_str()));
            let put = PutRequest::builder().set_item(Some(item)).build().ok()?;
            Some(WriteRequest::builder().put_request(put).build())
        });
        let missed = self.batch_write(deletes.chain(puts).collect()).await;
        if missed > 0 {
            tracing::error!(ticket = %number, missed, "a moved ticket's words not all moved");
        }
    }

    /// Writes `requests` 25 to a request, sending again what DynamoDB leaves unprocessed
    /// (throttled) a little later; how many could not be written.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> usize {
        let mut missed = 0;
        for chunk in requests.chunks(25) {
            let mut requests = chunk.to_vec();
            // What DynamoDB leaves unprocessed (throttled) is sent again, a little later.
            for wait in [0, 50, 200, 800] {
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(wait)).await;
                let written = self
                    .client
                    .get()
                    .batch_write_item()
                    .request_items(&self.table, requests.clone())
                    .send()
                    .await;
                match written {
                    Ok(output) => {
                        requests = output
                            .unprocessed_items
                            .and_then(|mut left| left.remove(&self.table))
                            .unwrap_or_default();
                    }
                    Err(error) => {
                        tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&error), "search words not written yet; again");
                    }
                }
            }
            missed += requests.len();
        }
        missed
    }

    /// A transaction's first item: the ticket exists (its cancellation code comes first).
    pub(super) fn ticket_exists(
        &self,
        number: &TicketNumber,
    ) -> Result<TransactWriteItem, StoreError> {
        self.condition_on_ticket(number, "attribute_exists(PK)", None)
    }

    /// A check on the ticket item, without writing it; `version`: the one it must have.
    fn condition_on_ticket(
        &self,
        number: &TicketNumber,
        condition: &str,
        version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(ticket_pk(number), META)))
            .condition_expression(condition)
            .set_expression_attribute_names(version.map(|_| version_name()))
            .set_expression_attribute_values(version.map(seen_version))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The ticket written, if it still has the version `seen`.
    fn put_ticket_at(&self, ticket: &Ticket, seen: u64) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(ticket_item(ticket)?))
            .condition_expression(AT_VERSION)
            .set_expression_attribute_names(Some(version_name()))
            .set_expression_attribute_values(Some(seen_version(seen)))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// [`Self::put_ticket_at`] outside a transaction. A put whose first try landed but whose
    /// answer was lost is tried again by the SDK and finds its own item: that is written, not
    /// a conflict (a transaction gets this from the idempotency token the SDK gives it; a
    /// PutItem has none). The item carries a token of this call (`w`, 16 bytes), so another
    /// writer's identical change from the same version still loses.
    async fn put_ticket_alone(
        &self,
        ticket: &Ticket,
        seen: u64,
    ) -> Result<Conditional, StoreError> {
        let mut item = ticket_item(ticket)?;
        item.insert(
            "w".into(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                uuid::Uuid::new_v4().as_bytes().to_vec(),
            )),
        );
        let outcome = self
            .write_if(
                item.clone(),
                AT_VERSION,
                Some(version_name()),
                Some(seen_version(seen)),
            )
            .await?;
        if outcome == Conditional::Refused
            && self
                .get(key(ticket_pk(&ticket.number), META))
                .await?
                .as_ref()
                == Some(&item)
        {
            return Ok(Conditional::Written);
        }
        Ok(outcome)
    }

    /// A ticket an idempotency key still points to.
    pub(super) async fn replay(&self, draft: &TicketDraft) -> Result<Option<Ticket>, StoreError> {
        let Some(claim) = &draft.idempotency else {
            return Ok(None);
        };
        let Some(item) = self
            .get(key(format!("IDEMPOTENCY#{}", claim.key.as_str()), META))
            .await?
        else {
            return Ok(None);
        };
        let live = matches!(item.get("expires_at"), Some(AttributeValue::S(at)) if *at > draft.opened_at.to_string());
        let Some(AttributeValue::S(number)) = item.get("ticket").filter(|_| live) else {
            return Ok(None);
        };
        let number = TicketNumber::parse(number).map_err(unavailable)?;
        Ok(Some(self.ticket(&number).await?))
    }

    pub(super) async fn try_open(&self, draft: &TicketDraft) -> Result<Option<Opened>, StoreError> {
        if let Some(first) = self.replay(draft).await? {
            return Ok(Some(Opened::Replayed(first)));
        }
        let code = draft.category.number_code();
        let year = draft.opened_at.year();
        let counter_key = key(format!("COUNTER#{}#{code}#{year}", draft.agency), META);
        let last: u64 = match self.get(counter_key.clone()).await? {
            Some(item) => match item.get("last") {
                Some(AttributeValue::N(v)) => v.parse().map_err(unavailable)?,
                _ => return Err(StoreError::unavailable("counter item without its value")),
            },
            None => 0,
        };
        let number = TicketNumber::new(&draft.agency, code, year, last + 1);
        let (ticket, message) = draft.clone().into_ticket(number.clone());
        let mails: Vec<_> = draft
            .mails
            .iter()
            .map(|mail| mail.clone().queued(number.clone(), ticket.agency.clone()))
            .collect();

        let mut counter = counter_key;
        counter.insert("last".into(), n(last + 1));
        let counter_condition = if last == 0 {
            "attribute_not_exists(PK)"
        } else {
            "#last = :last"
        };
        let mut counter_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(counter))
            .condition_expression(counter_condition);
        if last > 0 {
            counter_put = counter_put
                .expression_attribute_names("#last", "last")
                .expression_attribute_values(":last", n(last));
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .put(counter_put.build().map_err(unavailable)?)
                .build(),
            put_if_absent(&self.table, ticket_item(&ticket)?)?,
        ];
        let thread = self.message_items(&number, &message)?;
        // Item 2 is the message itself; a queued mail's id is as new as a mail id.
        let mail_ids = 3..2 + thread.len() + mails.len();
        items.extend(thread);
        for mail in &mails {
            items.push(put_if_absent(
                &self.table,
                mail_queue::queued_mail_item(mail)?,
            )?);
        }
        let idempotency_index = items.len();
        if let Some(claim) = &draft.idempotency {
            let mut item = key(format!("IDEMPOTENCY#{}", claim.key.as_str()), META);
            item.insert("ticket".into(), s(number.as_str()));
            item.insert("expires_at".into(), s(claim.expires_at.to_string()));
            item.insert(TTL_ATTRIBUTE.into(), n(claim.expires_at.unix_seconds()));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR expires_at < :now")
                .expression_attribute_values(":now", s(draft.opened_at.to_string()))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        // The figures last: their updates hold no condition.
        items.extend(self.stats_items(&stats::delta(None, &ticket))?);
        match self.transact(items).await? {
            Ok(()) => Ok(Some(Opened::Created(ticket, message))),
            Err(cancelled) => {
                if cancelled.any_failed(mail_ids) {
                    return Err(StoreError::AlreadyExists);
                }
                // Lost the number (or the key) to a concurrent opening: read again and retry.
                if cancelled.failed(0)
                    || cancelled.failed(1)
                    || cancelled.failed(idempotency_index)
                    || cancelled.conflicted()
                {
                    return Ok(None);
                }
                Err(cancelled.unexpected())
            }
        }
    }

    /// An update's ticket as read and as it will be, and its transaction's items: the
    /// ticket at its expected version first, then its message's and mails'.
    async fn update_items(
        &self,
        update: &TicketUpdate,
    ) -> Result<(Ticket, Ticket, Vec<TransactWriteItem>), StoreError> {
        let current = self.ticket(&update.number).await?;
        if current.version != update.expected_version {
            return Err(StoreError::VersionConflict);
        }
        let next = update.change.apply(&current, update.message.as_ref());
        let mut items = vec![self.put_ticket_at(&next, update.expected_version)?];
        if let Some(message) = &update.message {
            items.extend(self.message_items(&next.number, message)?);
        }
        for mail in &update.mails {
            let queued = mail
                .clone()
                .queued(next.number.clone(), next.agency.clone());
            items.push(put_if_absent(
                &self.table,
                mail_queue::queued_mail_item(&queued)?,
            )?);
        }
        Ok((current, next, items))
    }

    /// What follows an update's transaction: its words (`rules::search`).
    async fn after_update(&self, update: &TicketUpdate, current: &Ticket, next: &Ticket) {
        self.move_words(current, next).await;
        if let Some(message) = &update.message {
            self.write_words(next, message, false).await;
        }
    }

    pub(super) async fn try_update(
        &self,
        update: &TicketUpdate,
    ) -> Result<Option<Ticket>, StoreError> {
        let (current, next, mut items) = self.update_items(update).await?;
        items.extend(self.stats_items(&stats::delta(Some(&current), &next))?);
        if items.len() == 1 {
            // The ticket alone (an assignment, a priority; no message, mail or figure): one
            // conditional write, which costs half the same write in a transaction.
            return match self
                .put_ticket_alone(&next, update.expected_version)
                .await?
            {
                Conditional::Written => {
                    self.after_update(update, &current, &next).await;
                    Ok(Some(next))
                }
                Conditional::Refused => Err(StoreError::VersionConflict),
                Conditional::Busy => Ok(None),
            };
        }
        match self.transact(items).await? {
            Ok(()) => {
                self.after_update(update, &current, &next).await;
                Ok(Some(next))
            }
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::VersionConflict),
            Err(cancelled) if cancelled.any_failed(1..) => Err(StoreError::AlreadyExists),
            Err(cancelled) if cancelled.conflicted() => Ok(None),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    /// One go at two updates in one transaction (`TicketStore::update_pair`).
    pub(super) async fn try_update_pair(
        &self,
        first: &TicketUpdate,
        second: &TicketUpdate,
    ) -> Result<Option<(Ticket, Ticket)>, StoreError> {
        let (first_was, first_next, mut items) = self.update_items(first).await?;
        let (second_was, second_next, second_items) = self.update_items(second).await?;
        let second_at = items.len();
        items.extend(second_items);
        // One tally for both: a transaction may not name an item twice.
        let mut figures = stats::delta(Some(&first_was), &first_next);
        figures.merge(&stats::delta(Some(&second_was), &second_next), 1);
        items.extend(self.stats_items(&figures)?);
        match self.transact(items).await? {
            Ok(()) => {
                self.after_update(first, &first_was, &first_next).await;
                self.after_update(second, &second_was, &second_next).await;
                Ok(Some((first_next, second_next)))
            }
            Err(cancelled) if cancelled.failed(0) || cancelled.failed(second_at) => {
                Err(StoreError::VersionConflict)
            }
            Err(cancelled) if cancelled.any_failed(1..) => Err(StoreError::AlreadyExists),
            Err(cancelled) if cancelled.conflicted() => Ok(None),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    /// One go at adding an event: the ticket must exist, the message and its mail ids must
    /// not; the ticket item itself is not written.
    pub(super) async fn try_add_event(
        &self,
        number: &TicketNumber,
        event: &Message,
    ) -> Result<Option<()>, StoreError> {
        let mut items = vec![self.ticket_exists(number)?];
        items.extend(self.message_items(number, event)?);
        match self.transact(items).await? {
            Ok(()) => Ok(Some(())),
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::NotFound),
            Err(cancelled) if cancelled.any_failed(1..) => Err(StoreError::AlreadyExists),
            Err(cancelled) if cancelled.conflicted() => Ok(None),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    /// One go at an erasure: the thread in transactions of up to 99 messages, each
    /// conditional on the ticket's version, the ticket itself in the last one. A lost
    /// condition stops it (`VersionConflict`); what was written already is erased text,
    /// written again by the next go.
    pub(super) async fn try_erase(&self, erasure: &Erasure) -> Result<Option<Ticket>, StoreError> {
        const PER_TRANSACTION: usize = 99;
        let number = &erasure.ticket.number;
        // First the words, read from the thread as it still is: when this fails the ticket is
        // not erased yet, and the erasure tried again finds the same words.
        let deletes: Vec<WriteRequest> = erasure
            .search_keys
            .iter()
            .filter_map(|word| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key(word_pk(word), number.as_str())))
                    .build()
                    .ok()?;
                Some(WriteRequest::builder().delete_request(delete).build())
            })
            .collect();
        let left = self.batch_write(deletes).await;
        if left > 0 {
            return Err(StoreError::unavailable(format!(
                "{left} search words of the ticket could not be deleted"
            )));
        }
        let batches = erasure.messages.len().div_ceil(PER_TRANSACTION).max(1);
        for batch in 0..batches {
            let first = if batch + 1 == batches {
                self.put_ticket_at(&erasure.ticket, erasure.expected_version)?
            } else {
                self.condition_on_ticket(number, AT_VERSION, Some(erasure.expected_version))?
            };
            let mut items = vec![first];
            for message in erasure
                .messages
                .iter()
                .skip(batch * PER_TRANSACTION)
                .take(PER_TRANSACTION)
            {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(message_item(number, message)?))
                    .build()
                    .map_err(unavailable)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            match self.transact(items).await? {
                Ok(()) => {}
                Err(cancelled) if cancelled.failed(0) => return Err(StoreError::VersionConflict),
                Err(cancelled) if cancelled.conflicted() => return Ok(None),
                Err(cancelled) => return Err(cancelled.unexpected()),
            }
        }
        Ok(Some(erasure.ticket.clone()))
    }
}
