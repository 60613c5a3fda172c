//! Mail the queue parked (it kept failing, or the provider refused it for good): an admin
//! sees those of the tickets their agency holds (an operator all of them) and sends one
//! again once what made it fail is fixed (a verified sender, a quota raised).

use ventanilla_domain::AgencyCode;
use ventanilla_domain::model::agents::{Access, AuditAction, Role};
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailState, QueuedMail};
use ventanilla_domain::ports::StoreError;

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// How many parked mails a listing shows, the most recent first: more means an outage, which
/// the alarm already reported (and each expires 90 days after it was parked).
const SHOWN: usize = 200;

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The parked mails of the tickets `agency` holds: the admin's own (an operator may
    /// name any agency).
    pub async fn parked_mail(
        &self,
        agency: Option<&AgencyCode>,
    ) -> Result<Vec<QueuedMail>, AppError> {
        self.require(Role::Admin)?;
        let agency = agency.unwrap_or(&self.agent.agency);
        if agency != &self.agent.agency {
            self.require(Role::Operator)?;
        }
        let mut shown = Vec::new();
        for mail in self.desk.store.parked_mail(agency, SHOWN).await? {
            if self.holds(&mail).await? {
                shown.push(mail);
            }
        }
        Ok(shown)
    }

    /// Puts a parked mail back in the queue for a fresh round of tries, starting now; one
    /// that is not parked (any more) is left as it is.
    pub async fn send_parked_again(&self, id: &str) -> Result<QueuedMail, AppError> {
        self.require(Role::Admin)?;
        let id = MailMessageId::parse(id).map_err(|_| AppError::NotFound)?;
        let mail = match self.desk.store.queued_mail(&id).await {
            Ok(mail) => mail,
            Err(StoreError::NotFound) => return Err(AppError::NotFound),
            Err(error) => return Err(error.into()),
        };
        if !self.holds(&mail).await? {
            return Err(AppError::NotFound);
        }
        if mail.state != MailState::Parked {
            return Ok(mail);
        }
        let again = mail.requeued(self.site.clock.now());
        if !self.desk.store.save_mail(&again).await? {
            return Err(AppError::NotAllowed(
                "the mail changed meanwhile; read the list again",
            ));
        }
        self.audit(
            AuditAction::SendMailAgain,
            Some(&again.ticket),
            format!("{} {}", again.intent.notice.as_str(), again.id().as_str()),
        )
        .await?;
        Ok(again)
    }

    /// Whether the agent's agency may see the mail's ticket, as it stands (an operator: any):
    /// it holds it, or kept a referral when it sent it on (the mail stays listed under the
    /// agency that held the ticket when it was parked).
    async fn holds(&self, mail: &QueuedMail) -> Result<bool, AppError> {
        if self.agent.role >= Role::Operator {
            return Ok(true);
        }
        match self.desk.store.ticket(&mail.ticket).await {
            Ok(ticket) => Ok(self.agent.access(&ticket) >= Access::Referral),
            Err(StoreError::NotFound) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}
