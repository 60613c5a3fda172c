//! The schedules (the retention rule's, daily; the deadline warnings', daily; the mail
//! queue's sweep, every minute), and the dispatch of what the function is invoked with.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::{Value, json};
use ventanilla_app::Desk;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::ports::{BlobStore, BoxError, Mailer};

use crate::ses::handle_ses_event;

/// Whether the event is EventBridge's scheduled event (what a SAM `Schedule` sends), read
/// with `aws_lambda_events`' type.
pub fn is_schedule(event: &Value) -> bool {
    event.get("detail-type").is_some()
        && EventBridgeEvent::<Value>::deserialize(event)
            .is_ok_and(|e| e.source == "aws.events" && e.detail_type == "Scheduled Event")
}

/// The input the mail queue's schedule gives its rule in `template.yaml`.
pub const MAIL_QUEUE_SWEEP: &str = "mail-queue";

/// Whether the event is the mail queue's schedule: `{"sweep": "mail-queue"}`.
pub fn is_mail_sweep(event: &Value) -> bool {
    event.get("sweep").and_then(Value::as_str) == Some(MAIL_QUEUE_SWEEP)
}

/// The input the deadline warnings' schedule gives its rule in `template.yaml`.
pub const DEADLINES_SWEEP: &str = "deadlines";

/// What the function is invoked with: SES receipt events, the retention rule's schedule, the
/// deadline warnings' and the mail queue's. An error makes Lambda retry the event.
pub async fn handle<S, B, M>(desk: &Desk<S, B, M>, event: Value) -> Result<Value, BoxError>
where
    S: AgentPorts + Clone,
    B: BlobStore + Clone + 'static,
    M: Mailer + Clone + 'static,
{
    if event.get("sweep").and_then(Value::as_str) == Some(DEADLINES_SWEEP) {
        // Never a failed invocation either: a warning not queued today is tomorrow's (the
        // index still holds the ticket), and the alarm on the log line says so.
        let warned = match Box::pin(desk.warn_due()).await {
            Ok(report) => json!({
                "warned": report.warned,
                "mails": report.mails,
                "nobody_to_tell": report.nobody_to_tell,
                "changed_meanwhile": report.changed_meanwhile,
                "cut_short": report.cut_short,
            }),
            Err(error) => {
                tracing::error!(%error, "deadline warnings sweep failed; the next one tries again");
                json!({ "error": "the tickets owed a warning could not be read" })
            }
        };
        // The mails go now rather than with the next minute's sweep.
        if let Err(error) = Box::pin(desk.sweep_mail()).await {
            tracing::error!(%error, "mail queue sweep failed; the next one tries again");
        }
        return Ok(warned);
    }
    if is_mail_sweep(&event) {
        // Never a failed invocation: Lambda's retries and the failed-mail queue are for
        // support mail, and the next minute's sweep tries again anyway.
        return Ok(match Box::pin(desk.sweep_mail()).await {
            Ok(report) => json!({
                "sent": report.sent,
                "retried": report.retried,
                "parked": report.parked,
                "skipped": report.skipped,
                "taken_by_others": report.taken_by_others,
                "alerts": report.alerts,
            }),
            Err(error) => {
                tracing::error!(%error, "mail queue sweep failed; the next one tries again");
                json!({ "error": "the mail queue could not be read" })
            }
        });
    }
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
