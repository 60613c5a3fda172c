//! Mail out as `.eml` files in a folder: the embedded default. Every mail the local server
//! would send lands here, byte for byte what SES would receive, for a person or a test to read.
//! Like a receiver that deduplicates on the Message-ID, the folder holds one file per
//! Message-ID: a mail sent again after a crash rewrites its file instead of adding one, and
//! `outbox.ids/sent-again` gets a line (when, and the hash of the Message-ID), so that a
//! person or a test sees how often it happened.

use std::path::{Path, PathBuf};

use sha2::Digest;
use ventanilla_domain::model::mail::OutgoingMail;

use crate::folder::write_atomically;
use crate::system::SystemClock;
use ventanilla_domain::ports::{Clock, MailError, Mailer, SentMail};

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    /// Beside the folder (`outbox.ids`): for each Message-ID sent, the name of its file.
    ids: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let mut ids = dir.clone().into_os_string();
        ids.push(".ids");
        OutboxMailer {
            dir,
            ids: ids.into(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The file a Message-ID's mail is in: the one named when it was first sent, or a new name
/// (sorted by time of sending, so `ls` shows the conversation in order), written down before
/// the mail so that no crash leaves a mail without its name.
fn file_name(ids: &Path, message_id: &str) -> std::io::Result<String> {
    let digest = sha2::Sha256::digest(message_id.as_bytes());
    let hash = hex::encode(&digest[..16]);
    let marker = ids.join(&hash);
    match std::fs::read_to_string(&marker) {
        Ok(name) if name.ends_with(".eml") => {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(ids.join("sent-again"))?;
            let line = format!("{} {hash}\n", SystemClock.now());
            std::io::Write::write_all(&mut log, line.as_bytes())?;
            return Ok(name);
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let name = format!(
        "{}-{}.eml",
        SystemClock.now().to_string().replace([':', '.'], ""),
        uuid::Uuid::now_v7()
    );
    write_atomically(&marker, name.as_bytes())?;
    Ok(name)
}

impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<SentMail, MailError> {
        let (dir, ids, raw) = (self.dir.clone(), self.ids.clone(), mail.raw.clone());
        let message_id = mail.message_id.as_str().to_owned();
        let name = tokio::task::spawn_blocking(move || {
            let name = file_name(&ids, &message_id)?;
            write_atomically(&dir.join(&name), &raw)?;
            Ok::<_, std::io::Error>(name)
        })
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
