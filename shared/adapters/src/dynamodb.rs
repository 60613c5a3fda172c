//! Tickets in one DynamoDB table (single-table design).
//!
//! | item            | PK                                  | SK         | more                                   |
//! |-----------------|-------------------------------------|------------|----------------------------------------|
//! | ticket          | `TICKET#<number>`                   | `META`     | GSI1 queue by activity, GSI2 requester, GSI3 `DUE#<agency>` by due date while unfinished, GSI4 `WARN#<agency>` by next warning |
//! | message         | `TICKET#<number>`                   | `MSG#<at>#<id>` |                                   |
//! | number counter  | `COUNTER#<agency>#<code>#<year>`    | `META`     | `last`                                 |
//! | mail Message-ID | `MAILID#<message-id>`               | `META`     | `ticket`, `message`                    |
//! | idempotency key | `IDEMPOTENCY#<key>`                 | `META`     | `ticket`, `expires_at`, TTL `ttl`      |
//! | agent           | `AGENT#<id>`                        | `META`     | GSI1 `AGENTS#<agency>` by id           |
//! | agent token     | `TOKEN#<sha-256 of the token>`      | `META`     | `agent`                                |
//! | agency          | `AGENCY#<code>`                     | `META`     | GSI1 `AGENCIES` by code                |
//! | audit entry     | `AUDIT#<number>` (or `AUDIT#AGENTS`) | `<at>#<uuid>` | `entry`                             |
//! | queued mail     | `MAILQUEUE#<message-id>`            | `META`     | GSI1 `MAILQUEUE#pending` by next try, or `MAILQUEUE#parked#<agency>`; TTL when done |
//! | search word     | `WORD#<key of the word>`            | `<number>` | `ticket`: one per ticket that has the word (`rules::search`) |
//! | figures         | `STATS#<agency>`                    | `<bucket>#<queue>` | a number per counter (`figures.rs`) |
//!
//! Opening a ticket writes the counter, the ticket, its first message and its mail ids in
//! one transaction conditional on the counter value read just before: a lost race is
//! retried, and the counter never moves without its ticket (no duplicates, no gaps).

use std::collections::HashMap;
use std::time::Duration;
use ventanilla_domain::Choice;

use crate::agency_cache::AgencyCache;
use crate::aws::OnFirstUse;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    Put, PutRequest, ReturnValue, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
    WriteRequest,
};
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
use ventanilla_domain::retry::{Retries, until_won};
use ventanilla_domain::rules::{search, stats};
use ventanilla_domain::{AgencyCode, AgentId};
use ventanilla_domain::{Email, Message, Ticket, TicketNumber, Timestamp};

mod directory;
mod figures;
mod mail_queue;
mod throttle;
mod tickets;
mod writes;

type Item = HashMap<String, AttributeValue>;

const META: &str = "META";
/// A queue's tickets by last activity, whole (the queue listing reads nothing else); the
/// mail queue's due mails.
pub const QUEUE_INDEX: &str = "GSI1";
/// A requester's tickets, newest first: `REQUESTER#<address key>`, `<created>#<number>`. Keys
/// only: neither key moves when a ticket changes, so a ticket's rewrites (each message, each
/// change) leave the index alone, where a whole copy was written again each time
/// (docs/COST.md); its rare readers read the tickets from the table.
pub const REQUESTER_INDEX: &str = "GSI2";
/// Unfinished tickets by due date, per agency: `DUE#<agency>`, `<due key>#<number>`; a
/// finished ticket's item has neither attribute (a sparse index). The whole ticket: the
/// queues' due-date order reads a page of them, which from the table would cost a read unit
/// per ticket, more than the writes keys only would save (docs/COST.md).
pub const DUE_INDEX: &str = "GSI3";
/// Tickets owed a warning, per agency, by its day: `WARN#<agency>`, `<day>#<number>`; keys
/// only (the sweeper reads each ticket it warns about, consistently).
pub const WARNING_INDEX: &str = "GSI4";
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Losing the race for a number is normal under load: give up only after many tries.
const OPENING: Retries = Retries {
    attempts: 60,
    first_wait: Duration::from_millis(4),
    longest_wait: Duration::from_millis(250),
    gave_up: "too much contention for the next ticket number; try again",
};

