//! In-memory stand-ins for the ports that have no embedded adapter cheap enough to run a
//! million times: mail out and blobs kept in memory, and a clock that moves only when told.
//! For the benchmarks, the fuzz target and the tests (feature `fakes`); the store's stand-in
//! is the real SQLite adapter in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::BlobKey;
use crate::Timestamp;
use crate::model::mail::OutgoingMail;
use crate::ports::{Blob, BlobError, BlobStore, Clock, MailError, Mailer, SentMail};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Mail out, counted; the last one kept.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer(Arc<Mutex<Sent>>);

#[derive(Debug, Default)]
struct Sent {
    count: u64,
    last: Option<OutgoingMail>,
}

impl MemoryMailer {
    /// How many mails were sent.
    pub fn count(&self) -> u64 {
        lock(&self.0).count
    }

    /// The last mail sent, if any.
    pub fn last(&self) -> Option<OutgoingMail> {
        lock(&self.0).last.clone()
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<SentMail, MailError> {
        let mut sent = lock(&self.0);
        sent.count += 1;
        sent.last = Some(mail.clone());
        Ok(SentMail {
            provider_id: format!("memory-{}", sent.count),
            // Nothing rewrites our Message-ID here, as in the outbox.
            message_id: mail.message_id.clone(),
        })
    }
}

/// Blobs kept in memory; download links point at `base_url`.
#[derive(Debug, Clone, Default)]
pub struct MemoryBlobs {
    blobs: Arc<Mutex<HashMap<BlobKey, Blob>>>,
    base_url: String,
}

impl MemoryBlobs {
    pub fn new(base_url: impl Into<String>) -> Self {
        MemoryBlobs {
            blobs: Arc::default(),
            base_url: base_url.into(),
        }
    }

    /// How many blobs are stored.
    pub fn len(&self) -> usize {
        lock(&self.blobs).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every blob.
    pub fn clear(&self) {
        lock(&self.blobs).clear();
    }
}

impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &BlobKey, blob: Blob) -> Result<(), BlobError> {
        lock(&self.blobs).insert(key.clone(), blob);
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError> {
        lock(&self.blobs)
            .get(key)
            .cloned()
            .ok_or(BlobError::NotFound)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        lock(&self.blobs).remove(key);
        Ok(())
    }

    async fn download_url(
        &self,
        key: &BlobKey,
        file_name: &str,
        _valid_for: Duration,
    ) -> Result<String, BlobError> {
        Ok(format!("{}/blobs/{key}?name={file_name}", self.base_url))
    }
}

/// A clock that moves only when told: for tests and for replaying events.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = lock(&self.0);
        *now = now.plus(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *lock(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_when_told() {
        let start = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let clock = ManualClock::new(start);
        clock.advance(chrono::Duration::hours(25));
        assert_eq!(clock.now().to_string(), "2025-01-02T01:00:00.000Z");
    }
}
