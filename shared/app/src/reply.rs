//! An agent's public reply: stored on the ticket with its mail queued (marked undelivered),
//! then sent to the citizen by mail from the service desk's address, threaded into their
//! conversation. A failed send loses nothing: the mail queue tries it again.

use ventanilla_domain::BlobKey;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailState, Notice};
use ventanilla_domain::model::ticket::MailMeta;
use ventanilla_domain::ports::{Blob, BlobStore, Mailer, StoreError};
use ventanilla_domain::{
    AttachmentRef, Author, Body, Lang, Message, MessageId, MessageKind, Status, Ticket,
    TicketChange,
};

use crate::AppError;
use crate::attachments;
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
    /// The version of the ticket the agent saw (`None`: whatever it is now). If it has moved
    /// since (another reply, the citizen's mail), the reply is refused with the ticket as it
    /// stands (`AppError::Conflict`): never two answers that cross.
    pub seen_version: Option<u64>,
    /// The agent's own mail the reply came in (an answer to an alert, `mail_answer`).
    pub from_mail: Option<AgentMail>,
}

/// What is kept of an agent's mail that answered an alert: its files (stored at receipt),
/// its Message-IDs (a redelivery is known) and its raw copy (erased with the ticket).
#[derive(Debug, Clone)]
pub struct AgentMail {
    pub files: Vec<AttachmentRef>,
    pub message_ids: Vec<MailMessageId>,
    pub raw: BlobKey,
}

/// Refuses a write on a ticket that moved since the agent saw `seen` (checked on the
/// version written, so two agents answering at once: one goes first, the other sees it).
pub fn still_as_seen(current: &Ticket, seen: Option<u64>) -> Result<(), AppError> {
    match seen {
        Some(seen) if seen != current.version => Err(AppError::Conflict(Box::new(current.clone()))),
        _ => Ok(()),
    }
}

#[derive(Debug)]
pub struct Replied {
    pub message_id: MessageId,
    /// Whether the mail provider took it; `None` when the requester has no address (a
    /// caller's ticket: the agent tells them).
    pub delivered: Option<bool>,
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
        // Refused before any file is stored when already stale; checked again as it is written.
        still_as_seen(&ticket, reply.seen_version)?;
        let own_id = self.site.new_mail_id();
        let folder = uuid::Uuid::now_v7().simple();
        let (mut files, mail_ids, raw) = match reply.from_mail {
            Some(mail) => (mail.files, mail.message_ids, Some(mail.raw)),
            None => (Vec::new(), Vec::new(), None),
        };
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
        // A caller who gave no address is answered by the agent, not by mail.
        let by_mail = ticket.requester.email.is_some();
        let message = Message {
            id: self.site.ids.message_id(),
            at: self.site.clock.now(),
            kind: MessageKind::PublicReply,
            author: Author::Agent(self.agent.reference()),
            body: reply.text,
            attachments: files,
            // Our id first: the one the citizen's mail carries.
            mail: (by_mail || raw.is_some()).then(|| MailMeta {
                message_ids: by_mail
                    .then(|| own_id.clone())
                    .into_iter()
                    .chain(mail_ids)
                    .collect(),
                raw,
                ..MailMeta::default()
            }),
        };
        // Stored with its mail queued and marked undelivered, in one write; sent after. A
        // failed send loses nothing: the queue tries again.
        let id = message.id;
        let (status, seen) = (reply.status, reply.seen_version);
        let mail = by_mail.then(|| {
            self.site
                .mail_intent(own_id, Notice::AgentReply, id, Lang::Es, None)
        });
        let appended = self
            .append(
                ticket,
                Access::Full,
                |current| {
                    still_as_seen(current, seen)?;
                    Ok(TicketChange {
                        undelivered: by_mail.then_some(id),
                        ..TicketChange::to_status(
                            current,
                            next_status(current, status)?,
                            message.at,
                            self.site.settings.deadlines.suspension_max_days,
                        )
                    })
                },
                message.clone(),
                mail.clone().into_iter().collect(),
            )
            .await;
        let updated = match appended {
            Ok(updated) => updated,
            Err(error) => {
                // The reply surely did not land (refused, not the store's failure, after
                // which it may have): its files belong to no ticket.
                // Nor when the same agent's mail was stored already: its files are that one's.
                if !error.is_transient()
                    && !matches!(error, AppError::Store(StoreError::AlreadyExists))
                {
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
        let delivered = match &mail {
            Some(mail) => Some(
                desk.send_queued(&self.site, &updated, mail, Some(&message))
                    .await
                    == MailState::Sent,
            ),
            None => None,
        };
        if delivered == Some(false) {
            tracing::error!(ticket = %updated.number, "reply stored, not yet delivered");
        }
        let ticket = desk.store.ticket(&updated.number).await?;
        Ok(Replied {
            message_id: id,
            delivered,
            ticket,
        })
    }
}
