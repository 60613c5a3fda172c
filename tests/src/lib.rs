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
    load_config().await
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
