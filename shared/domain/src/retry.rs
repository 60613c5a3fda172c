//! The one retry loop: a call that lost a race (a concurrent writer got there first) waits a
//! random moment and tries again. The adapters use it for their own losses (a transaction
//! cancelled by another, a number taken, keys DynamoDB left unread); the use cases for a
//! ticket changed between their read and their write. The SDK already retries throttling and
//! transient network faults.

use std::time::Duration;

use crate::ports::StoreError;
use rand::Rng;

/// Full jitter: a random wait up to an exponentially growing cap, so that contenders that
/// lost the same race do not collide again in lock-step.
fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    let ceiling = exp.min(cap).as_micros().max(1) as u64;
    Duration::from_micros(rand::rng().random_range(0..=ceiling))
}

/// How a write that loses races is tried again: how many tries in all, the backoff's first
/// and longest wait, and the reason given when the last try is lost too.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub attempts: u32,
    pub first_wait: Duration,
    pub longest_wait: Duration,
    pub gave_up: &'static str,
}

impl Retries {
    /// The wait before try `attempt + 1`.
    pub fn wait(&self, attempt: u32) -> Duration {
        backoff(attempt, self.first_wait, self.longest_wait)
    }
}

/// Runs `once` until it wins: `Ok(None)` means it lost a race (a concurrent writer got there
/// first) and is worth another try after a backoff; after `retries.attempts` losses,
/// `Unavailable` with `retries.gave_up` as the reason. Any error ends the tries at once.
pub async fn until_won<T, E, F, Fut>(retries: Retries, mut once: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    for attempt in 0..retries.attempts {
        if let Some(won) = once().await? {
            return Ok(won);
        }
        if attempt + 1 < retries.attempts {
            tokio::time::sleep(retries.wait(attempt)).await;
        }
    }
    Err(StoreError::unavailable(retries.gave_up).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_under_the_cap() {
        let cap = Duration::from_millis(50);
        for attempt in 0..40 {
            assert!(backoff(attempt, Duration::from_millis(2), cap) <= cap);
        }
    }
}
