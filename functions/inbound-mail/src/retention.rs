//! The retention rule's daily run. On AWS an EventBridge schedule invokes this function
//! (`template.yaml`), which holds what the sweep needs: the table and the blob prefixes of
//! raw mail and attachments; the local server runs the same sweep on a timer.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::{Value, json};
use ventanilla_domain::ports::{
    AgencyDirectory, AuditLog, BlobStore, BoxError, Mailer, Throttle, TicketStore,
};
use ventanilla_domain::privacy::{ErasureError, Sweep, sweep};

use crate::MailDesk;

/// Whether the event is EventBridge's scheduled event (what a SAM `Schedule` sends), read
/// with `aws_lambda_events`' type.
pub fn is_schedule(event: &Value) -> bool {
    event.get("detail-type").is_some()
        && EventBridgeEvent::<Value>::deserialize(event)
            .is_ok_and(|e| e.source == "aws.events" && e.detail_type == "Scheduled Event")
}

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

    /// What the function is invoked with: SES receipt events, and the retention rule's
    /// schedule. An error makes Lambda retry the event.
    pub async fn handle(&self, event: Value) -> Result<Value, BoxError> {
        // Boxed: the two futures side by side are deeper than the compiler lays out inline.
        if is_schedule(&event) {
            let report = Box::pin(self.erase_expired()).await?;
            return Ok(json!({
                "examined": report.examined,
                "erased": report.erased.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            }));
        }
        Ok(serde_json::to_value(
            Box::pin(self.handle_ses_event(event)).await?,
        )?)
    }
}
