//! What the cross-crate tests share: the local AWS stand-in, unique names, the test data
//! folder, and sample domain values.

use std::path::PathBuf;

use ventanilla_adapters::aws::{SdkConfig, load_config};
use ventanilla_app::open_ticket::NewTicket;
use ventanilla_domain::model::ticket::IdempotencyKey;
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
        .http_client(ventanilla_adapters::aws::https_client().expect("the HTTPS client"))
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

/// The `n`-th of a generated run of automatic-mail notes, a second apart from `start`: what
/// fills a thread to test its paging.
pub fn generated_event(start: ventanilla_domain::Timestamp, n: i64) -> ventanilla_domain::Message {
    use ventanilla_domain::ports::IdSource;
    ventanilla_domain::Message {
        id: ventanilla_adapters::system::UuidV7.message_id(),
        at: start.plus(chrono::Duration::seconds(n)),
        kind: ventanilla_domain::MessageKind::SystemEvent,
        author: ventanilla_domain::Author::System,
        body: Body::parse(&format!("auto-reply received: {n}")).expect("a valid body"),
        attachments: Vec::new(),
        mail: None,
    }
}

/// A form-style requester with every field the agencies ask for.
pub fn requester(email: &str) -> Requester {
    Requester {
        name: PersonName::parse("María José Ñáñez").expect("valid"),
        email: Some(Email::parse(email).expect("valid")),
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
        channel: ventanilla_domain::Channel::Formulario,
        acknowledgement: None,
        alert: None,
        term: None,
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

/// The link secret of the stand-in stacks (what the deployer puts in SSM).
pub const LINK_SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-e2e!";
/// The identifier secret the stand-in's SSM holds for every stack.
pub const IDENTIFIER_SECRET: &str = "e2e-identifiers-e2e-identifiers-e2e!";

/// Fresh AWS resources on the stand-in for one test (a table, a bucket) and a site whose
/// mail addresses live in a domain of its own, so that the mail it sends can be told apart
/// from every other test's.
///
/// `store`, `blobs` and `mailer` act as the test itself (unrestricted, for set-up and
/// inspection); a function is given [`AwsStandIn::ports`], whose every call the stand-in
/// judges against that function's policy in `template.yaml` (`infra/iam/enforce.py`).
pub struct AwsStandIn {
    pub store: ventanilla_adapters::dynamodb::DynamoStore,
    pub blobs: ventanilla_adapters::s3::S3Blobs,
    pub mailer: ventanilla_adapters::ses::SesMailer,
    pub site: ventanilla_app::Site,
    pub domain: String,
    /// The SES configuration set the functions send through, as on AWS.
    pub configuration_set: String,
    /// The SSM SecureString that holds the link secret (`VENTANILLA_LINK_SECRET_PARAMETER`).
    pub link_secret_parameter: String,
    /// The one that holds the identifier secret (`VENTANILLA_IDENTIFIER_SECRET_PARAMETER`).
    pub identifier_secret_parameter: String,
    /// The stack the stand-in knows this test by, and each function's access key in it.
    pub stack: String,
    keys: std::collections::HashMap<String, String>,
    /// Made [`AwsStandIn::without_grants`]: refusals are what the test is about.
    pub expects_denials: bool,
    config: SdkConfig,
    ses: aws_sdk_sesv2::Client,
}

/// The AWS adapters of one function, calling with that function's credentials.
#[derive(Debug, Clone)]
pub struct FunctionPorts {
    pub store: ventanilla_adapters::dynamodb::DynamoStore,
    pub blobs: ventanilla_adapters::s3::S3Blobs,
    pub mailer: ventanilla_adapters::ses::SesMailer,
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
        Self::without_grants(config, verified, &[]).await
    }

    /// With grants taken out of the functions' policies, each `"function|Sid|action"` (the
    /// statement's Sid in template.yaml), to show that a missing grant is caught. Such a stand-in expects refusals: `assert_no_denials` lets them pass.
    pub async fn without_grants(config: SdkConfig, verified: bool, dropped: &[&str]) -> Self {
        use ventanilla_domain::model::mail::Mailbox;
        let domain = format!("{}.gob.ec", unique("mesa"));
        let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, unique("tickets-"));
        store.create_table().await.expect("table");
        let blobs = stand_in_bucket(&config).await;
        let mut settings = ventanilla_app::Settings::parse(ventanilla_app::config::DEFAULT_CONFIG)
            .expect("the default configuration");
        settings.public_url = "https://ventanilla.example.gob.ec".into();
        settings.mail_domain = domain.clone();
        settings.no_reply = Mailbox::new(
            "Ventanilla",
            Email::parse(&format!("no-responder@{domain}")).expect("valid"),
        );
        settings.support = Email::parse(&format!("soporte@{domain}")).expect("valid");
        // A failed mail is tried again a second later (a minute in production), and a
        // writer's lease is long enough for a slow stand-in under parallel tests.
        settings.mail_queue.retry.first_retry = std::time::Duration::from_secs(1);
        settings.mail_queue.retry.lease = std::time::Duration::from_secs(20);
        let clock: std::sync::Arc<dyn ventanilla_domain::ports::Clock> =
            std::sync::Arc::new(ventanilla_adapters::system::SystemClock);
        let site = ventanilla_app::Site {
            settings,
            links: ventanilla_app::AccessLinks::new(&[7; 32]).expect("a long secret"),
            clock,
            ids: std::sync::Arc::new(ventanilla_adapters::system::UuidV7),
        };
        let stack = unique("stack");
        let configuration_set = unique("envios-");
        let link_secret_parameter = format!("/ventanilla/{stack}/link-secret");
        aws_sdk_ssm::Client::new(&config)
            .put_parameter()
            .name(&link_secret_parameter)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(LINK_SECRET)
            .send()
            .await
            .expect("the link secret parameter");
        let identifier_secret_parameter = format!("/ventanilla/{stack}/identifier-secret");
        aws_sdk_ssm::Client::new(&config)
            .put_parameter()
            .name(&identifier_secret_parameter)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(IDENTIFIER_SECRET)
            .send()
            .await
            .expect("the identifier secret parameter");
        let keys = register_stack(&serde_json::json!({
            "name": stack,
            "table": store.table(),
            "bucket": blobs.bucket(),
            "mail_domain": domain,
            "support": format!("soporte@{domain}"),
            "no_reply": format!("no-responder@{domain}"),
            "configuration_set": configuration_set,
            "link_secret_parameter": link_secret_parameter,
            "parameters": {"IdentifierSecretParameter": identifier_secret_parameter},
            "drop": dropped,
        }))
        .await;
        // The functions send through it, as on AWS, where SES refuses an unknown one.
        let ses = aws_sdk_sesv2::Client::new(&config);
        ses.create_configuration_set()
            .configuration_set_name(&configuration_set)
            .send()
            .await
            .expect("configuration set");
        let stand_in = AwsStandIn {
            store,
            blobs,
            mailer: ventanilla_adapters::ses::SesMailer::new(&config, None),
            site,
            domain,
            configuration_set,
            link_secret_parameter,
            identifier_secret_parameter,
            stack,
            keys,
            expects_denials: !dropped.is_empty(),
            ses,
            config,
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
        let key =
            ventanilla_domain::BlobKey::parse(&format!("inbound/{ses_id}")).expect("a valid key");
        let blob = ventanilla_domain::ports::Blob {
            bytes: raw.into(),
            content_type: "message/rfc822".into(),
        };
        self.blobs
            .put(&key, blob)
            .await
            .expect("the mail is stored");
    }

    /// The access key `function` (a binary name of `template.yaml`) calls with.
    pub fn access_key(&self, function: &str) -> &str {
        self.keys
            .get(function)
            .unwrap_or_else(|| panic!("template.yaml has no function {function}"))
    }

    /// The SDK configuration of `function`: its own credentials, so that the stand-in
    /// judges its calls by its policy.
    pub fn function_config(&self, function: &str) -> SdkConfig {
        use aws_sdk_sesv2::config::{Credentials, SharedCredentialsProvider};
        let credentials = Credentials::new(
            self.access_key(function),
            "stand-in-secret",
            None,
            None,
            "template-policy",
        );
        self.config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build()
    }

    /// `function`'s adapters on this test's table, bucket and configuration set.
    pub fn ports(&self, function: &str) -> FunctionPorts {
        let config = self.function_config(function);
        FunctionPorts {
            store: ventanilla_adapters::dynamodb::DynamoStore::new(&config, self.store.table()),
            blobs: ventanilla_adapters::s3::S3Blobs::new(&config, self.blobs.bucket(), true),
            mailer: ventanilla_adapters::ses::SesMailer::new(
                &config,
                Some(self.configuration_set.clone()),
            ),
        }
    }

    /// Fails the test, naming function, action and resource, if the stand-in refused any
    /// call of this test's functions under their policies.
    pub async fn assert_no_denials(&self) {
        if self.expects_denials {
            return;
        }
        assert_stack_allowed(&self.stack).await;
    }

    pub async fn verify(&self) {
        self.ses
            .create_email_identity()
            .email_identity(&self.domain)
            .send()
            .await
            .expect("identity");
    }

    /// The keys of every object in the stack's bucket.
    pub async fn blob_keys(&self) -> Vec<String> {
        let listed = self
            .blobs
            .client()
            .list_objects_v2()
            .bucket(self.blobs.bucket())
            .send()
            .await
            .expect("the bucket lists");
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
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

/// The stand-ins' endpoints (one, or the DynamoDB/S3 one and the SES one).
fn stand_in_endpoints() -> Vec<String> {
    let mut endpoints = vec![aws_endpoint(), ses_endpoint()];
    endpoints.dedup();
    endpoints
}

/// Tells every stand-in about a test's stack (`infra/iam/enforce.py`): each derives the
/// functions' policies from `template.yaml` for its names. Function -> access key.
pub async fn register_stack(
    stack: &serde_json::Value,
) -> std::collections::HashMap<String, String> {
    let mut keys = std::collections::HashMap::new();
    for endpoint in stand_in_endpoints() {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{endpoint}/_ventanilla/iam/stacks"))
            .json(stack)
            .send()
            .await
            .expect("the stand-in answers")
            .error_for_status()
            .expect("the stand-in registers the stack (is it infra/moto_server.py?)")
            .json()
            .await
            .expect("JSON");
        keys = serde_json::from_value(answer["keys"].clone()).expect("function -> key");
    }
    keys
}

/// Fails the test, naming function, action and resource, if the stand-ins refused any call
/// of `stack`'s functions under their policies in `template.yaml`.
pub async fn assert_stack_allowed(stack: &str) {
    let denials = stack_denials(stack).await;
    assert!(
        denials.is_empty(),
        "calls outside the functions' policies in template.yaml:\n{}",
        denials
            .iter()
            .map(|d| format!(
                "  {}: {} on {} {}",
                d["function"], d["action"], d["resource"], d["context"]
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// What the stand-ins refused to `stack`'s functions.
pub async fn stack_denials(stack: &str) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for endpoint in stand_in_endpoints() {
        let found: Vec<serde_json::Value> =
            reqwest::get(format!("{endpoint}/_ventanilla/iam/denials?stack={stack}"))
                .await
                .expect("the stand-in answers")
                .json()
                .await
                .expect("JSON");
        all.extend(found);
    }
    all
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
    role: ventanilla_domain::model::agents::Role,
) -> String {
    let (_, token) = ventanilla_app::agents::create(
        store,
        &ventanilla_adapters::system::SystemClock,
        ventanilla_domain::AgentId::parse(&unique("agente-")).expect("valid id"),
        "Ana Agente".into(),
        AgencyCode::parse("MDT").expect("valid"),
        role,
        None,
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
    pub mail: ventanilla_app::Desk<
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

    /// Each function gets its own adapters, calling with its own credentials.
    pub fn on(aws: AwsStandIn) -> Self {
        use std::sync::Arc;
        let ports = aws.ports("create-ticket");
        let intake = ventanilla_app::Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            mailer: ports.mailer,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
        };
        let ports = aws.ports("ticket-status");
        let status = ventanilla_app::Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
            mailer: (),
        };
        let ports = aws.ports("agent-api");
        let agents = ventanilla_app::Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            mailer: ports.mailer,
            identifiers: (),
        };
        let router = create_ticket::router(Arc::new(intake))
            .merge(ticket_status::router(Arc::new(status)))
            .merge(agent_api::router(Arc::new(agents)));
        let ports = aws.ports("inbound-mail");
        let mail = ventanilla_app::Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            mailer: ports.mailer,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
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
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(axum::body::Body::from(body.to_string())))
            .await
    }

    /// A form (`application/x-www-form-urlencoded`, already encoded) posted through the
    /// routers by a program that asks for JSON: the status and the JSON answer.
    pub async fn post_form(&self, path: &str, form: &str) -> (u16, serde_json::Value) {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        self.send(request.body(axum::body::Body::from(form.to_owned())))
            .await
    }

    /// A request through the routers, then the check that no call was refused: the status
    /// and the JSON answer (`null` if none).
    async fn send(
        &self,
        request: Result<axum::http::Request<axum::body::Body>, axum::http::Error>,
    ) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let response = self
            .router
            .clone()
            .oneshot(request.expect("a valid request"))
            .await
            .expect("the router answers");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        self.aws.assert_no_denials().await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The citizen's lookup by e-mail + number (the status API).
    pub async fn lookup(&self, email: &str, number: &str) -> (u16, serde_json::Value) {
        self.call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            serde_json::json!({"email": email, "number": number}),
        )
        .await
    }

    /// A multipart form through the routers (text fields, then files as
    /// `(field, file name, content type, bytes)`): the status and the JSON answer.
    pub async fn call_multipart(
        &self,
        token: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> (u16, serde_json::Value) {
        let boundary = "limite-ventanilla-aws";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (field, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = axum::http::Request::post(path)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(axum::body::Body::from(body))).await
    }

    pub async fn admin(&self) -> String {
        mdt_agent(
            &self.aws.store,
            ventanilla_domain::model::agents::Role::Admin,
        )
        .await
    }

    /// An MDT agent's token (no admin rights).
    pub async fn agent(&self) -> String {
        mdt_agent(
            &self.aws.store,
            ventanilla_domain::model::agents::Role::Agent,
        )
        .await
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
        let handled = inbound_mail::ses::handle_ses_event(&self.mail, ses_receipt_event(&id)).await;
        self.aws.assert_no_denials().await;
        handled.expect("the mail is delivered")
    }

    pub async fn sent(&self) -> Vec<(String, String)> {
        self.aws.sent().await
    }

    /// The mail queue's sweep, as its minute's schedule invokes inbound-mail
    /// (`infra/events/inbound-mail-mail-queue-schedule.json`); what it reports.
    pub async fn sweep_mail(&self) -> serde_json::Value {
        let swept = inbound_mail::handle(&self.mail, mail_queue_schedule())
            .await
            .expect("the sweep runs");
        self.aws.assert_no_denials().await;
        swept
    }
}

/// The event the mail queue's schedule sends inbound-mail (its rule's `Input`).
pub fn mail_queue_schedule() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/events/inbound-mail-mail-queue-schedule.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the sample event")).expect("JSON")
}

/// A status change as an agent makes it, on the ticket as stored now.
pub async fn change_status(
    store: &impl ventanilla_domain::ports::TicketStore,
    clock: &(impl ventanilla_domain::ports::Clock + ?Sized),
    ids: &impl ventanilla_domain::ports::IdSource,
    number: &ventanilla_domain::TicketNumber,
    seen_version: u64,
    to: ventanilla_domain::Status,
    by: ventanilla_domain::AgentRef,
) -> Result<ventanilla_domain::Ticket, ventanilla_app::change::ChangeError> {
    use ventanilla_app::change::{Change, apply};
    let ticket = store.ticket(number).await?;
    if ticket.version != seen_version {
        return Err(ventanilla_domain::ports::StoreError::VersionConflict.into());
    }
    let changed = apply(store, clock, ids, &ticket, Change::status(to), by, 10);
    Ok(changed.await?.ticket)
}

/// An agent as a change names them.
pub fn agent_ref() -> ventanilla_domain::AgentRef {
    ventanilla_domain::AgentRef {
        id: ventanilla_domain::AgentId::parse("agente-de-prueba").expect("valid"),
        name: "Agente de prueba".into(),
    }
}
