//! Tickets in one DynamoDB table (single-table design).
//!
//! | item            | PK                                  | SK         | more                                   |
//! |-----------------|-------------------------------------|------------|----------------------------------------|
//! | ticket          | `TICKET#<number>`                   | `META`     | GSI1 queue by activity, GSI2 requester |
//! | message         | `TICKET#<number>`                   | `MSG#<at>#<id>` |                                   |
//! | number counter  | `COUNTER#<agency>#<code>#<year>`    | `META`     | `last`                                 |
//! | mail Message-ID | `MAILID#<message-id>`               | `META`     | `ticket`, `message`                    |
//! | idempotency key | `IDEMPOTENCY#<key>`                 | `META`     | `ticket`, `expires_at`, TTL `ttl`      |
//! | agent           | `AGENT#<id>`                        | `META`     | GSI1 `AGENTS#<agency>` by id           |
//! | agent token     | `TOKEN#<sha-256 of the token>`      | `META`     | `agent`                                |
//! | agency          | `AGENCY#<code>`                     | `META`     | GSI1 `AGENCIES` by code                |
//! | audit entry     | `AUDIT#<number>` (or `AUDIT#AGENTS`) | `<at>#<uuid>` | `entry`                             |
//!
//! Opening a ticket writes the counter, the ticket, its first message and its mail ids in
//! one transaction conditional on the counter value read just before: a lost race is
//! retried, and the counter never moves without its ticket (no duplicates, no gaps).

use std::collections::HashMap;
use std::time::Duration;

use crate::agency_cache::AgencyCache;
use crate::aws::OnFirstUse;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};
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
use ventanilla_domain::{AgencyCode, AgentId};
use ventanilla_domain::{Email, Message, Ticket, TicketNumber, Timestamp};

use ventanilla_domain::retry::{backoff, until_won};

type Item = HashMap<String, AttributeValue>;

const META: &str = "META";
pub const QUEUE_INDEX: &str = "GSI1";
pub const REQUESTER_INDEX: &str = "GSI2";
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Losing the race for a number is normal under load; give up only after this many tries.
const MAX_OPEN_ATTEMPTS: u32 = 60;
const MAX_UPDATE_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: OnFirstUse<Client>,
    table: String,
    /// Openings from one process take turns. A Lambda instance serves one event at a time,
    /// so this costs nothing there; where one process opens many tickets at once (the load
    /// tests, a batch import), letting them all race for the same counter would waste the
    /// table's capacity on transactions bound to fail. Other processes still race, and the
    /// conditional transaction decides.
    opening: std::sync::Arc<tokio::sync::Mutex<()>>,
    agencies: AgencyCache,
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn ticket_pk(number: &TicketNumber) -> String {
    format!("TICKET#{number}")
}

fn queue_pk(agency: &str, queue: &str) -> String {
    format!("QUEUE#{agency}#{queue}")
}

