//! Mail out through SES v2, as raw MIME built by the domain.

use crate::aws::OnFirstUse;
use aws_config::SdkConfig;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use ventanilla_domain::model::mail::{MailMessageId, OutgoingMail};
use ventanilla_domain::ports::{MailError, Mailer, SentMail};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: OnFirstUse<Client>,
    /// Where SES's Message-IDs live: `email.amazonses.com` in us-east-1,
    /// `<region>.amazonses.com` elsewhere.
    message_id_domain: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `configuration_set` routes bounce and complaint events (see `template.yaml`).
    pub fn new(config: &SdkConfig, configuration_set: Option<String>) -> Self {
        let region = config.region().map_or("us-east-1", |r| r.as_ref());
        SesMailer {
            client: OnFirstUse::new({
                let config = config.clone();
                move || Client::new(&config)
            }),
            message_id_domain: message_id_domain(region),
            configuration_set,
        }
    }
}

pub fn message_id_domain(region: &str) -> String {
    if region == "us-east-1" {
        "email.amazonses.com".to_owned()
    } else {
        format!("{region}.amazonses.com")
    }
}

impl SesMailer {
    /// The SES v2 client, built now if no mail has needed it yet.
    pub fn client(&self) -> &Client {
        self.client.get()
    }
}

impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<SentMail, MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|e| MailError::Unavailable(e.into()))?;
        let destination = Destination::builder()
            .set_to_addresses(Some(
                mail.to.iter().map(|e| e.as_str().to_owned()).collect(),
            ))
            .build();
        let result = self
            .client
            .get()
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(destination)
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                // Refusals of this mail are final; an account paused, throttled or a fault
                // on the way may pass later, so the caller keeps the mail and retries.
                let rejected = matches!(
                    error.as_service_error(),
                    Some(
                        SendEmailError::MessageRejected(_)
                            | SendEmailError::MailFromDomainNotVerifiedException(_)
                            | SendEmailError::BadRequestException(_)
                            | SendEmailError::NotFoundException(_)
                    )
                );
                return Err(if rejected {
                    MailError::Rejected(
                        error
                            .as_service_error()
                            .and_then(|e| e.meta().message())
                            .unwrap_or("rejected")
                            .to_owned(),
                    )
                } else {
                    MailError::Unavailable(
                        aws_sdk_sesv2::error::DisplayErrorContext(error)
                            .to_string()
                            .into(),
                    )
                });
            }
        };
        let provider_id = output
            .message_id
            .ok_or_else(|| MailError::Unavailable("SES answered without a message id".into()))?;
        let message_id = MailMessageId::parse(&format!("{provider_id}@{}", self.message_id_domain))
            .map_err(|e| MailError::Unavailable(e.into()))?;
        Ok(SentMail {
            provider_id,
            message_id,
        })
    }
}
