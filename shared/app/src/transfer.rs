//! A ticket sent to another agency (or another queue), with a note saying why. The sending
//! agency keeps a referral (read and note) unless it says otherwise; the assignee is cleared.

use ventanilla_domain::model::agents::{Access, AlertEvent, AuditAction, Role};
use ventanilla_domain::model::mail_queue::MailIntent;
use ventanilla_domain::{
    AgencyCode, Body, FieldError, FieldErrors, FieldProblem, QueueName, Ticket, TicketChange,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// Where to, as asked: checked here against the agencies as they stand.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TransferRequest {
    pub agency: Option<String>,
    /// The agency's default queue when absent.
    pub queue: Option<String>,
    pub note: Option<String>,
    /// Keep read-and-note access for the sending agency (true unless said otherwise).
    pub keep_referral: Option<bool>,
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Transfers `ticket` (read with `Session::ticket`, full access; supervisors).
    pub async fn transfer(
        &self,
        ticket: Ticket,
        request: TransferRequest,
    ) -> Result<Ticket, AppError> {
        self.may(&ticket, Access::Full)?;
        self.require(Role::Supervisor)?;
        let mut errors = FieldErrors::new();
        let target = AgencyCode::parse(request.agency.as_deref().unwrap_or(""))
            .ok()
            .and_then(|code| self.site.settings.agency(&code).cloned());
        if target.is_none() {
            errors.push(FieldError::new("agency", FieldProblem::UnknownValue));
        }
        let queue = request
            .queue
            .as_deref()
            .and_then(|q| QueueName::parse(q).map_err(|e| errors.push(e)).ok());
        // A queue the agency does not work would hide the ticket from every console.
        if let (Some(target), Some(queue)) = (&target, &queue)
            && !target.queues().contains(queue)
        {
            errors.push(FieldError::new("queue", FieldProblem::UnknownValue));
        }
        let note = Body::parse_field("note", request.note.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(target), Some(note), true) = (target, note, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let queue = queue.unwrap_or_else(|| target.default_queue.clone());
        let keep = request.keep_referral.unwrap_or(true);
        let from = ticket.agency.clone();
        let message = self.internal_note(note);
        // The receiving agency's agents are told; a move between the agency's own queues
        // tells nobody.
        let alert = (target.code != from).then(|| MailIntent {
            about: message.id,
            ..self
                .site
                .alert_intent(AlertEvent::Transferred, Some(&self.agent.reference()))
        });
        let updated = self
            .append(
                ticket,
                Access::Full,
                |_| {
                    Ok(TicketChange {
                        queue: Some((target.code.clone(), queue.clone())),
                        referral: keep.then(|| from.clone()),
                        assignee: Some(None),
                        ..TicketChange::default()
                    })
                },
                message,
                alert.into_iter().collect(),
            )
            .await?;
        self.audit(
            AuditAction::Transfer,
            Some(&updated.number),
            format!(
                "{from} -> {}/{}{}",
                target.code,
                queue,
                if keep { " (referral kept)" } else { "" }
            ),
        )
        .await?;
        Ok(updated)
    }
}
