//! An internal note: for the agents, never sent to the citizen. An agency that kept a
//! referral to a ticket it transferred may still note on it.

use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::{Author, Body, Message, MessageId, MessageKind, Ticket, TicketChange};

use crate::AppError;
use crate::session::{AgentPorts, Session};

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Adds the note to `ticket` (read with `Session::ticket`); the note's id and the ticket
    /// after it. With `seen_version`, refused if the ticket moved since the agent saw it
    /// (`reply::still_as_seen`).
    pub async fn note(
        &self,
        ticket: Ticket,
        text: Body,
        seen_version: Option<u64>,
    ) -> Result<(MessageId, Ticket), AppError> {
        self.may(&ticket, Access::Referral)?;
        let message = self.internal_note(text);
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
