//! A ticket's personal data erased: what the store writes in place of the originals. The
//! rules that make it are `rules::privacy`.

use crate::BlobKey;
use crate::{Message, Ticket};

/// A ticket and its thread as they are once erased, conditional on the version they were
/// read at; what the store writes in place of the originals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub expected_version: u64,
    /// The ticket, erased, at the next version.
    pub ticket: Ticket,
    /// Every message of the thread, erased, with the same ids and times.
    pub messages: Vec<Message>,
    /// The screenshots, attachments and raw mails the thread referred to.
    pub blobs: Vec<BlobKey>,
    /// The keys of the words the ticket was searched by (`rules::search::erasure_keys`).
    pub search_keys: Vec<String>,
}
