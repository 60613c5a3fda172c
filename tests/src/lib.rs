//! What the cross-crate tests share: the local AWS stand-in, unique names, the test data
//! folder, and sample domain values.

use std::path::PathBuf;

use ventanilla_adapters::aws::{SdkConfig, load_config};
use ventanilla_domain::operations::NewTicket;
use ventanilla_domain::ticket::IdempotencyKey;
use ventanilla_domain::{
    AgencyCode, Body, Category, Email, Gender, IdDocument, IdType, Nationality, PersonName, Phone,
    QueueName, Requester, Subject, UserType,
};

/// The stand-in's endpoint, set by the test command (`infra/test.sh`). Tests that need it
/// fail with this explanation rather than pass without having run.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: the AWS contract tests need the local stand-in. \
             Run them through `infra/test.sh`, which starts it."
        )
    })
}

/// The SES stand-in. The test command gives SES its own (`AWS_ENDPOINT_URL_SESV2`, which
/// the SDK honours) because reading sent mail back means dumping the whole stand-in's
/// state, which is slow where S3 holds megabytes of test blobs.
pub fn ses_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2").unwrap_or_else(|_| aws_endpoint())
}

/// The SDK configuration for the stand-in (dummy credentials and region come from the
/// environment the test command sets).
pub async fn aws_config() -> SdkConfig {
    aws_endpoint();
    load_config().await.expect("the SDK configuration")
}

/// An SDK configuration whose every service, SES included, is reached at `endpoint` (an
/// explicit endpoint makes the SDK ignore the per-service `AWS_ENDPOINT_URL_*` variables).
pub async fn aws_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A name no other test uses, for tables, buckets, agencies and addresses, since tests run
/// in parallel against one stand-in.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A fresh agency acronym (letters only, as numbers require).
pub fn unique_agency() -> AgencyCode {
    let letters: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .bytes()
        .take(7)
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    AgencyCode::parse(&format!("T{letters}")).expect("generated acronyms are valid")
}

/// `../shared/testdata`, or where `VENTANILLA_TESTDATA` says.
pub fn testdata_dir() -> PathBuf {
    std::env::var_os("VENTANILLA_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata"),
        PathBuf::from,
    )
}

/// The SES receipt event of the Lambda action (the shared fixture), naming the mail SES
/// stored under `ses_id`.
pub fn ses_receipt_event(ses_id: &str) -> serde_json::Value {
    let path =
        testdata_dir().join("04_ses_events/aws-lambda-rust-runtime/example-ses-lambda-event.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared test data)", path.display()));
    let mut event: serde_json::Value = serde_json::from_str(&text).expect("the fixture is JSON");
    event["Records"][0]["ses"]["mail"]["messageId"] = serde_json::json!(ses_id);
    event
}

/// A form-style requester with every field the agencies ask for.
pub fn requester(email: &str) -> Requester {
    Requester {
        name: PersonName::parse("María José Ñáñez").expect("valid"),
        email: Email::parse(email).expect("valid"),
        id_document: Some(IdDocument::parse(IdType::Cedula, "1714307103").expect("valid")),
        phone: Some(Phone::parse("0991234567").expect("valid")),
        nationality: Some(Nationality::parse("EC").expect("valid")),
        gender: Some(Gender::PrefieroNoDecir),
        user_type: Some(UserType::Ciudadano),
    }
}

/// A request to open a ticket in `agency`'s `general` queue.
pub fn new_ticket(agency: &AgencyCode, category: Category, email: &str) -> NewTicket {
    NewTicket {
        agency: agency.clone(),
        queue: QueueName::parse("general").expect("valid"),
        category,
        requester: requester(email),
        subject: Subject::parse("Consulta sobre licencia de turismo").expect("valid"),
        description: Body::parse("Buenos días,\nquisiera saber el estado de mi trámite.")
            .expect("valid"),
        attachments: Vec::new(),
        mail: None,
        idempotency_key: None,
        linked_to: None,
    }
}

pub fn idempotency_key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).expect("valid key")
}

/// A new bucket on the stand-in, addressed by path as stand-ins need.
pub async fn stand_in_bucket(config: &SdkConfig) -> ventanilla_adapters::s3::S3Blobs {
    let bucket = unique("blobs-");
    let blobs = ventanilla_adapters::s3::S3Blobs::new(config, &bucket, true);
    blobs
        .client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    blobs
}

