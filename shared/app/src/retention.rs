//! The retention rule: personal data of finished tickets past the retention period erased. On
//! AWS an EventBridge schedule invokes the inbound function (`template.yaml`), which holds
//! what the sweep needs: the table and the blob prefixes of raw mail and attachments; the
//! local server runs the same sweep on a timer.

use ventanilla_domain::model::agents::RETENTION_AGENT;
use ventanilla_domain::ports::QueueQuery;
use ventanilla_domain::ports::{
    AgencyDirectory, AuditLog, BlobStore, Mailer, Throttle, TicketStore,
};
use ventanilla_domain::rules::privacy::Retention;
use ventanilla_domain::{AgencyCode, AgentId, QueueName, Status, TicketNumber, Timestamp};

use crate::erasure::{ErasureError, erase_ticket};

use crate::Desk;

impl<S, B, M> Desk<S, B, M>
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

/// What a retention sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Finished tickets past the retention period, looked at.
    pub examined: usize,
    /// Of those, the ones erased now (the others were erased before).
    pub erased: Vec<TicketNumber>,
}

/// A page of a queue, oldest activity first.
const SWEEP_PAGE: usize = 100;

/// Erases every finished ticket of the given queues whose last activity is older than the
/// retention period. Each queue is read oldest activity first and only up to the cut-off.
pub async fn sweep(
    store: &(impl TicketStore + AuditLog),
    blobs: &impl BlobStore,
    queues: &[(AgencyCode, QueueName)],
    retention: Retention,
    now: Timestamp,
) -> Result<Sweep, ErasureError> {
    let cutoff = now.plus(-retention.erase_finished_after);
    let by =
        AgentId::parse(RETENTION_AGENT).unwrap_or_else(|_| unreachable!("a fixed id is valid"));
    let mut report = Sweep::default();
    for (agency, queue) in queues {
        for status in [Status::Resolved, Status::Closed] {
            let mut after = None;
            'pages: loop {
                let page = store
                    .queue(&QueueQuery {
                        agency: agency.clone(),
                        queue: queue.clone(),
                        status: Some(status),
                        limit: SWEEP_PAGE,
                        after: after.take(),
                        oldest_first: true,
                    })
                    .await?;
                for ticket in &page.items {
                    if ticket.last_activity >= cutoff {
                        break 'pages;
                    }
                    report.examined += 1;
                    if ticket.erased_at.is_none() {
                        let reason = format!(
                            "retención: finalizado y sin actividad desde {}",
                            ticket.last_activity
                        );
                        erase_ticket(store, blobs, &ticket.number, &by, now, &reason).await?;
                        report.erased.push(ticket.number.clone());
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }
    Ok(report)
}