fn activity_sk(at: Timestamp, number: &TicketNumber) -> String {
    format!("{at}#{number}")
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// What DynamoDB said, whole (the SDK's own Display is only "service error").
fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

fn ticket_item(ticket: &Ticket) -> Result<Item, StoreError> {
    let mut item = key(ticket_pk(&ticket.number), META);
    item.insert(
        "GSI1PK".into(),
        s(queue_pk(ticket.agency.as_str(), ticket.queue.as_str())),
    );
    item.insert(
        "GSI1SK".into(),
        s(activity_sk(ticket.last_activity, &ticket.number)),
    );
    item.insert(
        "GSI2PK".into(),
        s(format!("REQUESTER#{}", ticket.requester.email.match_key())),
    );
    item.insert(
        "GSI2SK".into(),
        s(activity_sk(ticket.created_at, &ticket.number)),
    );
    item.insert("version".into(), n(ticket.version));
    item.insert("status".into(), s(ticket.status.wire()));
    item.insert(
        "ticket".into(),
        serde_dynamo::to_attribute_value(ticket).map_err(unavailable)?,
    );
    Ok(item)
}

fn ticket_from_item(item: &Item) -> Result<Ticket, StoreError> {
    from_attribute(item, "ticket")
}

fn message_item(number: &TicketNumber, message: &Message) -> Result<Item, StoreError> {
    let mut item = key(
        ticket_pk(number),
        &format!("MSG#{}#{}", message.at, message.id),
    );
    item.insert(
        "message".into(),
        serde_dynamo::to_attribute_value(message).map_err(unavailable)?,
    );
    Ok(item)
}

fn mail_id_item(number: &TicketNumber, message: MessageId, mail_id: &MailMessageId) -> Item {
    let mut item = key(format!("MAILID#{}", mail_id.as_str()), META);
    item.insert("ticket".into(), s(number.as_str()));
    item.insert("message".into(), s(message.to_string()));
    item
}

fn put_if_absent(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Why a transaction was cancelled, item by item (`None` where that item was fine).
fn cancellation_codes(error: &SdkError<TransactWriteItemsError>) -> Option<Vec<String>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

fn failed(codes: &[String], index: usize) -> bool {
    codes
        .get(index)
        .is_some_and(|c| c == "ConditionalCheckFailed")
}

/// An `UpdateItem` whose condition did not hold.
fn condition_failed(error: &SdkError<UpdateItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

fn conflicted(codes: &[String]) -> bool {
    codes.iter().any(|c| c == "TransactionConflict")
}

impl DynamoStore {
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoStore {
            client: OnFirstUse::new({
                let config = config.clone();
                move || Client::new(&config)
            }),
            table: table.into(),
            opening: Default::default(),
            agencies: AgencyCache::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client, built now if no call has needed it yet.
    pub fn client(&self) -> &Client {
        self.client.get()
    }

    /// Creates the table as `template.yaml` declares it (for local stand-ins and tests).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let (client, table) = (self.client.get(), self.table.as_str());
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(unavailable)
        };
        let key_schema = |hash: &str, range: &str| -> Result<Vec<KeySchemaElement>, StoreError> {
            Ok(vec![
                KeySchemaElement::builder()
                    .attribute_name(hash)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(unavailable)?,
                KeySchemaElement::builder()
                    .attribute_name(range)
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(unavailable)?,
            ])
        };
        let index =
            |name: &str, hash: &str, range: &str| -> Result<GlobalSecondaryIndex, StoreError> {
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key_schema(hash, range)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(unavailable)
            };
        retrying_sdk(|| async {
            let mut request = client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .set_key_schema(Some(key_schema("PK", "SK")?))
                .global_secondary_indexes(index(QUEUE_INDEX, "GSI1PK", "GSI1SK")?)
                .global_secondary_indexes(index(REQUESTER_INDEX, "GSI2PK", "GSI2SK")?);
            for name in ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
                request = request.attribute_definitions(attribute(name)?);
            }
            request.send().await.map_err(unavailable)?;
            Ok(())
        })
        .await?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// The items of `keys` (META items, one per partition) that exist, by partition key: one
    /// consistent BatchGetItem per hundred keys, keys left unprocessed asked again.
    async fn batch_get(&self, keys: &[Item]) -> Result<HashMap<String, Item>, StoreError> {
        let mut found = HashMap::new();
        // BatchGetItem refuses a key asked twice, and takes a hundred at most.
        let mut unique: Vec<Item> = Vec::with_capacity(keys.len());
        for item in keys {
            if !unique.contains(item) {
                unique.push(item.clone());
            }
        }
        for chunk in unique.chunks(100) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == MAX_UPDATE_ATTEMPTS {
                    return Err(StoreError::unavailable("DynamoDB kept leaving keys unread"));
                }
                if attempt > 0 {
                    tokio::time::sleep(backoff(
                        attempt - 1,
                        Duration::from_millis(10),
                        Duration::from_millis(200),
                    ))
                    .await;
                }
                attempt += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(unavailable)?;
                let output = self
                    .client
                    .get()
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default()
                {
                    found.insert(partition_key(&item)?.to_owned(), item);
                }
                // Keys DynamoDB did not get to (throughput) are asked again after a pause.
                pending = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table))
                    .map(|unread| unread.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// A ticket an idempotency key still points to.
    async fn replay(&self, draft: &TicketDraft) -> Result<Option<Ticket>, StoreError> {
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

    async fn try_open(&self, draft: &TicketDraft) -> Result<Option<Opened>, StoreError> {
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

    async fn try_update(&self, update: &TicketUpdate) -> Result<Option<Ticket>, StoreError> {
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
    fn ticket_exists(&self, number: &TicketNumber) -> Result<TransactWriteItem, StoreError> {
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
    async fn try_add_event(
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
    async fn try_erase(&self, erasure: &Erasure) -> Result<Option<Ticket>, StoreError> {
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

    async fn query_tickets(
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
            for item in output.items() {
                tickets.push(ticket_from_item(item)?);
            }
            let full = wanted.is_some_and(|w| tickets.len() >= w);
            match output.last_evaluated_key {
                Some(last) if !full => start = Some(last),
                more => return Ok((tickets, more.is_some())),
            }
        }
    }
}

/// Retries a call whose failure is worth one more try soon (table creation while a stand-in
/// is still starting); reports the last error.
async fn retrying_sdk<F, Fut>(mut call: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(()) => return Ok(()),
            Err(error) if attempt >= 3 => return Err(error),
            Err(_) => {
                tokio::time::sleep(backoff(
                    attempt,
                    Duration::from_millis(50),
                    Duration::from_secs(1),
                ))
                .await;
                attempt += 1;
            }
        }
    }
}

impl TicketStore for DynamoStore {
    async fn open(&self, draft: TicketDraft) -> Result<Opened, StoreError> {
        let _turn = self.opening.lock().await;
        until_won(
            MAX_OPEN_ATTEMPTS,
            (Duration::from_millis(4), Duration::from_millis(250)),
            "too much contention for the next ticket number; try again",
            || self.try_open(&draft),
        )
        .await
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
        let message = |item: &mut Item| -> Option<Result<Message, StoreError>> {
            item.remove("message")
                .map(|value| serde_dynamo::from_attribute_value(value).map_err(unavailable))
        };
        if query.before.is_none() && query.limit == usize::MAX {
            // The whole thread: one query reads the META item and every message (`META`
            // sorts before `MSG#`), page after page.
            let mut items = self.all_items(None, ticket_pk(number)).await?;
            let meta = items
                .iter()
                .find(|item| matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk == META))
                .ok_or(StoreError::NotFound)?;
            let ticket = ticket_from_item(meta)?;
            let items = items
                .iter_mut()
                .filter_map(message)
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
        for mut item in output.items.unwrap_or_default() {
            if matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk == META) {
                ticket = Some(ticket_from_item(&item)?);
            } else if let Some(read) = message(&mut item) {
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
        let mut next = None;
        if items.len() > query.limit || (truncated && !items.is_empty()) {
            items.truncate(query.limit);
            next = items.last().map(ThreadCursor::of);
        }
        items.reverse();
        Ok((ticket, Page { items, next }))
    }

    async fn update(&self, update: TicketUpdate) -> Result<Ticket, StoreError> {
        until_won(
            MAX_UPDATE_ATTEMPTS,
            (Duration::from_millis(10), Duration::from_millis(200)),
            "the update kept conflicting with other transactions",
            || self.try_update(&update),
        )
        .await
    }

    async fn add_event(&self, number: &TicketNumber, event: &Message) -> Result<(), StoreError> {
        until_won(
            MAX_UPDATE_ATTEMPTS,
            (Duration::from_millis(10), Duration::from_millis(200)),
            "the event kept conflicting with other transactions",
            || self.try_add_event(number, event),
        )
        .await
    }

    async fn link_mail_id(
        &self,
        number: &TicketNumber,
        message: MessageId,
        mail_id: &MailMessageId,
    ) -> Result<(), StoreError> {
        let ticket_exists = self.ticket_exists(number)?;
        let result = self
            .client
            .get()
            .transact_write_items()
            .transact_items(ticket_exists)
            .transact_items(put_if_absent(
                &self.table,
                mail_id_item(number, message, mail_id),
            )?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if failed(&codes, 0) => Err(StoreError::NotFound),
                Some(codes) if failed(&codes, 1) => Err(StoreError::AlreadyExists),
                _ => Err(unavailable(error)),
            },
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
        let (mut items, _) = self
            .query_tickets(
                QUEUE_INDEX,
                condition,
                values,
                query.status.map(|s| s.wire()),
                Some(query.limit + 1),
                query.oldest_first,
            )
            .await?;
        let next = if items.len() > query.limit {
            items.truncate(query.limit);
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, StoreError> {
        let values = vec![(":pk", s(format!("REQUESTER#{}", email.match_key())))];
        let (tickets, _) = self
            .query_tickets(REQUESTER_INDEX, "GSI2PK = :pk", values, None, None, false)
            .await?;
        Ok(tickets)
    }

    async fn erase(&self, erasure: &Erasure) -> Result<Ticket, StoreError> {
        until_won(
            MAX_UPDATE_ATTEMPTS,
            (Duration::from_millis(10), Duration::from_millis(200)),
            "the erasure kept conflicting with other transactions",
            || self.try_erase(erasure),
        )
        .await
    }
}

/// Throttle windows are items `THROTTLE#<key>#<window start>` with an atomic `ADD`; their TTL
/// lets DynamoDB drop them once the window is over.
fn throttle_key(key: &ThrottleKey, window: Duration, now: Timestamp) -> (Item, i64) {
    let start = window_start(window, now);
    let expires = start.saturating_add(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
    (
        self::key(format!("THROTTLE#{}#{start}", key.as_str()), META),
        expires,
    )
}

fn partition_key(item: &Item) -> Result<&str, StoreError> {
    match item.get("PK") {
        Some(AttributeValue::S(pk)) => Ok(pk),
        _ => Err(StoreError::unavailable("item without its PK")),
    }
}

fn count_of(item: Option<&HashMap<String, AttributeValue>>) -> Result<u64, StoreError> {
    match item.and_then(|item| item.get("count")) {
        Some(AttributeValue::N(count)) => count.parse().map_err(unavailable),
        Some(_) => Err(StoreError::unavailable("throttle item with a bad count")),
        None => Ok(0),
    }
}

impl Throttle for DynamoStore {
    async fn take(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
        limit: u64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let (item_key, expires) = throttle_key(key, window, now);
        // The condition makes the count and the check one write: parallel takers are
        // serialised by DynamoDB, and the ones past the limit fail the condition.
        let taken = self
            .client
            .get()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn release(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (item_key, _) = throttle_key(key, window, now);
        let released = self
            .client
            .get()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Nothing left to give back (the window ended meanwhile).
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn counts(
        &self,
        keys: &[ThrottleKey],
        window: Duration,
        now: Timestamp,
    ) -> Result<Vec<u64>, StoreError> {
        let wanted: Vec<Item> = keys
            .iter()
            .map(|key| throttle_key(key, window, now).0)
            .collect();
        if wanted.len() > 100 {
            return Err(StoreError::unavailable(
                "more than 100 throttle counts at once",
            ));
        }
        let found = self.batch_get(&wanted).await?;
        wanted
            .iter()
            .map(|item| count_of(found.get(partition_key(item)?)))
            .collect()
    }
}

fn agent_item(agent: &Agent) -> Result<Item, StoreError> {
    let mut item = key(format!("AGENT#{}", agent.id.as_str()), META);
    item.insert("GSI1PK".into(), s(format!("AGENTS#{}", agent.agency)));
    item.insert("GSI1SK".into(), s(agent.id.as_str()));
    item.insert(
        "agent".into(),
        serde_dynamo::to_attribute_value(agent).map_err(unavailable)?,
    );
    Ok(item)
}

/// The record an item carries in `attribute`.
fn from_attribute<T: serde::de::DeserializeOwned>(
    item: &Item,
    attribute: &str,
) -> Result<T, StoreError> {
    let value = item
        .get(attribute)
        .ok_or_else(|| StoreError::unavailable(format!("item without its {attribute}")))?;
    serde_dynamo::from_attribute_value(value.clone()).map_err(unavailable)
}

fn token_item(agent: &Agent) -> Item {
    let mut item = key(format!("TOKEN#{}", agent.token_hash.as_str()), META);
    item.insert("agent".into(), s(agent.id.as_str()));
    item
}

impl DynamoStore {
    /// Every item under one partition key, page after page: of the table (read
    /// consistently), or of GSI1 (which cannot be).
    async fn all_items(&self, index: Option<&str>, pk: String) -> Result<Vec<Item>, StoreError> {
        let key_name = if index.is_some() { "GSI1PK" } else { "PK" };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(format!("{key_name} = :pk"))
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(items),
            }
        }
    }

    async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .get()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn put_where(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl AgentDirectory for DynamoStore {
    async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let result = self
            .client
            .get()
            .transact_write_items()
            .transact_items(put_if_absent(&self.table, agent_item(agent)?)?)
            .transact_items(put_if_absent(&self.table, token_item(agent))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if failed(&codes, 0) || failed(&codes, 1) => {
                    Err(StoreError::AlreadyExists)
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn save_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let current = self.agent(&agent.id).await?;
        let mut request = self
            .client
            .get()
            .transact_write_items()
            .transact_items(self.put_where(agent_item(agent)?, "attribute_exists(PK)")?);
        if current.token_hash != agent.token_hash {
            // A new token: the old one stops opening anything in the same step.
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    format!("TOKEN#{}", current.token_hash.as_str()),
                    META,
                )))
                .build()
                .map_err(unavailable)?;
            request = request
                .transact_items(TransactWriteItem::builder().delete(delete).build())
                .transact_items(put_if_absent(&self.table, token_item(agent))?);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if failed(&codes, 0) => Err(StoreError::NotFound),
                Some(codes) if failed(&codes, 2) => Err(StoreError::AlreadyExists),
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        let item = self
            .get(key(format!("AGENT#{}", id.as_str()), META))
            .await?
            .ok_or(StoreError::NotFound)?;
        from_attribute(&item, "agent")
    }

    async fn agent_by_token(&self, hash: &TokenHash) -> Result<Option<Agent>, StoreError> {
        let Some(item) = self
            .get(key(format!("TOKEN#{}", hash.as_str()), META))
            .await?
        else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = item.get("agent") else {
            return Err(StoreError::unavailable("token item without its agent"));
        };
        let agent = self
            .agent(&AgentId::parse(id).map_err(unavailable)?)
            .await?;
        // A token item left behind by a rotation that failed halfway opens nothing.
        Ok((&agent.token_hash == hash).then_some(agent))
    }

    async fn agents(&self, agency: &AgencyCode) -> Result<Vec<Agent>, StoreError> {
        let items = self
            .all_items(Some(QUEUE_INDEX), format!("AGENTS#{agency}"))
            .await?;
        items
            .iter()
            .map(|item| from_attribute(item, "agent"))
            .collect()
    }
}

impl AgencyDirectory for DynamoStore {
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.agencies
            .get_or_load(async {
                let items = self.all_items(Some(QUEUE_INDEX), "AGENCIES".into()).await?;
                items
                    .iter()
                    .map(|item| from_attribute(item, "agency"))
                    .collect()
            })
            .await
    }

    async fn save_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        let mut item = key(format!("AGENCY#{}", agency.code), META);
        item.insert("GSI1PK".into(), s("AGENCIES"));
        item.insert("GSI1SK".into(), s(agency.code.as_str()));
        item.insert(
            "agency".into(),
            serde_dynamo::to_attribute_value(agency).map_err(unavailable)?,
        );
        self.put_item(item).await?;
        self.agencies.forget();
        Ok(())
    }
}

fn audit_pk(ticket: Option<&TicketNumber>) -> String {
    match ticket {
        Some(number) => format!("AUDIT#{number}"),
        None => "AUDIT#AGENTS".to_owned(),
    }
}

impl AuditLog for DynamoStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let sort = format!("{}#{}", entry.at, uuid::Uuid::now_v7());
        let mut item = key(audit_pk(entry.ticket.as_ref()), &sort);
        item.insert(
            "entry".into(),
            serde_dynamo::to_attribute_value(entry).map_err(unavailable)?,
        );
        self.put_item(item).await
    }

    async fn ticket_audit(&self, number: &TicketNumber) -> Result<Vec<AuditEntry>, StoreError> {
        let items = self.all_items(None, audit_pk(Some(number))).await?;
        items
            .iter()
            .map(|item| from_attribute(item, "entry"))
            .collect()
    }
}
