//! Mail out as `.eml` files in a folder: the embedded default. Every mail the local server
//! would send lands here, byte for byte what SES would receive, for a person or a test to read.

use std::path::PathBuf;

use ventanilla_domain::model::mail::OutgoingMail;

use crate::folder::write_atomically;
use crate::system::SystemClock;
use ventanilla_domain::ports::{Clock, MailError, Mailer, SentMail};

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        OutboxMailer { dir: dir.into() }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<SentMail, MailError> {
        // Names sort by time of sending, so `ls` shows the conversation in order.
        let name = format!(
            "{}-{}.eml",
            SystemClock.now().to_string().replace([':', '.'], ""),
            uuid::Uuid::now_v7()
        );
        let (dir, raw) = (self.dir.clone(), mail.raw.clone());
        let file_name = name.clone();
        tokio::task::spawn_blocking(move || write_atomically(&dir.join(file_name), &raw))
            .await
            .map_err(|e| MailError::Unavailable(e.into()))?
            .map_err(|e| MailError::Unavailable(e.into()))?;
        Ok(SentMail {
            provider_id: name,
            // Nothing rewrites our Message-ID on the way to the outbox.
            message_id: mail.message_id.clone(),
        })
    }
}
