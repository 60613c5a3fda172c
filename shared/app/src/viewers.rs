//! Who else has a ticket open in the console: each console notes its agent on the ticket for
//! a minute, renews the note while the ticket stays open, and is told the others. A
//! short-lived record in the store, no websockets; a console closed without a word drops
//! out within the minute.

use ventanilla_domain::Ticket;
use ventanilla_domain::model::agents::{Access, Viewer};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// How long a note that an agent has a ticket open lasts: the console renews it every 20 s.
pub const OPEN_FOR: chrono::Duration = chrono::Duration::seconds(60);

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Notes that the agent has `ticket` open (read with `Session::ticket`; anyone who may
    /// read it) and returns the other agents who have it open now.
    pub async fn viewing(&self, ticket: &Ticket) -> Result<Vec<Viewer>, AppError> {
        self.may(ticket, Access::Referral)?;
        let now = self.site.clock.now();
        let me = Viewer {
            agent: self.agent.reference(),
            until: now.plus(OPEN_FOR),
        };
        self.desk.store.mark_open(&ticket.number, &me).await?;
        let mut others = self.desk.store.open_by(&ticket.number, now).await?;
        others.retain(|viewer| viewer.agent.id != self.agent.id);
        Ok(others)
    }
}
