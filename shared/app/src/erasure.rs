//! A ticket's personal data erased, the one way for both reasons: a requester's request
//! (`requester_data`) and the retention rule (`retention`). What goes and what stays is the
//! domain's rule (`ventanilla_domain::rules::privacy`); this writes it, blobs first.

use std::time::Duration;

use ventanilla_domain::model::agents::{AuditAction, AuditEntry};
use ventanilla_domain::ports::{AuditLog, BlobError, BlobStore, StoreError, TicketStore};
use ventanilla_domain::retry::{Retries, until_won};
use ventanilla_domain::rules::privacy::erasure;
use ventanilla_domain::{AgentId, Ticket, TicketNumber, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a blob could not be deleted")]
    Blobs(#[from] BlobError),
}

/// How many times an erasure reads the ticket again when an update got in between.
const RETRIES: Retries = Retries {
    attempts: 5,
    first_wait: Duration::from_millis(2),
    longest_wait: Duration::from_millis(100),
    gave_up: "the ticket kept changing during its erasure",
};

/// Erases one ticket's personal data and records it in its audit trail. Erasing an erased
/// ticket again changes nothing but is recorded too.
pub async fn erase_ticket(
    store: &(impl TicketStore + AuditLog),
    blobs: &impl BlobStore,
    number: &TicketNumber,
    by: &AgentId,
    at: Timestamp,
    reason: &str,
) -> Result<Ticket, ErasureError> {
    let erased = until_won(RETRIES, || async {
        let (ticket, thread) = store.thread(number).await?;
        let erasure = erasure(&ticket, &thread, at);
        for key in &erasure.blobs {
            blobs.delete(key).await?;
        }
        match store.erase(&erasure).await {
            Ok(erased) => Ok(Some(erased)),
            Err(StoreError::VersionConflict) => Ok(None),
            Err(error) => Err(ErasureError::from(error)),
        }
    })
    .await?;
    store
        .record(&AuditEntry {
            at,
            agent: by.clone(),
            action: AuditAction::ErasePersonalData,
            ticket: Some(number.clone()),
            detail: reason.to_owned(),
        })
        .await?;
    Ok(erased)
}
