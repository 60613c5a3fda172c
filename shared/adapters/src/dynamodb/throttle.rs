//! Counters with a window: the `Throttle` port.

use super::*;

/// Throttle windows are items `THROTTLE#<key>#<window start>` with an atomic `ADD`; their TTL
/// lets DynamoDB drop them once the window is over.
pub(super) fn throttle_key(key: &ThrottleKey, window: Duration, now: Timestamp) -> (Item, i64) {
    let start = window_start(window, now);
    let expires = start.saturating_add(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
    (
        self::key(format!("THROTTLE#{}#{start}", key.as_str()), META),
        expires,
    )
}

pub(super) fn count_of(item: Option<&HashMap<String, AttributeValue>>) -> Result<u64, StoreError> {
    match item.and_then(|item| item.get("count")) {
        Some(AttributeValue::N(count)) => count.parse().map_err(unavailable),
        Some(_) => Err(StoreError::unavailable("throttle item with a bad count")),
        None => Ok(0),
    }
}

impl Throttle for DynamoStore {
    async fn take(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
        limit: u64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        // The condition makes the count and the check one write: parallel takers are
        // serialised by DynamoDB, and the ones past the limit fail the condition.
        let condition = "attribute_not_exists(#count) OR #count < :bound";
        self.add_to_count(key, window, now, 1, condition, limit)
            .await
    }

    async fn release(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Nothing to give back when the count is gone (the window ended meanwhile).
        self.add_to_count(key, window, now, -1, "#count > :bound", 0)
            .await
            .map(|_| ())
    }

    async fn counts(
        &self,
        keys: &[ThrottleKey],
        window: Duration,
        now: Timestamp,
    ) -> Result<Vec<u64>, StoreError> {
        let wanted: Vec<Item> = keys
            .iter()
            .map(|key| throttle_key(key, window, now).0)
            .collect();
        if wanted.len() > 100 {
            return Err(StoreError::unavailable(
                "more than 100 throttle counts at once",
            ));
        }
        let found = self.batch_get(&wanted).await?;
        wanted
            .iter()
            .map(|item| count_of(found.get(partition_key(item)?)))
            .collect()
    }
}

impl DynamoStore {
    /// Adds `add` to a window's count, in one conditional write, if `condition` holds
    /// (`:bound` is `bound`): `false` when it did not.
    async fn add_to_count(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
        add: i64,
        condition: &str,
        bound: u64,
    ) -> Result<bool, StoreError> {
        let (item_key, expires) = throttle_key(key, window, now);
        let written = self
            .client
            .get()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("ADD #count :add SET #ttl = :expires")
            .condition_expression(condition)
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":add", n(add))
            .expression_attribute_values(":expires", n(expires))
            .expression_attribute_values(":bound", n(bound))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }
}
