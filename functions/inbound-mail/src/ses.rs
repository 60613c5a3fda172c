//! The SES receipt event, read for what this function needs: SES's id of the mail (the S3
//! object's name), the verdicts, and the S3 location when the event comes from an S3 action.
//! Our own small types rather than `aws_lambda_events`: its receipt requires fields older
//! events lack (`dmarcVerdict`), and a mail must not bounce off a field we do not read.

use serde::{Deserialize, Serialize};
use ventanilla_domain::inbound::Outcome;
use ventanilla_domain::incoming::Verdicts;
use ventanilla_domain::ports::{
    AgencyDirectory, BlobKey, BlobStore, Mailer, Throttle, TicketStore,
};

use crate::{DeliveryError, Envelope, MailDesk};

#[derive(Debug, Deserialize)]
pub struct SesEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SesRecord>,
}

#[derive(Debug, Deserialize)]
pub struct SesRecord {
    pub ses: SesNotice,
}

#[derive(Debug, Deserialize)]
pub struct SesNotice {
    pub mail: SesMail,
    pub receipt: SesReceipt,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesMail {
    pub message_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesReceipt {
    #[serde(default)]
    pub spam_verdict: Option<SesVerdict>,
    #[serde(default)]
    pub virus_verdict: Option<SesVerdict>,
    #[serde(default)]
    pub action: Option<SesAction>,
}

#[derive(Debug, Deserialize)]
pub struct SesVerdict {
    #[serde(default)]
    pub status: Option<String>,
}

impl SesVerdict {
    fn failed(verdict: Option<&SesVerdict>) -> bool {
        verdict.and_then(|v| v.status.as_deref()) == Some("FAIL")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesAction {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub object_key: Option<String>,
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

impl<S, B, M> MailDesk<S, B, M>
where
    S: TicketStore + Throttle + AgencyDirectory,
    B: BlobStore,
    M: Mailer,
{
    /// Delivers every mail an SES receipt event names. The raw mail is where the S3 action
    /// put it: the action's object key when the event comes from an S3 action, else the
    /// configured prefix followed by SES's id (what the receipt rule's S3 action writes).
    pub async fn handle_ses_event(
        &self,
        event: serde_json::Value,
    ) -> Result<Vec<Handled>, DeliveryError> {
        let event: SesEvent = serde_json::from_value(event)
            .map_err(|error| DeliveryError::NotAnSesEvent(error.to_string()))?;
        let mut handled = Vec::with_capacity(event.records.len());
        for record in event.records {
            let SesNotice { mail, receipt } = record.ses;
            let key = receipt
                .action
                .as_ref()
                .filter(|a| a.kind.as_deref() == Some("S3"))
                .and_then(|a| a.object_key.clone())
                .unwrap_or_else(|| {
                    format!(
                        "{}{}",
                        self.site.settings.mail.inbound_prefix, mail.message_id
                    )
                });
            let key = BlobKey::parse(&key).map_err(|_| {
                DeliveryError::NotAnSesEvent(format!("{key:?} is not an object key we read"))
            })?;
            let envelope = Envelope {
                provider_id: Some(mail.message_id),
                verdicts: Verdicts {
                    spam_failed: SesVerdict::failed(receipt.spam_verdict.as_ref()),
                    virus_failed: SesVerdict::failed(receipt.virus_verdict.as_ref()),
                },
            };
            let outcome = self.deliver(&key, envelope).await?;
            handled.push(Handled::from(&outcome));
        }
        Ok(handled)
    }
}
