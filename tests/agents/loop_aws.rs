//! The whole loop against the stand-ins (DynamoDB, S3, SES v2): a ticket opened by the form,
//! the citizen writing by mail, an agent's reply delivered as a mail threaded to the
//! citizen's, the citizen's answer to it landing on the same ticket, a note that reaches no
//! citizen; and a reply the provider refused, kept and sent again.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_adapters::dynamodb::DynamoStore;
use ventanilla_adapters::s3::S3Blobs;
use ventanilla_adapters::ses::SesMailer;
use ventanilla_domain::agents::Role;
use ventanilla_domain::mail::Mailbox;
use ventanilla_domain::ports::{Blob, BlobKey, BlobStore, Clock, SystemClock};
use ventanilla_domain::{AgencyCode, AgentId, Email};
use ventanilla_http::settings::DEFAULT_CONFIG;
use ventanilla_http::{AccessLinks, Settings, Site};
use ventanilla_tests::{ses_endpoint, unique};

struct Stack {
    router: Router,
    mail: inbound_mail::MailDesk<DynamoStore, S3Blobs, SesMailer>,
    store: DynamoStore,
    domain: String,
    ses: aws_sdk_sesv2::Client,
}

impl Stack {
    /// With `verified` false the sending domain is unknown to SES until `verify`.
    async fn new(verified: bool) -> Self {
        let config = ventanilla_tests::aws_config().await;
        let domain = format!("{}.gob.ec", unique("mesa"));
        let store = DynamoStore::new(&config, unique("tickets-"));
        store.create_table().await.unwrap();
        let bucket = unique("blobs-");
        let blobs = S3Blobs::new(&config, &bucket, true);
        blobs
            .client()
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let mut settings = Settings::parse(DEFAULT_CONFIG).unwrap();
        settings.public_url = "https://ventanilla.example.gob.ec".into();
        settings.mail_domain = domain.clone();
        settings.no_reply = Mailbox::new(
            "Ventanilla",
            Email::parse(&format!("no-responder@{domain}")).unwrap(),
        );
        settings.support = Email::parse(&format!("soporte@{domain}")).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let site = Site {
            settings,
            links: AccessLinks::new(&[8; 32]).unwrap(),
            clock,
        };
        let mailer = SesMailer::new(&config, None);
        let intake = create_ticket::Intake {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: mailer.clone(),
        };
        let status = ticket_status::StatusDesk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
        };
        let agents = agent_api::AgentDesk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: mailer.clone(),
        };
        let router = create_ticket::router(Arc::new(intake))
            .merge(ticket_status::router(Arc::new(status)))
            .merge(agent_api::router(Arc::new(agents)));
        let mail = inbound_mail::MailDesk {
            site,
            store: store.clone(),
            blobs,
            mailer,
        };
        let stack = Stack {
            router,
            mail,
            store,
            domain,
            ses: aws_sdk_sesv2::Client::new(&config),
        };
        if verified {
            stack.verify().await;
        }
        stack
    }

    async fn verify(&self) {
        self.ses
            .create_email_identity()
            .email_identity(&self.domain)
            .send()
            .await
            .unwrap();
    }

    async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body.to_string())).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn admin(&self) -> String {
        let (_, token) = agent_api::create_agent(
            &self.store,
            &SystemClock,
            AgentId::parse(&unique("admin-")).unwrap(),
            "Ana Admin".into(),
            AgencyCode::parse("MDT").unwrap(),
            Role::Admin,
        )
        .await
        .unwrap();
        token.expose().to_owned()
    }

    /// The S3 action, then the Lambda action, as SES runs a receipt rule.
    async fn receive(&self, raw: &str) -> Vec<inbound_mail::ses::Handled> {
        let id = unique("ses");
        let key = BlobKey::parse(&format!("inbound/{id}")).unwrap();
        let blob = Blob {
            bytes: raw.as_bytes().to_vec(),
            content_type: "message/rfc822".into(),
        };
        self.mail.blobs.put(&key, blob).await.unwrap();
        let event = json!({"Records": [{"eventSource": "aws:ses", "ses": {
            "mail": {"messageId": id},
            "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"},
                        "action": {"type": "Lambda"}}}}]});
        self.mail.handle_ses_event(event).await.unwrap()
    }

    /// (SES id, raw) of every mail this stack sent.
    async fn sent(&self) -> Vec<(String, String)> {
        let data: Value = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        data["ses"]["RawMessage"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| {
                        m["source"]
                            .as_str()
                            .is_some_and(|s| s.ends_with(&self.domain))
                    })
                    .map(|m| {
                        (
                            m["id"].as_str().unwrap().to_owned(),
                            m["raw_data"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn header(raw: &str, name: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
        .unwrap_or_default()
}

fn form(email: &str) -> Value {
    json!({
        "agency": "MDT", "category": "problema_tecnico", "nationality": "EC",
        "id_type": "cedula", "id_number": "1710034065", "full_name": "Carmen Guamán",
        "email": email, "gender": "femenino", "phone": "0991234567", "user_type": "ciudadano",
        "subject": "No puedo firmar el contrato en línea",
        "description": "El sistema da error al firmar."
    })
}

#[tokio::test]
async fn an_agents_reply_reaches_the_citizen_in_the_same_conversation() {
    let stack = Stack::new(true).await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let support = format!("soporte@{}", stack.domain);

    // 1. The form opens the ticket; the acknowledgement goes out.
    let (status, opened) = stack
        .call(None, "POST", "/api/v1/tickets", form(&citizen))
        .await;
    assert_eq!(status, 201, "{opened}");
    let number = opened["number"].as_str().unwrap().to_owned();
    assert_eq!(stack.sent().await.len(), 1);

    // 2. The citizen adds something by mail, answering the acknowledgement.
    let ack_id = stack.sent().await[0].0.clone();
    let handled = stack
        .receive(&format!(
            "From: {citizen}\r\nTo: {support}\r\nSubject: Re: [{number}] Recibimos su solicitud\r\n\
             Message-ID: <c1.{citizen}>\r\nIn-Reply-To: <{ack_id}@email.amazonses.com>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nAdjunto: uso Firefox.\r\n"
        ))
        .await;
    assert_eq!(handled[0].outcome, "follow-up");

    // 3. An agent notes and replies.
    let admin = stack.admin().await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let (status, _) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/notes"),
            json!({"text": "Ver con el proveedor de firma"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, replied) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            json!({"text": "Pruebe con otro navegador, por favor.", "status": "waiting_on_citizen"}),
        )
        .await;
    assert_eq!(status, 201, "{replied}");
    assert_eq!(replied["delivered"], true);
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 2);
    let (reply_id, reply) = sent.iter().find(|(id, _)| id != &ack_id).unwrap();
    assert!(
        header(reply, "From").contains(&support),
        "from the service desk"
    );
    assert!(header(reply, "To").contains(&citizen));
    assert!(header(reply, "Subject").contains(&format!("[{number}]")));
    assert_eq!(header(reply, "In-Reply-To"), format!("<c1.{citizen}>"));
    let references = header(reply, "References");
    assert!(references.contains(&format!("<c1.{citizen}>")));
    assert!(references.contains(&format!(
        "<ticket.{}@{}>",
        number.to_lowercase(),
        stack.domain
    )));
    assert!(
        header(reply, "Auto-Submitted").is_empty(),
        "a person's reply is not automatic"
    );
    for (_, raw) in &sent {
        assert!(
            !raw.contains("proveedor de firma"),
            "a note never leaves in a mail"
        );
    }

    // 4. The citizen answers the reply from their client (SES's Message-ID in In-Reply-To).
    let handled = stack
        .receive(&format!(
            "From: {citizen}\r\nTo: {support}\r\nSubject: RE: {subject}\r\n\
             Message-ID: <c2.{citizen}>\r\nIn-Reply-To: <{reply_id}@email.amazonses.com>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nCon Chrome funcionó, gracias.\r\n\r\n\
             > Pruebe con otro navegador, por favor.\r\n",
            subject = header(reply, "Subject"),
        ))
        .await;
    assert_eq!(handled[0].outcome, "follow-up");
    assert_eq!(handled[0].ticket.as_deref(), Some(number.as_str()));

    // The citizen's status page: both sides of the conversation, no note.
    let (status, view) = stack
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            json!({"email": citizen, "number": number}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        view["status"], "open",
        "the citizen's answer puts it back in progress"
    );
    let texts: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().trim())
        .collect();
    assert_eq!(
        texts[1..],
        [
            "Adjunto: uso Firefox.",
            "Pruebe con otro navegador, por favor.",
            "Con Chrome funcionó, gracias."
        ]
    );
    assert!(!view.to_string().contains("proveedor de firma"));
}

#[tokio::test]
async fn a_reply_the_provider_refused_is_kept_and_sent_again() {
    let stack = Stack::new(false).await;
    let citizen = format!("{}@example.com", unique("jorge"));
    let (status, opened) = stack
        .call(None, "POST", "/api/v1/tickets", form(&citizen))
        .await;
    assert_eq!(
        status, 201,
        "the ticket opens even when the acknowledgement cannot go out"
    );
    let number = opened["number"].as_str().unwrap().to_owned();
    let admin = stack.admin().await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let (status, replied) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            json!({"text": "Ya lo revisamos."}),
        )
        .await;
    assert_eq!(status, 201, "{replied}");
    assert_eq!(replied["delivered"], false);
    assert_eq!(replied["ticket"]["undelivered_replies"], 1);
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    let reply = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "public_reply")
        .unwrap();
    assert_eq!(
        reply["delivered"], false,
        "visible in the thread as not delivered"
    );
    assert!(stack.sent().await.is_empty());

    // The identity is fixed; the next time an agent opens the ticket the reply goes out, once.
    stack.verify().await;
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0, "{shown}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0);
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1, "sent again exactly once");
    assert!(sent[0].1.contains("Ya lo revisamos."));
    assert!(header(&sent[0].1, "To").contains(&citizen));
}
