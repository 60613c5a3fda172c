//! The figures checked against the tickets, and rebuilt from them: `ventanilla-local stats
//! check|rebuild`. Every ticket write keeps them in its own transaction, so a difference
//! means figures written by hand, or a version that counted otherwise.

use ventanilla_domain::ports::{StatsStore, StoreError};
use ventanilla_domain::rules::stats::{Tally, contribution};

/// What a check found.
#[derive(Debug, Clone, Default)]
pub struct StatsCheck {
    pub tickets: usize,
    /// What the tickets count less what is kept: nothing when they agree.
    pub differences: Tally,
}

/// Counts every ticket and compares with the figures kept.
pub async fn check(store: &impl StatsStore) -> Result<StatsCheck, StoreError> {
    let mut counted = Tally::default();
    let mut tickets = 0;
    let mut after = None;
    loop {
        let (page, next) = store.every_ticket(after).await?;
        tickets += page.len();
        for ticket in &page {
            counted.merge(&contribution(ticket), 1);
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    counted.merge(&store.all_stats().await?, -1);
    Ok(StatsCheck {
        tickets,
        differences: counted,
    })
}

/// Checks, and adds the differences: afterwards the figures are what the tickets count.
/// Run it when no ticket is being written: a write between the count and the correction
/// would be counted twice (a second run finds and mends it).
pub async fn rebuild(store: &impl StatsStore) -> Result<StatsCheck, StoreError> {
    let found = check(store).await?;
    store.add_stats(&found.differences).await?;
    Ok(found)
}
