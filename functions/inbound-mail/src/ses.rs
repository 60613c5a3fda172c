//! The SES receipt event, read with `aws_lambda_events`' own types, so that every field SES
//! sends (the SPF, DKIM and DMARC verdicts among them) reaches the code. Receipts written
//! before SES added DMARC lack `dmarcVerdict`: it is read as a verdict without a status, not
//! as a malformed event, since a mail must not bounce off a field.

use aws_lambda_events::event::ses::{SimpleEmailEvent, SimpleEmailVerdict};
use serde::Serialize;
use serde_json::Value;
use ventanilla_domain::BlobKey;
use ventanilla_domain::ports::{BlobStore, Mailer};
use ventanilla_domain::rules::mail_in::sender_check::Check;
use ventanilla_domain::rules::mail_in::sender_check::Receipt;
use ventanilla_domain::rules::mail_in::sender_check::dkim_pass_domains;
use ventanilla_domain::rules::mail_in::support_address::Outcome;

use ventanilla_app::Desk;
use ventanilla_app::receive_mail::{DeliveryError, Envelope};
use ventanilla_app::session::AgentPorts;

fn check(verdict: &SimpleEmailVerdict) -> Check {
    Check::parse(verdict.status.as_deref())
}

/// The event as SES sends it, with the verdicts an older receipt lacks given as empty.
pub fn parse_ses_event(mut event: Value) -> Result<SimpleEmailEvent, EventError> {
    if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
        for receipt in records
            .iter_mut()
            .filter_map(|r| r.pointer_mut("/ses/receipt"))
            .filter_map(Value::as_object_mut)
        {
            for verdict in [
                "spamVerdict",
                "virusVerdict",
                "spfVerdict",
                "dkimVerdict",
                "dmarcVerdict",
            ] {
                receipt
                    .entry(verdict)
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
            }
        }
    }
    serde_json::from_value(event).map_err(|error| EventError::NotAnSesEvent(error.to_string()))
}

/// What the function answers, one entry per record: what became of each mail.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Handled {
    pub outcome: &'static str,
    pub ticket: Option<String>,
}

impl From<&Outcome> for Handled {
    fn from(outcome: &Outcome) -> Self {
        Handled {
            outcome: outcome.as_str(),
            ticket: outcome.ticket().map(|n| n.as_str().to_owned()),
        }
    }
}

/// Why an SES event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not an SES receipt event: {0}")]
    NotAnSesEvent(String),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// Delivers every mail an SES receipt event names. The raw mail is where the S3 action put
/// it: the action's object key when the event comes from an S3 action, else the configured
/// prefix followed by SES's id (what the receipt rule's S3 action writes).
pub async fn handle_ses_event<S, B, M>(
    desk: &Desk<S, B, M>,
    event: Value,
) -> Result<Vec<Handled>, EventError>
where
    S: AgentPorts + Clone,
    B: BlobStore + Clone + 'static,
    M: Mailer + Clone + 'static,
{
    let event = parse_ses_event(event)?;
    let mut handled = Vec::with_capacity(event.records.len());
    for record in event.records {
        let (mail, receipt) = (record.ses.mail, record.ses.receipt);
        let message_id = mail
            .message_id
            .ok_or_else(|| EventError::NotAnSesEvent("the mail has no messageId".into()))?;
        let key = Some(&receipt.action)
            .filter(|a| a.type_.as_deref() == Some("S3"))
            .and_then(|a| a.object_key.clone())
            .unwrap_or_else(|| format!("{}{message_id}", desk.site.settings.mail.inbound_prefix));
        let key = BlobKey::parse(&key).map_err(|_| {
            EventError::NotAnSesEvent(format!("{key:?} is not an object key we read"))
        })?;
        // SES puts its own Authentication-Results above the mail's headers: the first
        // one is SES's; any below came with the mail.
        let dkim_domains = mail
            .headers
            .iter()
            .find(|h| {
                h.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case("Authentication-Results"))
            })
            .and_then(|h| h.value.as_deref())
            .map(dkim_pass_domains)
            .unwrap_or_default();
        let envelope = Envelope {
            provider_id: Some(message_id),
            receipt: Some(Receipt {
                spam: check(&receipt.spam_verdict),
                virus: check(&receipt.virus_verdict),
                spf: check(&receipt.spf_verdict),
                dkim: check(&receipt.dkim_verdict),
                dmarc: check(&receipt.dmarc_verdict),
                envelope_sender: mail.source.clone(),
                dkim_domains,
            }),
        };
        let outcome = desk.deliver(&key, envelope).await?;
        handled.push(Handled::from(&outcome));
    }
    Ok(handled)
}
