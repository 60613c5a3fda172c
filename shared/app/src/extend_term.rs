//! A supervisor extends a ticket's term, once, with a reason: the due date moves by the days
//! its term allows, the thread and the audit trail say so, and the citizen is told by mail
//! when the term asks for a notice.

use ventanilla_domain::model::agents::{Access, AuditAction, Role};
use ventanilla_domain::model::mail_queue::{MailState, Notice};
use ventanilla_domain::rules::deadline::{ExtensionRefused, extend};
use ventanilla_domain::{
    Author, Body, FieldError, FieldErrors, FieldProblem, Lang, Message, Ticket, TicketChange,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};
use ventanilla_domain::ports::{BlobStore, Mailer};

/// The longest reason kept (it goes into the citizen's mail and the thread).
pub const MAX_REASON_CHARS: usize = 2_000;

fn refused(why: ExtensionRefused) -> AppError {
    AppError::NotAllowed(match why {
        ExtensionRefused::NoTerm => "the ticket has no term of its own to extend",
        ExtensionRefused::NotAllowed => "its term allows no extension",
        ExtensionRefused::AlreadyExtended => "its term was extended already; only once",
        ExtensionRefused::Finished => "the ticket is finished",
        ExtensionRefused::Expired => "its term has expired; an extension is granted before",
    })
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// Extends `ticket`'s term (read with `Session::ticket`, full access; supervisors), for
    /// `reason`; checked again on the ticket as it is written, so that two supervisors at
    /// once extend it once.
    pub async fn extend_term(&self, ticket: Ticket, reason: &str) -> Result<Ticket, AppError> {
        self.may(&ticket, Access::Full)?;
        self.require(Role::Supervisor)?;
        let invalid = |e: FieldError| {
            let mut errors = FieldErrors::new();
            errors.push(e);
            AppError::Invalid(errors)
        };
        let reason = Body::parse_field("reason", reason).map_err(invalid)?;
        if reason.as_str().chars().count() > MAX_REASON_CHARS {
            return Err(invalid(FieldError::new(
                "reason",
                FieldProblem::TooLong {
                    max: MAX_REASON_CHARS,
                },
            )));
        }
        let reason = reason.as_str().to_owned();
        let now = self.site.clock.now();
        // Refused before anything is written, with the reason the rule gives.
        let (_, planned) =
            extend(&ticket, now, self.agent.id.clone(), reason.clone()).map_err(refused)?;
        let notice = ticket
            .term
            .as_ref()
            .and_then(|t| t.extension)
            .is_some_and(|e| e.notice);
        let said = format!(
            "plazo ampliado {} días ({}): {reason}",
            planned.days,
            ticket.term.as_ref().map_or("", |t| t.basis.as_str())
        );
        let event = Message::system_event(
            self.site.ids.message_id(),
            now,
            Author::Agent(self.agent.reference()),
            Body::parse_field("reason", &said).map_err(invalid)?,
        );
        let mail = notice.then(|| {
            self.site.mail_intent(
                self.site.new_mail_id(),
                Notice::TermExtended,
                event.id,
                Lang::Es,
                None,
            )
        });
        let by = self.agent.id.clone();
        let updated = self
            .append(
                ticket,
                Access::Full,
                |current| {
                    let (clock, extension) =
                        extend(current, now, by.clone(), reason.clone()).map_err(refused)?;
                    Ok(TicketChange {
                        term: Some(clock),
                        extended: Some(extension),
                        ..TicketChange::default()
                    })
                },
                event.clone(),
                mail.clone().into_iter().collect(),
            )
            .await?;
        self.audit(
            AuditAction::ExtendTerm,
            Some(&updated.number),
            format!(
                "{} -> {}",
                planned.was_due_on,
                updated.due_on.map_or(String::new(), |d| d.to_string())
            ),
        )
        .await?;
        if let Some(mail) = &mail
            && self
                .desk
                .send_queued(&self.site, &updated, mail, Some(&event))
                .await
                != MailState::Sent
        {
            tracing::warn!(ticket = %updated.number, "extension notice queued, not yet sent");
        }
        Ok(updated)
    }
}
