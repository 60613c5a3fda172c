//! Backoff for the retries the adapters do themselves (optimistic-concurrency losses); the
//! SDK already retries throttling and transient network faults.

use std::time::Duration;

use rand::Rng;

/// Full jitter: a random wait up to an exponentially growing cap, so that contenders that
/// lost the same race do not collide again in lock-step.
pub(crate) fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    let ceiling = exp.min(cap).as_micros().max(1) as u64;
    Duration::from_micros(rand::rng().random_range(0..=ceiling))
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
