//! Domain operations: the rules that hold whichever function calls them and whichever store
//! sits behind the port.

use crate::ports::{Clock, IdSource, Opened, StoreError, TicketStore};
use crate::ticket::{IdempotencyClaim, IdempotencyKey, MailMeta, TicketDraft, TicketUpdate};
use crate::{
    AgencyCode, AgentRef, AttachmentRef, Author, Body, Category, Message, MessageKind, QueueName,
    Requester, Status, Subject, Ticket, TicketChange, TicketNumber, TransitionError,
};

/// How long an idempotency key keeps returning its first ticket.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// A request to open a ticket, already parsed into typed values.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub category: Category,
    pub requester: Requester,
    pub subject: Subject,
    pub description: Body,
    pub attachments: Vec<AttachmentRef>,
    pub mail: Option<MailMeta>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub linked_to: Option<TicketNumber>,
}

/// Opens a ticket with the requester's first message. A repeated idempotency key within
/// [`IDEMPOTENCY_WINDOW`] returns the first ticket.
pub async fn open_ticket(
    store: &impl TicketStore,
    clock: &(impl Clock + ?Sized),
    ids: &impl IdSource,
    new: NewTicket,
) -> Result<Opened, StoreError> {
    let now = clock.now();
    let first_message = Message {
        id: ids.message_id(),
        at: now,
        kind: MessageKind::CitizenMessage,
        author: Author::Requester,
        body: new.description,
        attachments: new.attachments,
        mail: new.mail,
    };
    let draft = TicketDraft {
        agency: new.agency,
        queue: new.queue,
        category: new.category,
        requester: new.requester,
        subject: new.subject,
        opened_at: now,
        first_message,
        idempotency: new.idempotency_key.map(|key| IdempotencyClaim {
            key,
            expires_at: now.plus(IDEMPOTENCY_WINDOW),
        }),
        linked_to: new.linked_to,
    };
    store.open(draft).await
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An agent moves a ticket to another status. The change names the version the agent saw;
/// the transition is checked against the state machine and recorded in the thread.
pub async fn change_status(
    store: &impl TicketStore,
    clock: &(impl Clock + ?Sized),
    ids: &impl IdSource,
    number: &TicketNumber,
    seen_version: u64,
    to: Status,
    by: AgentRef,
) -> Result<Ticket, ChangeError> {
    let ticket = store.ticket(number).await?;
    if ticket.version != seen_version {
        return Err(StoreError::VersionConflict.into());
    }
    let status = ticket.status.transition_to(to)?;
    let event = Message {
        id: ids.message_id(),
        at: clock.now(),
        kind: MessageKind::SystemEvent,
        author: Author::Agent(by),
        body: Body::parse_field("text", &format!("status: {} -> {}", ticket.status, status))
            .map_err(|e| StoreError::unavailable(e.to_string()))?,
        attachments: Vec::new(),
        mail: None,
    };
    let update = TicketUpdate {
        number: number.clone(),
        expected_version: seen_version,
        change: TicketChange {
            status: Some(status),
            ..TicketChange::default()
        },
        message: Some(event),
    };
    Ok(store.update(update).await?)
}
