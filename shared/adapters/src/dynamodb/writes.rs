//! The conditional writes of a ticket: opening (counter, ticket, first message, ids and
//! idempotency claim in one transaction), updates, events and erasure.

use super::*;

impl DynamoStore {
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
            put_if_absent(&self.table, message_item(&number, &message)?)?,
        ];
        let mail_ids = message.mail_ids();
        for mail_id in mail_ids {
            items.push(put_if_absent(
                &self.table,
                mail_id_item(&number, message.id, mail_id),
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

        match self
            .client
            .get()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Some(Opened::Created(ticket, message))),
            Err(error) => {
                let Some(codes) = cancellation_codes(&error) else {
                    return Err(unavailable(error));
                };
                let mail_id_taken = (3..3 + mail_ids.len()).any(|i| failed(&codes, i));
                if mail_id_taken {
                    return Err(StoreError::AlreadyExists);
                }
                // Lost the number (or the key) to a concurrent opening: read again and retry.
                if failed(&codes, 0)
                    || failed(&codes, 1)
                    || failed(&codes, idempotency_index)
                    || conflicted(&codes)
                {
                    return Ok(None);
                }
                Err(StoreError::unavailable(format!(
                    "transaction cancelled: {codes:?}"
                )))
            }
        }
    }

    pub(super) async fn try_update(
        &self,
        update: &TicketUpdate,
    ) -> Result<Option<Ticket>, StoreError> {
        let current = self.ticket(&update.number).await?;
        if current.version != update.expected_version {
            return Err(StoreError::VersionConflict);
        }
        let next = update.change.apply(&current, update.message.as_ref());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(ticket_item(&next)?))
            .condition_expression("#version = :seen")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":seen", n(update.expected_version))
            .build()
            .map_err(unavailable)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(message) = &update.message {
            items.push(put_if_absent(
                &self.table,
                message_item(&next.number, message)?,
            )?);
            for mail_id in message.mail_ids() {
                items.push(put_if_absent(
                    &self.table,
                    mail_id_item(&next.number, message.id, mail_id),
                )?);
            }
        }
        match self
            .client
            .get()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Some(next)),
            Err(error) => {
                let Some(codes) = cancellation_codes(&error) else {
                    return Err(unavailable(error));
                };
                if failed(&codes, 0) {
                    return Err(StoreError::VersionConflict);
                }
                if codes.iter().skip(1).any(|c| c == "ConditionalCheckFailed") {
                    return Err(StoreError::AlreadyExists);
                }
                if conflicted(&codes) {
                    return Ok(None);
                }
                Err(StoreError::unavailable(format!(
                    "transaction cancelled: {codes:?}"
                )))
            }
        }
    }

    /// A transaction's first item: the ticket exists (its cancellation code comes first).
    pub(super) fn ticket_exists(
        &self,
        number: &TicketNumber,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(ticket_pk(number), META)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// One go at adding an event: the ticket must exist, the message and its mail ids must
    /// not; the ticket item itself is not written.
    pub(super) async fn try_add_event(
        &self,
        number: &TicketNumber,
        event: &Message,
    ) -> Result<Option<()>, StoreError> {
        let ticket_exists = self.ticket_exists(number)?;
        let mut items = vec![
            ticket_exists,
            put_if_absent(&self.table, message_item(number, event)?)?,
        ];
        for mail_id in event.mail_ids() {
            items.push(put_if_absent(
                &self.table,
                mail_id_item(number, event.id, mail_id),
            )?);
        }
        match self
            .client
            .get()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Some(())),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if failed(&codes, 0) => Err(StoreError::NotFound),
                Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => {
                    Err(StoreError::AlreadyExists)
                }
                Some(codes) if conflicted(&codes) => Ok(None),
                _ => Err(unavailable(error)),
            },
        }
    }

    /// One go at an erasure: the thread in transactions of up to 99 messages, each
    /// conditional on the ticket's version, the ticket itself in the last one. A lost
    /// condition stops it (`VersionConflict`); what was written already is erased text,
    /// written again by the next go.
    pub(super) async fn try_erase(&self, erasure: &Erasure) -> Result<Option<Ticket>, StoreError> {
        const PER_TRANSACTION: usize = 99;
        let number = &erasure.ticket.number;
        let batches = erasure.messages.len().div_ceil(PER_TRANSACTION).max(1);
        for batch in 0..batches {
            let condition = "#version = :seen";
            let (names, values) = (
                HashMap::from([("#version".to_owned(), "version".to_owned())]),
                HashMap::from([(":seen".to_owned(), n(erasure.expected_version))]),
            );
            let first = if batch + 1 == batches {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(ticket_item(&erasure.ticket)?))
                    .condition_expression(condition)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
                    .build()
                    .map_err(unavailable)?;
                TransactWriteItem::builder().put(put).build()
            } else {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(ticket_pk(number), META)))
                    .condition_expression(condition)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
                    .build()
                    .map_err(unavailable)?;
                TransactWriteItem::builder().condition_check(check).build()
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
            let result = self
                .client
                .get()
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            if let Err(error) = result {
                return match cancellation_codes(&error) {
                    Some(codes) if failed(&codes, 0) => Err(StoreError::VersionConflict),
                    Some(codes) if conflicted(&codes) => Ok(None),
                    _ => Err(unavailable(error)),
                };
            }
        }
        Ok(Some(erasure.ticket.clone()))
    }
}