/// A write cancelled by another transaction on the same items; `gave_up` says which write.
const CONFLICTED: Retries = Retries {
    // Every write of an agency's tickets on one day adds to that day's figures item.
    attempts: 8,
    first_wait: Duration::from_millis(10),
    longest_wait: Duration::from_millis(300),
    gave_up: "the write kept conflicting with other transactions",
};

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

fn due_pk(agency: &str) -> String {
    format!("DUE#{agency}")
}

fn due_sk(due: chrono::NaiveDate, number: &TicketNumber) -> String {
    format!("{due}#{number}")
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// What DynamoDB said, whole (the SDK's own Display is only "service error").
fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

fn partition_key(item: &Item) -> Result<&str, StoreError> {
    match item.get("PK") {
        Some(AttributeValue::S(pk)) => Ok(pk),
        _ => Err(StoreError::unavailable("item without its PK")),
    }
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

/// Tickets and messages are stored as deflated JSON in one binary attribute: DynamoDB bills
/// a write by the KB it touches, and a map spells out every field's name, so a ticket item
/// crossed 1 KB (two write units, and two more per index entry) after a reply or two
/// (docs/COST.md, issue 25). Items written before keep their map (`ticket`, `message`) and
/// are read as before.
const PACKED: &str = "z";
/// An inflated record larger than this is refused, not read: a 400 KB item holds nothing near it.
const UNPACKED_MAX: u64 = 16 << 20;

fn pack<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    use std::io::Write;
    let json = serde_json::to_vec(value).map_err(unavailable)?;
    let mut deflate = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 2),
        flate2::Compression::default(),
    );
    deflate.write_all(&json).map_err(unavailable)?;
    Ok(AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
        deflate.finish().map_err(unavailable)?,
    )))
}

/// The record [`pack`] stored in `item`, or the map of an item written before it (`legacy`).
fn unpack<T: serde::de::DeserializeOwned>(item: &Item, legacy: &str) -> Result<T, StoreError> {
    use std::io::Read;
    let Some(AttributeValue::B(packed)) = item.get(PACKED) else {
        return from_attribute(item, legacy);
    };
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(packed.as_ref())
        .take(UNPACKED_MAX)
        .read_to_end(&mut json)
        .map_err(unavailable)?;
    serde_json::from_slice(&json).map_err(unavailable)
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
    // A ticket without an address is in no requester's list (a sparse index).
    if let Some(email) = &ticket.requester.email {
        item.insert(
            "GSI2PK".into(),
            s(format!("REQUESTER#{}", email.match_key())),
        );
        item.insert(
            "GSI2SK".into(),
            s(activity_sk(ticket.created_at, &ticket.number)),
        );
    }
    if let Some(due) = ticket.due_key() {
        item.insert("GSI3PK".into(), s(due_pk(ticket.agency.as_str())));
        item.insert("GSI3SK".into(), s(due_sk(due, &ticket.number)));
    }
    if let Some(warning) = ticket.next_warning() {
        item.insert(
            "GSI4PK".into(),
            s(format!("WARN#{}", ticket.agency.as_str())),
        );
        item.insert("GSI4SK".into(), s(due_sk(warning.on, &ticket.number)));
    }
    item.insert("version".into(), n(ticket.version));
    item.insert("status".into(), s(ticket.status.wire()));
    item.insert(PACKED.into(), pack(ticket)?);
    Ok(item)
}

fn ticket_from_item(item: &Item) -> Result<Ticket, StoreError> {
    unpack(item, "ticket")
}

/// The message a thread's `MSG#` item holds; `None` for its other items.
fn message_from_item(item: &Item) -> Option<Result<Message, StoreError>> {
    matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk.starts_with("MSG#"))
        .then(|| unpack(item, "message"))
}

fn message_item(number: &TicketNumber, message: &Message) -> Result<Item, StoreError> {
    let mut item = key(
        ticket_pk(number),
        &format!("MSG#{}#{}", message.at, message.id),
    );
    item.insert(PACKED.into(), pack(message)?);
    Ok(item)
}

fn mail_id_item(number: &TicketNumber, message: MessageId, mail_id: &MailMessageId) -> Item {
    let mut item = key(format!("MAILID#{}", mail_id.as_str()), META);
    item.insert("ticket".into(), s(number.as_str()));
    item.insert("message".into(), s(message.to_string()));
    item
}

/// The partition of the tickets that have the word whose key is `word`.
fn word_pk(word: &str) -> String {
    format!("WORD#{word}")
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

/// What a conditional write outside a transaction came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conditional {
    Written,
    /// The condition did not hold.
    Refused,
    /// A transaction in flight held the item; nothing was written.
    Busy,
}

