//! The agencies admins saved change rarely, and every request reads them (to merge them over
//! the configured ones). Each store keeps what it read for a short while, so that a warm
//! instance does not pay a DynamoDB Query (or an SQLite read) per request for them. A save
//! through the same store is seen at once; one through another instance (another Lambda
//! instance, another local server on the same folder) within [`AGENCIES_FRESH_FOR`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ventanilla_domain::model::agencies::Agency;
use ventanilla_domain::ports::StoreError;

/// How long an instance trusts the agencies it read.
pub const AGENCIES_FRESH_FOR: Duration = Duration::from_secs(30);

/// When the agencies were read, and what they were.
type Read = Option<(Instant, Vec<Agency>)>;

#[derive(Debug, Clone)]
pub(crate) struct AgencyCache {
    fresh_for: Duration,
    read: Arc<Mutex<Read>>,
}

impl Default for AgencyCache {
    fn default() -> Self {
        Self::fresh_for(AGENCIES_FRESH_FOR)
    }
}

impl AgencyCache {
    pub(crate) fn fresh_for(fresh_for: Duration) -> Self {
        AgencyCache {
            fresh_for,
            read: Arc::default(),
        }
    }

    /// The agencies read less than `fresh_for` ago, or those `load` reads now.
    pub(crate) async fn get_or_load<F>(&self, load: F) -> Result<Vec<Agency>, StoreError>
    where
        F: Future<Output = Result<Vec<Agency>, StoreError>>,
    {
        if let Some((at, agencies)) = &*self.read.lock().unwrap_or_else(PoisonError::into_inner)
            && at.elapsed() < self.fresh_for
        {
            return Ok(agencies.clone());
        }
        let agencies = load.await?;
        *self.read.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), agencies.clone()));
        Ok(agencies)
    }

    /// After a save: the next read goes to the store.
    pub(crate) fn forget(&self) {
        *self.read.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn read(cache: &AgencyCache, loads: &AtomicUsize) -> Vec<Agency> {
        cache
            .get_or_load(async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            })
            .await
            .expect("the loader does not fail")
    }

    #[tokio::test]
    async fn reads_once_while_fresh_and_again_after_a_save() {
        let (cache, loads) = (AgencyCache::default(), AtomicUsize::new(0));
        read(&cache, &loads).await;
        read(&cache.clone(), &loads).await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "the second read is served from memory"
        );
        cache.forget();
        read(&cache, &loads).await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "a save through the store is seen at once"
        );
    }

    #[tokio::test]
    async fn reads_again_once_stale_and_keeps_nothing_after_a_failure() {
        let (cache, loads) = (AgencyCache::fresh_for(Duration::ZERO), AtomicUsize::new(0));
        read(&cache, &loads).await;
        read(&cache, &loads).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        let cache = AgencyCache::default();
        let failed = cache
            .get_or_load(async { Err(StoreError::unavailable("down")) })
            .await;
        assert!(failed.is_err());
        read(&cache, &loads).await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            3,
            "a failed read is not remembered"
        );
    }
}
