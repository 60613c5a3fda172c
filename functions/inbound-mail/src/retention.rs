//! The retention rule's daily schedule, and the dispatch of what the function is invoked with.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::{Value, json};
use ventanilla_app::Desk;
use ventanilla_domain::ports::{
    AgencyDirectory, AuditLog, BlobStore, BoxError, Mailer, Throttle, TicketStore,
};

use crate::ses::handle_ses_event;

/// Whether the event is EventBridge's scheduled event (what a SAM `Schedule` sends), read
/// with `aws_lambda_events`' type.
pub fn is_schedule(event: &Value) -> bool {
    event.get("detail-type").is_some()
        && EventBridgeEvent::<Value>::deserialize(event)
            .is_ok_and(|e| e.source == "aws.events" && e.detail_type == "Scheduled Event")
}

/// What the function is invoked with: SES receipt events, and the retention rule's
/// schedule. An error makes Lambda retry the event.
pub async fn handle<S, B, M>(desk: &Desk<S, B, M>, event: Value) -> Result<Value, BoxError>
where
    S: TicketStore + Throttle + AgencyDirectory + AuditLog,
    B: BlobStore,
    M: Mailer,
{
    // Boxed: the two futures side by side are deeper than the compiler lays out inline.
    if is_schedule(&event) {
        let report = Box::pin(desk.erase_expired()).await?;
        return Ok(json!({
            "examined": report.examined,
            "erased": report.erased.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        }));
    }
    Ok(serde_json::to_value(
        Box::pin(handle_ses_event(desk, event)).await?,
    )?)
}
