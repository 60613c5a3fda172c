//! The mail queue: the `MailQueue` port. One item per mail (`MAILQUEUE#<Message-ID>`); a
//! pending one is also in GSI1 under `MAILQUEUE#pending` by its next try, so the sweeper
//! reads only what is due, and a parked one under `MAILQUEUE#parked#<agency>`, for that
//! agency's admins. A finished one (sent, skipped, parked) expires by TTL.

use super::*;
use ventanilla_domain::model::mail_queue::{MailState, QueuedMail};
use ventanilla_domain::ports::MailQueue;

/// How long a finished mail's record stays (who was told what, and when; a parked one waits
/// that long for an admin).
const FINISHED_KEPT_DAYS: i64 = 90;

fn mail_pk(id: &MailMessageId) -> String {
    format!("MAILQUEUE#{}", id.as_str())
}

const PENDING_PK: &str = "MAILQUEUE#pending";

fn parked_pk(agency: &AgencyCode) -> String {
    format!("MAILQUEUE#parked#{agency}")
}

/// The item of a queued mail, indexed while it waits or is parked.
pub(super) fn queued_mail_item(mail: &QueuedMail) -> Result<Item, StoreError> {
    let mut item = key(mail_pk(mail.id()), META);
    item.insert("version".into(), n(mail.version));
    item.insert(
        "mail".into(),
        serde_dynamo::to_attribute_value(mail).map_err(unavailable)?,
    );
    let listed = match mail.state {
        MailState::Pending => Some(PENDING_PK.to_owned()),
        MailState::Parked => Some(parked_pk(&mail.agency)),
        MailState::Sent | MailState::Skipped => None,
    };
    if let Some(pk) = listed {
        item.insert("GSI1PK".into(), s(pk));
        item.insert(
            "GSI1SK".into(),
            s(format!("{}#{}", mail.next_try, mail.id().as_str())),
        );
    }
    if let Some(done) = mail
        .finished_at
        .filter(|_| mail.state != MailState::Pending)
    {
        let expires = done.plus(chrono::Duration::days(FINISHED_KEPT_DAYS));
        item.insert(TTL_ATTRIBUTE.into(), n(expires.unix_seconds()));
    }
    Ok(item)
}

impl DynamoStore {
    /// Up to `limit` mails of GSI1's partition `pk` up to `until` (all with `None`) that
    /// `keep` keeps, oldest first or newest first, page after page. One that cannot be read
    /// is logged and skipped: it must not stop the queue.
    async fn queued_under(
        &self,
        pk: String,
        until: Option<Timestamp>,
        forward: bool,
        limit: usize,
        keep: impl Fn(&QueuedMail) -> bool,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .index_name(QUEUE_INDEX)
                .expression_attribute_values(":pk", s(pk.clone()))
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit).unwrap_or(i32::MAX));
            request = match until {
                // Every key of an instant sorts before its "$" (ids are printable ASCII past it).
                Some(until) => request
                    .key_condition_expression("GSI1PK = :pk AND GSI1SK < :until")
                    .expression_attribute_values(":until", s(format!("{until}$"))),
                None => request.key_condition_expression("GSI1PK = :pk"),
            };
            let output = request.send().await.map_err(unavailable)?;
            for item in output.items() {
                match from_attribute::<QueuedMail>(item, "mail") {
                    Ok(mail) if keep(&mail) => found.push(mail),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(%error, "a queued mail's item cannot be read; skipped");
                    }
                }
                if found.len() == limit {
                    return Ok(found);
                }
            }
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(found),
            }
        }
    }
}

impl DynamoStore {
    /// Writes `mail` if the stored one is the version before it, or, for a new mail (version
    /// 1), if none is stored: `false` when the condition did not hold.
    async fn put_mail(&self, mail: &QueuedMail) -> Result<bool, StoreError> {
        let item = queued_mail_item(mail)?;
        let outcome = if mail.version == 1 {
            self.write_if(item, "attribute_not_exists(PK)", None, None)
                .await?
        } else {
            self.write_if(
                item,
                "#version = :seen",
                Some(HashMap::from([("#version".into(), "version".into())])),
                Some(HashMap::from([(":seen".into(), n(mail.version - 1))])),
            )
            .await?
        };
        match outcome {
            Conditional::Written => Ok(true),
            Conditional::Refused => Ok(false),
            Conditional::Busy => Err(StoreError::unavailable(
                "a transaction held the queued mail",
            )),
        }
    }
}

impl MailQueue for DynamoStore {
    async fn queue_mail(&self, mail: &QueuedMail) -> Result<(), StoreError> {
        if self.put_mail(mail).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn save_mail(&self, mail: &QueuedMail) -> Result<bool, StoreError> {
        self.put_mail(mail).await
    }

    async fn queued_mail(&self, id: &MailMessageId) -> Result<QueuedMail, StoreError> {
        // A Query, not a GetItem: every function that sends already may Query.
        let items = self.all_items(None, mail_pk(id)).await?;
        let item = items.first().ok_or(StoreError::NotFound)?;
        from_attribute(item, "mail")
    }

    async fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<QueuedMail>, StoreError> {
        // The index lags a little: what it says is due is checked again here, and the save
        // of a claim is conditional on the version read.
        self.queued_under(PENDING_PK.to_owned(), Some(now), true, limit, |m| {
            m.is_due(now)
        })
        .await
    }

    async fn parked_mail(
        &self,
        agency: &AgencyCode,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        self.queued_under(parked_pk(agency), None, false, limit, |_| true)
            .await
    }
}