/// Fresh AWS resources on the stand-in for one test (a table, a bucket) and a site whose
/// mail addresses live in a domain of its own, so that the mail it sends can be told apart
/// from every other test's.
pub struct AwsStandIn {
    pub store: ventanilla_adapters::dynamodb::DynamoStore,
    pub blobs: ventanilla_adapters::s3::S3Blobs,
    pub mailer: ventanilla_adapters::ses::SesMailer,
    pub site: ventanilla_http::Site,
    pub domain: String,
    ses: aws_sdk_sesv2::Client,
}

impl std::fmt::Debug for AwsStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsStandIn")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl AwsStandIn {
    /// With `verified` false, SES refuses the domain's mail until [`AwsStandIn::verify`].
    pub async fn new(verified: bool) -> Self {
        Self::at(aws_config().await, verified).await
    }

    /// The same, with the SDK reaching the stand-ins through `config` (a proxy's endpoint).
    pub async fn at(config: SdkConfig, verified: bool) -> Self {
        use ventanilla_domain::mail::Mailbox;
        let domain = format!("{}.gob.ec", unique("mesa"));
        let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, unique("tickets-"));
        store.create_table().await.expect("table");
        let blobs = stand_in_bucket(&config).await;
        let mut settings =
            ventanilla_http::Settings::parse(ventanilla_http::settings::DEFAULT_CONFIG)
                .expect("the default configuration");
        settings.public_url = "https://ventanilla.example.gob.ec".into();
        settings.mail_domain = domain.clone();
        settings.no_reply = Mailbox::new(
            "Ventanilla",
            Email::parse(&format!("no-responder@{domain}")).expect("valid"),
        );
        settings.support = Email::parse(&format!("soporte@{domain}")).expect("valid");
        let clock: std::sync::Arc<dyn ventanilla_domain::ports::Clock> =
            std::sync::Arc::new(ventanilla_domain::ports::SystemClock);
        let site = ventanilla_http::Site {
            settings,
            links: ventanilla_http::AccessLinks::new(&[7; 32]).expect("a long secret"),
            clock,
        };
        let stand_in = AwsStandIn {
            store,
            blobs,
            mailer: ventanilla_adapters::ses::SesMailer::new(&config, None),
            site,
            domain,
            ses: aws_sdk_sesv2::Client::new(&config),
        };
        if verified {
            stand_in.verify().await;
        }
        stand_in
    }

    /// What the receipt rule's S3 action does with a mail SES received: stores it raw under
    /// the inbound prefix and SES's id, where inbound-mail reads it.
    pub async fn store_received_mail(&self, ses_id: &str, raw: impl Into<Vec<u8>>) {
        use ventanilla_domain::ports::BlobStore;
        let key = ventanilla_domain::ports::BlobKey::parse(&format!("inbound/{ses_id}"))
            .expect("a valid key");
        let blob = ventanilla_domain::ports::Blob {
            bytes: raw.into(),
            content_type: "message/rfc822".into(),
        };
        self.blobs
            .put(&key, blob)
            .await
            .expect("the mail is stored");
    }

    pub async fn verify(&self) {
        self.ses
            .create_email_identity()
            .email_identity(&self.domain)
            .send()
            .await
            .expect("identity");
    }

    /// (SES id, raw) of every mail sent from this domain, as the stand-in recorded it.
    pub async fn sent(&self) -> Vec<(String, String)> {
        let data: serde_json::Value =
            reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
                .await
                .expect("the SES stand-in answers")
                .json()
                .await
                .expect("JSON");
        data["ses"]["RawMessage"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| {
                        m["source"]
                            .as_str()
                            .is_some_and(|s| s.ends_with(&self.domain))
                    })
                    .filter_map(|m| {
                        Some((
                            m["id"].as_str()?.to_owned(),
                            m["raw_data"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The plain-text body of a raw mail, decoded.
pub fn body_text(raw: &str) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable mail");
    message.body_text(0).expect("a text body").into_owned()
}

/// A new agent of MDT with `role` in `store`, and its token (what `agent add` prints).
pub async fn mdt_agent(
    store: &ventanilla_adapters::dynamodb::DynamoStore,
    role: ventanilla_domain::agents::Role,
) -> String {
    let (_, token) = agent_api::create_agent(
        store,
        &ventanilla_domain::ports::SystemClock,
        ventanilla_domain::AgentId::parse(&unique("agente-")).expect("valid id"),
        "Ana Agente".into(),
        AgencyCode::parse("MDT").expect("valid"),
        role,
    )
    .await
    .expect("the agent is stored");
    token.expose().to_owned()
}

/// The form's fields as JSON, for `POST /api/v1/tickets`: a citizen of MDT with a
/// technical problem.
pub fn form_json(email: &str) -> serde_json::Value {
    serde_json::json!({
        "agency": "MDT", "category": "problema_tecnico", "nationality": "EC",
        "id_type": "cedula", "id_number": "1710034065", "full_name": "Carmen Guamán",
        "email": email, "gender": "femenino", "phone": "0991234567", "user_type": "ciudadano",
        "subject": "No puedo firmar el contrato en línea",
        "description": "El sistema da error al firmar."
    })
}

/// A header of a raw mail as written, unfolded.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw
        .split("\r\n\r\n")
        .next()?
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.split("\r\n")
        .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_owned())
}

/// Every function wired to the stand-ins in one process: the HTTP functions' routers merged
/// (as the local server mounts them) and the inbound-mail desk.
pub struct AwsStack {
    pub router: axum::Router,
    pub mail: inbound_mail::MailDesk<
        ventanilla_adapters::dynamodb::DynamoStore,
        ventanilla_adapters::s3::S3Blobs,
        ventanilla_adapters::ses::SesMailer,
    >,
    pub aws: AwsStandIn,
}

impl std::fmt::Debug for AwsStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsStack")
            .field("aws", &self.aws)
            .finish_non_exhaustive()
    }
}

impl AwsStack {
    /// With `verified` false the sending domain is unknown to SES until `aws.verify()`.
    pub async fn new(verified: bool) -> Self {
        Self::on(AwsStandIn::new(verified).await)
    }

    pub fn on(aws: AwsStandIn) -> Self {
        use std::sync::Arc;
        let intake = create_ticket::Intake {
            site: aws.site.clone(),
            store: aws.store.clone(),
            blobs: aws.blobs.clone(),
            mailer: aws.mailer.clone(),
        };
        let status = ticket_status::StatusDesk {
            site: aws.site.clone(),
            store: aws.store.clone(),
            blobs: aws.blobs.clone(),
        };
        let agents = agent_api::AgentDesk {
            site: aws.site.clone(),
            store: aws.store.clone(),
            blobs: aws.blobs.clone(),
            mailer: aws.mailer.clone(),
        };
        let router = create_ticket::router(Arc::new(intake))
            .merge(ticket_status::router(Arc::new(status)))
            .merge(agent_api::router(Arc::new(agents)));
        let mail = inbound_mail::MailDesk {
            site: aws.site.clone(),
            store: aws.store.clone(),
            blobs: aws.blobs.clone(),
            mailer: aws.mailer.clone(),
        };
        AwsStack { router, mail, aws }
    }

    /// A JSON request through the routers: the status and the JSON answer (`null` if none).
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(axum::body::Body::from(body.to_string()))
            .expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn admin(&self) -> String {
        mdt_agent(&self.aws.store, ventanilla_domain::agents::Role::Admin).await
    }

    /// A ticket opened through the form's route for `email`; its number.
    pub async fn open_ticket(&self, email: &str) -> String {
        let (status, opened) = self
            .call(None, "POST", "/api/v1/tickets", form_json(email))
            .await;
        assert_eq!(status, 201, "{opened}");
        opened["number"]
            .as_str()
            .expect("the answer names the ticket")
            .to_owned()
    }

    /// The S3 action, then the Lambda action, as SES runs a receipt rule.
    pub async fn receive(&self, raw: &str) -> Vec<inbound_mail::ses::Handled> {
        let id = unique("ses");
        self.aws.store_received_mail(&id, raw).await;
        self.mail
            .handle_ses_event(ses_receipt_event(&id))
            .await
            .expect("the mail is delivered")
    }

    pub async fn sent(&self) -> Vec<(String, String)> {
        self.aws.sent().await
    }
}
