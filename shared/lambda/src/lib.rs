//! What every Lambda function's `main` does before it serves: logs, then its desk wired to
//! DynamoDB, S3 and SES from the environment `template.yaml` gives it, once per cold start.
//! The desk's types say which optional ports the function has a grant for.

use std::sync::Arc;

use ventanilla_adapters::aws::{AwsPorts, Secret};
use ventanilla_adapters::dynamodb::DynamoStore;
use ventanilla_adapters::s3::S3Blobs;
use ventanilla_adapters::ses::SesMailer;
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::{Desk, Site};
use ventanilla_domain::ports::IdentifierSecret;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A port a function may or may not have: built from its AWS configuration, or `()` where
/// its IAM policy grants nothing for it.
pub trait OptionalPort: Sized {
    fn build(aws: &AwsPorts) -> impl Future<Output = Result<Self, Error>>;
}

/// No grant: nothing to build.
impl OptionalPort for () {
    async fn build(_: &AwsPorts) -> Result<Self, Error> {
        Ok(())
    }
}

/// Sending mail through SES (the client is made on first use).
impl OptionalPort for SesMailer {
    async fn build(aws: &AwsPorts) -> Result<Self, Error> {
        Ok(aws.mailer())
    }
}

/// The key of personal identifiers, read from its SSM parameter.
impl OptionalPort for IdentifierSecret {
    async fn build(aws: &AwsPorts) -> Result<Self, Error> {
        Ok(aws.identifier_secret().await?)
    }
}

/// Installs the logs and builds the function's desk. `M` is its mailer and `K` its key of
/// personal identifiers, each `()` where the function has no grant for it.
pub async fn start<M: OptionalPort, K: OptionalPort>()
-> Result<Desk<DynamoStore, S3Blobs, M, K>, Error> {
    ventanilla_app::telemetry::init();
    let aws = AwsPorts::from_env().await?;
    // The secrets at once: two SSM reads in the time of one.
    let (link, identifiers) = tokio::join!(aws.secret(Secret::Link), K::build(&aws));
    Ok(Desk {
        site: Site::from_env(Arc::new(SystemClock), Arc::new(UuidV7), &link?)?,
        store: aws.store(),
        blobs: aws.blobs(),
        mailer: M::build(&aws).await?,
        identifiers: identifiers?,
    })
}
