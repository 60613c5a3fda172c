//! The `Mailer` contract, run on the outbox folder and on SES v2 over the wire: the mail
//! the domain built is what arrives, byte for byte, and can be read back.

use std::path::PathBuf;

use ventanilla_domain::model::mail::{MailDraft, MailMessageId, Mailbox, OutgoingMail};
use ventanilla_domain::ports::{Mailer, SentMail};
use ventanilla_domain::{Email, Timestamp};
use ventanilla_tests::{ses_endpoint, unique};

fn mail(domain: &str) -> OutgoingMail {
    let email = |s: &str| Email::parse(s).unwrap();
    MailDraft {
        from: Mailbox::new(
            "Ministerio de Turismo",
            email(&format!("no-reply@{domain}")),
        ),
        to: Mailbox::new("María José Ñáñez", email("maria@example.com")),
        reply_to: Some(Mailbox::new("Soporte", email(&format!("soporte@{domain}")))),
        subject: "[MDT-QUE-2025-00001] Hemos recibido su solicitud".into(),
        text: "Estimada María José:\n\nHemos recibido su solicitud número MDT-QUE-2025-00001."
            .into(),
        html: None,
        message_id: MailMessageId::parse(&format!("{}@{domain}", unique("ack."))).unwrap(),
        in_reply_to: None,
        references: vec![
            MailMessageId::parse(&format!("ticket.mdt-que-2025-00001@{domain}")).unwrap(),
        ],
        automatic: Some(ventanilla_domain::model::mail::AutoSubmitted::Replied),
        date: Timestamp::parse("2025-03-01T09:00:00Z").unwrap(),
        attachments: Vec::new(),
    }
    .build()
}

/// Sends one mail and reads back what the mailer's far end holds.
async fn sent_and_read_back<M: Mailer>(
    mailer: &M,
    domain: &str,
    read_back: impl AsyncFnOnce(&SentMail) -> Vec<u8>,
) {
    let outgoing = mail(domain);
    let sent = mailer.send(&outgoing).await.unwrap();
    assert!(!sent.provider_id.is_empty());
    let raw = read_back(&sent).await;
    assert_eq!(
        raw, outgoing.raw,
        "the stand-in holds exactly the MIME we built"
    );
    let text = String::from_utf8(raw).unwrap();
    assert!(text.contains("Auto-Submitted: auto-replied"));
}

mod outbox {
    use super::*;
    use ventanilla_adapters::outbox::OutboxMailer;

    #[tokio::test]
    async fn a_sent_mail_can_be_read_back() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("outbox-"));
        let mailer = OutboxMailer::new(&dir);
        let domain = format!("{}.gob.ec", unique("d"));
        sent_and_read_back(&mailer, &domain, async |sent: &SentMail| {
            // Locally nothing rewrites our Message-ID.
            assert!(sent.message_id.as_str().ends_with(&domain));
            assert!(sent.provider_id.ends_with(".eml"));
            std::fs::read(dir.join(&sent.provider_id)).unwrap()
        })
        .await;
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary files left"
        );
    }
}

mod ses {
    use super::*;
    use ventanilla_adapters::ses::SesMailer;
    use ventanilla_domain::ports::MailError;

    async fn mailer_for(domain: &str) -> SesMailer {
        let config = ventanilla_tests::aws_config().await;
        let client = aws_sdk_sesv2::Client::new(&config);
        client
            .create_email_identity()
            .email_identity(domain)
            .send()
            .await
            .unwrap();
        SesMailer::new(&config, None)
    }

    #[tokio::test]
    async fn a_sent_mail_can_be_read_back() {
        let domain = format!("{}.gob.ec", unique("d"));
        let mailer = mailer_for(&domain).await;
        sent_and_read_back(&mailer, &domain, async |sent: &SentMail| {
            // SES gives the mail its own Message-ID: that is the one replies will carry.
            assert_eq!(
                sent.message_id.as_str(),
                format!("{}@email.amazonses.com", sent.provider_id)
            );
            let data: serde_json::Value =
                reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            let stored = data["ses"]["RawMessage"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == sent.provider_id.as_str())
                .expect("the stand-in recorded the mail");
            stored["raw_data"].as_str().unwrap().as_bytes().to_vec()
        })
        .await;
    }

    #[tokio::test]
    async fn an_unverified_sender_is_rejected_for_good() {
        let mailer = mailer_for(&format!("{}.gob.ec", unique("d"))).await;
        let stranger = format!("{}.gob.ec", unique("x"));
        let result = mailer.send(&mail(&stranger)).await;
        assert!(matches!(result, Err(MailError::Rejected(_))), "{result:?}");
    }
}
