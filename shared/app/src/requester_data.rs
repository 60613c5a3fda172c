//! A requester's rights over their personal data (LOPDP): access (everything the agency holds
//! about them, each ticket with its whole thread) and erasure (`privacy` in the domain says
//! what goes and what stays). An agency answers for the data in its own tickets; another
//! agency's are its own to export or erase. Each export and erasure is in the ticket's audit
//! trail.

use ventanilla_domain::model::agents::{AuditAction, Role};
use ventanilla_domain::ports::{BlobStore, ThreadQuery};
use ventanilla_domain::{Email, Ticket, TicketNumber};

use crate::session::{AgentPorts, Session};
use crate::show_ticket::ShownTicket;
use crate::{AppError, erasure};

impl<S: AgentPorts, B: BlobStore, M> Session<S, B, M> {
    /// Every ticket of the admin's agency opened with `email`, each with its whole thread.
    pub async fn export_requester(&self, email: &Email) -> Result<Vec<ShownTicket>, AppError> {
        let tickets = self.requester_tickets(email).await?;
        let mut shown = Vec::with_capacity(tickets.len());
        // The right of access is to all of it: every message, not a page.
        let whole = ThreadQuery::whole();
        for ticket in tickets {
            // Each ticket as written: a duplicate merged into another is exported on its own.
            shown.push(self.with_links(ticket, &whole, false).await?);
        }
        for ticket in &shown {
            self.audit_ticket(AuditAction::ExportPersonalData, &ticket.ticket.number)
                .await?;
        }
        Ok(shown)
    }

    /// Erases the personal data of every ticket of the admin's agency opened with `email`.
    /// Asked again, it finds nothing: the address is gone from the tickets.
    pub async fn erase_requester(&self, email: &Email) -> Result<Vec<TicketNumber>, AppError> {
        let tickets = self.requester_tickets(email).await?;
        let mut erased = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            erasure::erase_ticket(
                &self.desk.store,
                &self.desk.blobs,
                &ticket.number,
                &self.agent.id,
                self.site.clock.now(),
                "a pedido del titular de los datos",
            )
            .await
            .map_err(|error| {
                tracing::error!(%error, ticket = %ticket.number, "erasure not finished");
                AppError::Erasure(error)
            })?;
            erased.push(ticket.number);
        }
        Ok(erased)
    }

    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, AppError> {
        self.require(Role::Admin)?;
        let tickets = self.desk.store.requester_tickets(email).await?;
        Ok(tickets
            .into_iter()
            .filter(|t| t.agency == self.agent.agency)
            .collect())
    }
}
