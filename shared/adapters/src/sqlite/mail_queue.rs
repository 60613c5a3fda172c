//! The mail queue: the `MailQueue` port. A queued mail is a JSON document with its state,
//! next try and version beside it for the queries and the conditional save.

use super::*;
use ventanilla_domain::model::mail_queue::{MailState, QueuedMail};
use ventanilla_domain::ports::MailQueue;

/// Inserts a queued mail in the caller's transaction; `AlreadyExists` when its Message-ID
/// is queued already.
pub(super) fn insert(tx: &Connection, mail: &QueuedMail) -> Result<(), StoreError> {
    let inserted = execute(
        tx,
        "INSERT INTO mail_queue (id, state, agency, next_try, version, mail)
             VALUES (?1, ?2, ?6, ?3, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
        params![
            mail.id().as_str(),
            mail.state.as_str(),
            mail.next_try.to_string(),
            mail.version,
            to_json(mail)?,
            mail.agency.as_str(),
        ],
    )
    .map_err(db)?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

impl MailQueue for SqliteStore {
    async fn queue_mail(&self, mail: &QueuedMail) -> Result<(), StoreError> {
        let mail = mail.clone();
        self.transaction(move |tx| insert(tx, &mail)).await
    }

    async fn save_mail(&self, mail: &QueuedMail) -> Result<bool, StoreError> {
        let mail = mail.clone();
        self.transaction(move |tx| {
            let written = execute(
                tx,
                "UPDATE mail_queue SET state = ?2, next_try = ?3, version = ?4, mail = ?5, agency = ?6
                     WHERE id = ?1 AND version = ?4 - 1",
                params![
                    mail.id().as_str(),
                    mail.state.as_str(),
                    mail.next_try.to_string(),
                    mail.version,
                    to_json(&mail)?,
                    mail.agency.as_str(),
                ],
            )
            .map_err(db)?;
            Ok(written == 1)
        })
        .await
    }

    async fn queued_mail(&self, id: &MailMessageId) -> Result<QueuedMail, StoreError> {
        let found: Vec<QueuedMail> = self
            .documents("SELECT mail FROM mail_queue WHERE id = ?1", id.as_str())
            .await?;
        found.into_iter().next().ok_or(StoreError::NotFound)
    }

    async fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<QueuedMail>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.transaction(move |tx| {
            json_rows(
                tx,
                "SELECT mail FROM mail_queue WHERE state = ?1 AND next_try <= ?2
                     ORDER BY next_try LIMIT ?3",
                params![MailState::Pending.as_str(), now.to_string(), limit],
            )
        })
        .await
    }

    async fn parked_mail(
        &self,
        agency: &AgencyCode,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let agency = agency.as_str().to_owned();
        self.transaction(move |tx| {
            json_rows(
                tx,
                "SELECT mail FROM mail_queue WHERE state = ?1 AND agency = ?2
                     ORDER BY next_try DESC LIMIT ?3",
                params![MailState::Parked.as_str(), agency, limit],
            )
        })
        .await
    }
}
