//! An internal note: for the agents, never sent to the citizen. An agency that kept a
//! referral to a ticket it transferred may still note on it.

use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::{Author, Body, Message, MessageId, MessageKind, Ticket, TicketChange};

use ventanilla_domain::model::ticket::MailMeta;

use crate::AppError;
use crate::reply::AgentMail;
use crate::session::{AgentPorts, Session};

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Adds the note to `ticket` (read with `Session::ticket`); the note's id and the ticket
    /// after it. With `seen_version`, refused if the ticket moved since the agent saw it
    /// (`reply::still_as_seen`). `from_mail`: the agent's mail it came in (`mail_answer`),
    /// whose files, ids and raw copy it keeps.
    pub async fn note(
        &self,
        ticket: Ticket,
        text: Body,
        seen_version: Option<u64>,
        from_mail: Option<AgentMail>,
    ) -> Result<(MessageId, Ticket), AppError> {
        self.may(&ticket, Access::Referral)?;
        let mut message = self.internal_note(text);
        if let Some(mail) = from_mail {
            message.attachments = mail.files;
            message.mail = Some(MailMeta {
                message_ids: mail.message_ids,
                raw: Some(mail.raw),
                ..MailMeta::default()
            });
        }
        let id = message.id;
        let updated = self
            .append(
                ticket,
                Access::Referral,
                |current| {
                    crate::reply::still_as_seen(current, seen_version)?;
                    Ok(TicketChange::default())
                },
                message,
                Vec::new(),
            )
            .await?;
        self.audit_ticket(AuditAction::Note, &updated.number)
            .await?;
        Ok((id, updated))
    }

    /// A note by this agent, written now.
    pub(crate) fn internal_note(&self, body: Body) -> Message {
        Message {
            id: self.site.ids.message_id(),
            at: self.site.clock.now(),
            kind: MessageKind::InternalNote,
            author: Author::Agent(self.agent.reference()),
            body,
            attachments: Vec::new(),
            mail: None,
        }
    }
}