/// Why a transaction was cancelled: a code per item (`"None"` where that item was fine),
/// and the service's whole answer for the log.
struct Cancelled {
    codes: Vec<String>,
    answer: String,
}

impl Cancelled {
    /// The condition of the item at `index` did not hold.
    fn failed(&self, index: usize) -> bool {
        self.codes
            .get(index)
            .is_some_and(|c| c == "ConditionalCheckFailed")
    }

    /// The condition of some item in `items` (`1..` for "after the first") did not hold.
    fn any_failed(&self, items: impl std::slice::SliceIndex<[String], Output = [String]>) -> bool {
        self.codes
            .get(items)
            .is_some_and(|codes| codes.iter().any(|c| c == "ConditionalCheckFailed"))
    }

    /// Another transaction touched the same items: worth another go.
    fn conflicted(&self) -> bool {
        self.codes.iter().any(|c| c == "TransactionConflict")
    }

    fn unexpected(&self) -> StoreError {
        StoreError::unavailable(format!("transaction cancelled: {}", self.answer))
    }
}

/// An `UpdateItem` whose condition did not hold.
fn condition_failed(error: &SdkError<UpdateItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
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
        let index = |name: &str,
                     hash: &str,
                     range: &str,
                     projection: ProjectionType|
         -> Result<GlobalSecondaryIndex, StoreError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(key_schema(hash, range)?))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(unavailable)
        };
        // Tried again soon when it fails: table creation while a stand-in is still starting.
        let create = || async {
            let mut request = client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .set_key_schema(Some(key_schema("PK", "SK")?))
                .global_secondary_indexes(index(
                    QUEUE_INDEX,
                    "GSI1PK",
                    "GSI1SK",
                    ProjectionType::All,
                )?)
                .global_secondary_indexes(index(
                    REQUESTER_INDEX,
                    "GSI2PK",
                    "GSI2SK",
                    ProjectionType::KeysOnly,
                )?)
                .global_secondary_indexes(index(
                    DUE_INDEX,
                    "GSI3PK",
                    "GSI3SK",
                    ProjectionType::All,
                )?)
                .global_secondary_indexes(index(
                    WARNING_INDEX,
                    "GSI4PK",
                    "GSI4SK",
                    ProjectionType::KeysOnly,
                )?);
            for name in [
                "PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK",
                "GSI4SK",
            ] {
                request = request.attribute_definitions(attribute(name)?);
            }
            request.send().await.map_err(unavailable)?;
            Ok::<_, StoreError>(())
        };
        let retries = Retries {
            attempts: 4,
            first_wait: Duration::from_millis(50),
            longest_wait: Duration::from_secs(1),
            gave_up: "the table could not be created",
        };
        until_won(retries, || async {
            match create().await {
                Ok(()) => Ok(Some(())),
                Err(error) => {
                    tracing::warn!(%error, "table not created yet");
                    Ok::<_, StoreError>(None)
                }
            }
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

    /// Writes `item` if `condition` holds, outside any transaction (half the write units of
    /// the same write in one).
    async fn write_if(
        &self,
        item: Item,
        condition: &str,
        names: Option<HashMap<String, String>>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<Conditional, StoreError> {
        let written = self
            .client
            .get()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match written {
            Ok(_) => Ok(Conditional::Written),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(Conditional::Refused),
                // A transaction holds the item (one recording a mail checks the ticket): the
                // SDK does not retry this one, the caller may.
                Some(PutItemError::TransactionConflictException(_)) => Ok(Conditional::Busy),
                _ => Err(unavailable(error)),
            },
        }
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
        // BatchGetItem refuses a key asked twice, and takes a hundred at most. One META item
        // per partition: the partition key tells them apart (a requester's thousands of
        // tickets are not compared pairwise).
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        let mut unique: Vec<Item> = Vec::with_capacity(keys.len());
        for item in keys {
            if seen.insert(partition_key(item)?) {
                unique.push(item.clone());
            }
        }
        for chunk in unique.chunks(100) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == CONFLICTED.attempts {
                    return Err(StoreError::unavailable("DynamoDB kept leaving keys unread"));
                }
                if attempt > 0 {
                    tokio::time::sleep(CONFLICTED.wait(attempt - 1)).await;
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
}
