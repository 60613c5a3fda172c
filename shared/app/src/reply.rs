//! An agent's public reply: stored on the ticket first (marked undelivered), then sent to the
//! citizen by mail from the service desk's address, threaded into their conversation. A
//! failed send loses nothing: the reply is sent again when the ticket is opened or listed.

use ventanilla_domain::BlobKey;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::ticket::MailMeta;
use ventanilla_domain::ports::{Blob, BlobStore, Mailer, ThreadQuery};
use ventanilla_domain::{
    AttachmentRef, Author, Body, Message, MessageId, MessageKind, Status, Ticket, TicketChange,
};

use crate::AppError;
use crate::attachments;
use crate::sending::send_reply;
use crate::session::{AgentPorts, Session};

/// A file an agent attaches, as it arrived.
#[derive(Debug, Clone)]
pub struct ReplyFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What an agent writes to the citizen.
#[derive(Debug)]
pub struct NewReply {
    pub text: Body,
    /// The status the ticket moves to with the reply, if any.
    pub status: Option<Status>,
    pub files: Vec<ReplyFile>,
}

#[derive(Debug)]
pub struct Replied {
    pub message_id: MessageId,
    /// Whether the mail provider took it.
    pub delivered: bool,
    /// The ticket as it stands after the send.
    pub ticket: Ticket,
}

/// The status a change asks for, checked against the state machine from where the ticket
/// stands.
pub fn next_status(ticket: &Ticket, to: Option<Status>) -> Result<Option<Status>, AppError> {
    to.map(|to| {
        ticket
            .status
            .transition_to(to)
            .map_err(AppError::Transition)
    })
    .transpose()
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// Answers the citizen on `ticket` (read with `Session::ticket`, full access).
    pub async fn reply(&self, ticket: Ticket, reply: NewReply) -> Result<Replied, AppError> {
        let desk = &*self.desk;
        self.may(&ticket, Access::Full)?;
        let own_id = MailMessageId::parse(&format!(
            "{}@{}",
            uuid::Uuid::now_v7(),
            self.site.settings.mail_domain
        ))
        .map_err(|_| AppError::Misconfigured("the mail domain does not make valid Message-IDs"))?;
        let folder = uuid::Uuid::now_v7().simple();
        let mut files = Vec::with_capacity(reply.files.len());
        for (index, file) in reply.files.into_iter().enumerate() {
            let key = BlobKey::parse(&format!("attachments/replies/{folder}/{index}"))
                .unwrap_or_else(|_| unreachable!("a uuid and a number make a valid key"));
            let size = file.bytes.len() as u64;
            let stored = AttachmentRef::new(&file.name, &file.content_type, size, key.clone());
            let blob = Blob {
                bytes: file.bytes,
                content_type: stored.content_type.clone(),
            };
            if let Err(error) = desk.blobs.put(&key, blob).await {
                tracing::error!(%error, "reply attachment not stored");
                let keys: Vec<BlobKey> = files
                    .iter()
                    .map(|a: &AttachmentRef| a.blob.clone())
                    .collect();
                attachments::discard(&desk.blobs, &keys).await;
                return Err(error.into());
            }
            files.push(stored);
        }
        let message = Message {
            id: self.site.ids.message_id(),
            at: self.site.clock.now(),
            kind: MessageKind::PublicReply,
            author: Author::Agent(self.agent.reference()),
            body: reply.text,
            attachments: files,
            mail: Some(MailMeta {
                message_ids: vec![own_id],
                raw: None,
                ..MailMeta::default()
            }),
        };
        // Stored first, marked undelivered; sent after. A failed send loses nothing.
        let id = message.id;
        let status = reply.status;
        let appended = self
            .append(
                ticket,
                Access::Full,
                |current| {
                    Ok(TicketChange {
                        status: next_status(current, status)?,
                        undelivered: Some(id),
                        ..TicketChange::default()
                    })
                },
                message.clone(),
            )
            .await;
        let updated = match appended {
            Ok(updated) => updated,
            Err(error) => {
                // The reply surely did not land (refused, not the store's failure, after
                // which it may have): its files belong to no ticket.
                if !error.is_transient() {
                    let keys: Vec<BlobKey> =
                        message.attachments.iter().map(|a| a.blob.clone()).collect();
                    attachments::discard(&desk.blobs, &keys).await;
                }
                return Err(error);
            }
        };
        self.audit(
            AuditAction::Reply,
            Some(&updated.number),
            status.map_or(String::new(), |s| format!("status {}", s.wire())),
        )
        .await?;
        let sent = send_reply(
            &self.site,
            &desk.store,
            &desk.blobs,
            &desk.mailer,
            &updated.number,
            &message,
        )
        .await;
        let delivered = match sent {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, ticket = %updated.number, "reply stored, not yet delivered");
                false
            }
        };
        let ticket = desk.store.ticket(&updated.number).await?;
        Ok(Replied {
            message_id: id,
            delivered,
            ticket,
        })
    }

    /// Sends again every public reply of the ticket the provider has not taken yet.
    pub async fn resend_undelivered(&self, ticket: &Ticket) {
        let desk = &*self.desk;
        // Replies wait for the provider for minutes, not a hundred messages.
        let newest = ThreadQuery::newest(None);
        let Ok((_, page)) = desk.store.thread_page(&ticket.number, &newest).await else {
            return;
        };
        for message in page
            .items
            .iter()
            .filter(|m| ticket.undelivered.contains(&m.id))
        {
            let sent = send_reply(
                &self.site,
                &desk.store,
                &desk.blobs,
                &desk.mailer,
                &ticket.number,
                message,
            )
            .await;
            if let Err(error) = sent {
                tracing::warn!(%error, ticket = %ticket.number, "reply still not delivered");
            }
        }
    }
}
