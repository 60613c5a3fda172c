//! An agent at work: the ports the console's use cases run with, and the session every one of
//! them starts from, which authorises in one place. No token, or an unknown or disabled one,
//! is `Unauthorized`; a ticket the agent's agency neither holds nor kept a referral to is
//! `NotFound` (its existence is not confirmed); a role or access too low is `Forbidden`.

use ventanilla_domain::model::agents::{Access, Agent, AgentToken, AuditAction, AuditEntry, Role};
use ventanilla_domain::model::mail_queue::MailIntent;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, AuditLog, MailQueue, StatsStore, StoreError, Throttle,
    TicketStore,
};
use ventanilla_domain::{
    AgencyCode, FieldError, FieldProblem, Message, Ticket, TicketChange, TicketNumber,
};

use std::sync::Arc;

use crate::append::{Step, append};
use crate::{AppError, Desk, Site};

/// What the console's store must offer (the throttle and the mail queue: an agent's reply
/// is queued and sent like every automatic mail).
pub trait AgentPorts:
    TicketStore
    + StatsStore
    + AgentDirectory
    + AgencyDirectory
    + AuditLog
    + Throttle
    + MailQueue
    + 'static
{
}
impl<T> AgentPorts for T where
    T: TicketStore
        + StatsStore
        + AgentDirectory
        + AgencyDirectory
        + AuditLog
        + Throttle
        + MailQueue
        + 'static
{
}

/// Who is asking, and the site as it stands for their request.
/// Made only by [`Session::open`], from a valid token.
pub struct Session<S, B, M> {
    pub(crate) desk: Arc<Desk<S, B, M, ()>>,
    /// The site with the agencies as they stand now.
    pub(crate) site: Site,
    pub(crate) agent: Agent,
}

impl<S, B, M> Session<S, B, M> {
    /// The site as it stands for this request.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Who is asking.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }
}

impl<S, B, M> std::fmt::Debug for Session<S, B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("agent", &self.agent.id)
            .finish_non_exhaustive()
    }
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The agency whose settings (calendar, canned responses) the agent changes: their own
    /// (admins), or any configured one (operators).
    pub(crate) fn managed_agency(&self, agency: Option<&str>) -> Result<AgencyCode, AppError> {
        self.require(Role::Admin)?;
        let code = self.readable_agency(agency)?;
        if code != self.agent.agency {
            self.require(Role::Operator)?;
        }
        Ok(code)
    }

    /// The agency an agent names (a calendar's, which is public): their own by default; any
    /// configured one.
    pub(crate) fn readable_agency(&self, agency: Option<&str>) -> Result<AgencyCode, AppError> {
        match agency.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(self.agent.agency.clone()),
            Some(text) => AgencyCode::parse(text)
                .ok()
                .filter(|code| self.site.settings.agency(code).is_some())
                .ok_or_else(|| {
                    AppError::invalid(FieldError::new("agency", FieldProblem::UnknownValue))
                }),
        }
    }

    /// The session of the active agent whose token this is (the bearer token as sent).
    pub async fn open(desk: Arc<Desk<S, B, M, ()>>, token: Option<&str>) -> Result<Self, AppError> {
        let token = token
            .and_then(|t| AgentToken::parse(t).ok())
            .ok_or(AppError::Unauthorized)?;
        let agent = desk
            .store
            .agent_by_token(&token.hash())
            .await?
            .filter(|a| a.active)
            .ok_or(AppError::Unauthorized)?;
        let site = desk.site.current(&desk.store).await?;
        Ok(Session { desk, site, agent })
    }

    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.agent.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The ticket, if the agent's access reaches `needed`.
    pub async fn ticket(&self, number: &str, needed: Access) -> Result<Ticket, AppError> {
        let number = TicketNumber::parse(number).map_err(|_| AppError::NotFound)?;
        let ticket = match self.desk.store.ticket(&number).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Err(AppError::NotFound),
            Err(error) => return Err(error.into()),
        };
        self.may(&ticket, needed)?;
        Ok(ticket)
    }

    /// Whether the agent's access to the ticket, as it stands, reaches `needed`; a ticket
    /// the agent may not see at all is "not found".
    pub fn may(&self, ticket: &Ticket, needed: Access) -> Result<(), AppError> {
        match self.agent.access(ticket) {
            Access::None => Err(AppError::NotFound),
            access if access < needed => Err(AppError::Forbidden),
            _ => Ok(()),
        }
    }

    /// Appends a message (and a change, and the mails it owes) to the ticket as it stands. Access is checked again
    /// on every try: a transfer that won the race may have taken the ticket out of the
    /// agent's reach.
    pub async fn append(
        &self,
        ticket: Ticket,
        needed: Access,
        change: impl Fn(&Ticket) -> Result<TicketChange, AppError>,
        message: Message,
        mails: Vec<MailIntent>,
    ) -> Result<Ticket, AppError> {
        append(&self.desk.store, ticket, |ticket: &Ticket| {
            self.may(ticket, needed)?;
            not_merged(ticket)?;
            Ok::<_, AppError>(Some(Step {
                change: change(ticket)?,
                message: Some(message.clone()),
                mails: mails.clone(),
            }))
        })
        .await?
        .ok_or_else(|| unreachable!("an agent's append always has a step to write"))
    }

    /// Records that the agent did `action` on ticket `number`, which needs no more detail.
    pub async fn audit_ticket(
        &self,
        action: AuditAction,
        number: &TicketNumber,
    ) -> Result<(), AppError> {
        self.audit(action, Some(number), String::new()).await
    }

    /// Records what the agent did; an audit that cannot be written fails the request (the
    /// action already happened, so the log says so).
    pub async fn audit(
        &self,
        action: AuditAction,
        ticket: Option<&TicketNumber>,
        detail: String,
    ) -> Result<(), AppError> {
        let entry = AuditEntry {
            at: self.site.clock.now(),
            agent: self.agent.id.clone(),
            action,
            ticket: ticket.cloned(),
            detail,
        };
        self.desk.store.record(&entry).await.map_err(|error| {
            tracing::error!(%error, ?action, "audit entry not written");
            AppError::from(error)
        })
    }
}

/// A duplicate merged into another ticket takes no more work: the survivor does.
pub fn not_merged(ticket: &Ticket) -> Result<(), AppError> {
    match ticket.merged_into {
        Some(_) => Err(AppError::NotAllowed(
            "the ticket was merged into another (merged_into): work on that one",
        )),
        None => Ok(()),
    }
}
