//! Files a ticket refers to (screenshots, a mail's attachments, an agent's files) live in the
//! blob store; every stored blob belongs to a ticket, so that erasure and retention find it.

use std::time::Duration;

use ventanilla_domain::BlobKey;
use ventanilla_domain::Message;
use ventanilla_domain::ports::{BlobError, BlobStore};

/// Deletes blobs no ticket came to refer to (the screenshots of a form whose ticket was not
/// opened, a reply's files that did not land, an unowned raw mail). A failure is logged,
/// not retried: the bucket's lifecycle rule sweeps what is left.
pub async fn discard(blobs: &impl BlobStore, keys: &[BlobKey]) {
    for key in keys {
        if let Err(error) = blobs.delete(key).await {
            tracing::error!(%error, blob = %key, "an unowned blob could not be deleted");
        }
    }
}

/// A short-lived download link for each of the message's files, in their order.
pub async fn download_links(
    blobs: &impl BlobStore,
    message: &Message,
    valid_for: Duration,
) -> Result<Vec<String>, BlobError> {
    let mut links = Vec::with_capacity(message.attachments.len());
    for file in &message.attachments {
        links.push(
            blobs
                .download_url(&file.blob, &file.name, valid_for)
                .await?,
        );
    }
    Ok(links)
}
