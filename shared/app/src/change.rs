//! An agent changes a ticket's status, priority or assignee, or records how a request for
//! public information was answered, against the version they saw.

use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::{Access, AuditAction, Role};
use ventanilla_domain::model::information_answer::InformationAnswer;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{Clock, IdSource, StoreError, TicketStore};
use ventanilla_domain::{
    AgentId, AgentRef, Author, Body, Category, FieldError, FieldProblem, Message, Priority, Status,
    Ticket, TicketChange, TransitionError,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// What to change; `None` leaves a field as it is (`Some(None)` unassigns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<Option<AgentId>>,
    /// Requests for public information only (`Category::AccesoInformacion`).
    pub information_answer: Option<InformationAnswer>,
}

impl Change {
    pub fn status(to: Status) -> Self {
        Change {
            status: Some(to),
            ..Change::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The status machine does not allow it.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// `VersionConflict`: the ticket is no longer the version the agent saw.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The ticket after a change.
#[derive(Debug, Clone)]
pub struct Changed {
    pub ticket: Ticket,
    /// What changed, as the thread records it; `None` when nothing did.
    pub said: Option<String>,
}

/// Applies `change` to `ticket` as the agent saw it (the write fails with `VersionConflict`
/// if it is no longer that version): the status is checked against the state machine, the
/// term's clock follows it, and what changed is recorded in the thread as a system event.
/// Nothing to change returns the ticket as it is.
pub async fn apply(
    store: &impl TicketStore,
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
    ticket: &Ticket,
    change: Change,
    by: AgentRef,
    suspension_max_days: u32,
) -> Result<Changed, ChangeError> {
    let status = change
        .status
        .map(|to| ticket.status.transition_to(to))
        .transpose()?;
    let mut said = Vec::new();
    if let Some(to) = status {
        said.push(format!("status: {} -> {}", ticket.status, to));
    }
    if let Some(priority) = change.priority {
        said.push(format!("priority: {}", priority.wire()));
    }
    if let Some(assignee) = &change.assignee {
        said.push(format!(
            "assignee: {}",
            assignee.as_ref().map_or("-", AgentId::as_str)
        ));
    }
    if let Some(answer) = &change.information_answer {
        said.push(format!("information_answer: {}", answer.outcome.wire()));
    }
    if said.is_empty() {
        return Ok(Changed {
            ticket: ticket.clone(),
            said: None,
        });
    }
    let said = said.join("; ");
    let event = Message::system_event(
        ids.message_id(),
        clock.now(),
        Author::Agent(by),
        Body::parse_field("text", &said).map_err(|e| StoreError::unavailable(e.to_string()))?,
    );
    let update = TicketUpdate {
        number: ticket.number.clone(),
        expected_version: ticket.version,
        change: TicketChange {
            priority: change.priority,
            assignee: change.assignee,
            information_answer: change.information_answer,
            ..TicketChange::to_status(ticket, status, event.at, suspension_max_days)
        },
        message: Some(event),
        mails: Vec::new(),
    };
    Ok(Changed {
        ticket: store.update(update).await?,
        said: Some(said),
    })
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Changes `ticket` (read with `Session::ticket`, full access) as the agent saw it at
    /// `seen_version`. Taking or leaving a
    /// ticket oneself is an agent's work; assigning others is a supervisor's, and only to an
    /// active agent of the ticket's agency.
    pub async fn change(
        &self,
        ticket: Ticket,
        seen_version: u64,
        change: Change,
    ) -> Result<Ticket, AppError> {
        let desk = &*self.desk;
        self.may(&ticket, Access::Full)?;
        crate::session::not_merged(&ticket)?;
        if ticket.version != seen_version {
            return Err(AppError::Conflict(Box::new(ticket)));
        }
        if change.information_answer.is_some() {
            if ticket.category != Category::AccesoInformacion {
                return Err(AppError::invalid(FieldError::new(
                    "information_answer",
                    FieldProblem::UnknownValue,
                )));
            }
            if ticket.erased_at.is_some() {
                return Err(AppError::NotAllowed(
                    "the ticket's personal data was erased",
                ));
            }
            // A denial is a legal act: the ticket's own agent records it; changing one
            // recorded, or one of a finished ticket, is a supervisor's.
            let own = ticket.assignee.as_ref() == Some(&self.agent.id);
            if !own || ticket.information_answer.is_some() || ticket.status.is_finished() {
                self.require(Role::Supervisor)?;
            }
        }
        if let Some(target) = &change.assignee {
            let own = target.as_ref().is_none_or(|id| id == &self.agent.id)
                && (target.is_some() || ticket.assignee.as_ref() == Some(&self.agent.id));
            if !own {
                self.require(Role::Supervisor)?;
            }
            if let Some(id) = target {
                let colleague = match desk.store.agent(id).await {
                    Ok(agent) => agent.active && agent.agency == ticket.agency,
                    Err(StoreError::NotFound) => false,
                    Err(error) => return Err(error.into()),
                };
                if !colleague {
                    return Err(AppError::invalid(FieldError::new(
                        "assignee",
                        FieldProblem::UnknownValue,
                    )));
                }
            }
        }
        let clock = self.site.clock.as_ref();
        let by = self.agent.reference();
        let changed = match apply(
            &desk.store,
            clock,
            self.site.ids.as_ref(),
            &ticket,
            change,
            by,
            self.site.settings.deadlines.suspension_max_days,
        )
        .await
        {
            Ok(changed) => changed,
            Err(ChangeError::Transition(refused)) => return Err(AppError::Transition(refused)),
            Err(ChangeError::Store(StoreError::VersionConflict)) => {
                let current = desk.store.ticket(&ticket.number).await?;
                return Err(AppError::Conflict(Box::new(current)));
            }
            Err(ChangeError::Store(error)) => return Err(error.into()),
        };
        let Some(said) = changed.said else {
            return Ok(changed.ticket);
        };
        self.audit(AuditAction::Change, Some(&changed.ticket.number), said)
            .await?;
        Ok(changed.ticket)
    }
}
