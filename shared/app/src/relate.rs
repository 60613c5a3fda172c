//! Related tickets: an agent says two tickets of their agency belong together (the same
//! matter asked twice, a complaint about a request); each lists the other, and each thread
//! says who related them and when. Each keeps its own conversation (`merge` joins a
//! duplicate into another).

use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::model::ticket::MAX_RELATED;
use ventanilla_domain::ports::StoreError;
use ventanilla_domain::{
    Author, Body, FieldError, FieldProblem, Message, Ticket, TicketChange, TicketNumber,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Relates `ticket` (read with `Session::ticket`, full access) and the ticket numbered
    /// `other`, which the agent must work too: one the agent may not see is refused as one
    /// that does not exist. The ticket as it stands after.
    pub async fn relate(&self, ticket: Ticket, other: &str) -> Result<Ticket, AppError> {
        self.may(&ticket, Access::Full)?;
        let unknown = || AppError::invalid(FieldError::new("number", FieldProblem::UnknownValue));
        let other = TicketNumber::parse(other)
            .map_err(|e| AppError::invalid(FieldError::new("number", e.problem)))?;
        if other == ticket.number {
            return Err(unknown());
        }
        let other = match self.desk.store.ticket(&other).await {
            Ok(found) if self.agent.access(&found) == Access::Full => found,
            Ok(_) | Err(StoreError::NotFound) => return Err(unknown()),
            Err(error) => return Err(error.into()),
        };
        // A merged duplicate takes no more work: refused before either side is written.
        crate::session::not_merged(&ticket)?;
        crate::session::not_merged(&other)?;
        let full =
            |t: &Ticket| t.related.len() >= MAX_RELATED && !t.related.contains(&other.number);
        if full(&ticket) || full(&other) {
            return Err(AppError::invalid(FieldError::new(
                "number",
                FieldProblem::TooLong { max: MAX_RELATED },
            )));
        }
        let (first, second) = (ticket.number.clone(), other.number.clone());
        let updated = self.list_related(ticket, &second).await?;
        self.list_related(other, &first).await?;
        self.audit(
            AuditAction::Relate,
            Some(&first),
            format!("related to {second}"),
        )
        .await?;
        Ok(updated)
    }

    /// Lists `number` on `ticket`, with a line in its thread (none when it was already).
    async fn list_related(
        &self,
        ticket: Ticket,
        number: &TicketNumber,
    ) -> Result<Ticket, AppError> {
        if ticket.related.contains(number) {
            return Ok(ticket);
        }
        let text = format!(
            "Relacionado con el ticket {number} por {}.",
            self.agent.name
        );
        let body = Body::parse(&text).map_err(AppError::invalid)?;
        let line = Message::system_event(
            self.site.ids.message_id(),
            self.site.clock.now(),
            Author::Agent(self.agent.reference()),
            body,
        );
        let related = number.clone();
        self.append(
            ticket,
            Access::Full,
            |_| {
                Ok(TicketChange {
                    related: Some(related.clone()),
                    ..TicketChange::default()
                })
            },
            line,
            Vec::new(),
        )
        .await
    }
}
