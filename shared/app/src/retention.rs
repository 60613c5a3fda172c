//! The retention rule: personal data of finished tickets past the retention period erased. On
//! AWS an EventBridge schedule invokes the inbound function (`template.yaml`), which holds
//! what the sweep needs: the table and the blob prefixes of raw mail and attachments; the
//! local server runs the same sweep on a timer.

use ventanilla_domain::ports::{
    AgencyDirectory, AuditLog, BlobStore, Mailer, Throttle, TicketStore,
};
use ventanilla_domain::privacy::{ErasureError, Sweep, sweep};

use crate::receive_mail::MailDesk;

impl<S, B, M> MailDesk<S, B, M>
where
    S: TicketStore + Throttle + AgencyDirectory + AuditLog,
    B: BlobStore,
    M: Mailer,
{
    /// Erases the personal data of every finished ticket past the retention period, in the
    /// queues of every agency (configured or saved by an admin). Nothing when the
    /// configuration keeps personal data.
    pub async fn erase_expired(&self) -> Result<Sweep, ErasureError> {
        let site = self.site.current(&self.store).await?;
        let Some(retention) = site.settings.retention else {
            return Ok(Sweep::default());
        };
        let report = sweep(
            &self.store,
            &self.blobs,
            &site.settings.all_queues(),
            retention,
            site.clock.now(),
        )
        .await?;
        tracing::info!(
            examined = report.examined,
            erased = report.erased.len(),
            "retention sweep"
        );
        Ok(report)
    }
}
