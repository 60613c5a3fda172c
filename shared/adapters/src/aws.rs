//! The one AWS SDK configuration a process builds, shared by every client it makes.

pub use aws_config::SdkConfig;

/// Loads region, credentials and endpoint from the standard places (environment, profile,
/// the Lambda execution role). `AWS_ENDPOINT_URL` points every client at a local stand-in.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A setting the function cannot start without.
#[derive(Debug, thiserror::Error)]
#[error("the environment variable {0} is not set")]
pub struct MissingSetting(pub &'static str);

fn required(name: &'static str) -> Result<String, MissingSetting> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(MissingSetting(name))
}

/// The AWS resources a function works on, as `template.yaml` names them in its environment.
/// Read at cold start, so a missing one fails the start and not a citizen's request.
#[derive(Debug, Clone)]
pub struct Resources {
    /// `VENTANILLA_TABLE`
    pub table: String,
    /// `VENTANILLA_BUCKET`
    pub bucket: String,
    /// `VENTANILLA_SES_CONFIGURATION_SET`, optional: bounce and complaint tracking.
    pub configuration_set: Option<String>,
    /// `VENTANILLA_S3_PATH_STYLE=true` for S3 stand-ins that cannot route by host name.
    pub s3_path_style: bool,
}

impl Resources {
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Resources {
            table: required("VENTANILLA_TABLE")?,
            bucket: required("VENTANILLA_BUCKET")?,
            configuration_set: std::env::var("VENTANILLA_SES_CONFIGURATION_SET")
                .ok()
                .filter(|v| !v.is_empty()),
            s3_path_style: std::env::var("VENTANILLA_S3_PATH_STYLE").is_ok_and(|v| v == "true"),
        })
    }
}

/// The AWS adapters of a function, built from one SDK configuration at cold start.
#[derive(Debug, Clone)]
pub struct AwsPorts {
    pub store: crate::dynamodb::DynamoStore,
    pub blobs: crate::s3::S3Blobs,
    pub mailer: crate::ses::SesMailer,
}

impl AwsPorts {
    /// From the environment `template.yaml` gives every function (see [`Resources`]).
    pub async fn from_env() -> Result<Self, MissingSetting> {
        let resources = Resources::from_env()?;
        let config = load_config().await;
        Ok(AwsPorts {
            store: crate::dynamodb::DynamoStore::new(&config, &resources.table),
            blobs: crate::s3::S3Blobs::new(&config, &resources.bucket, resources.s3_path_style),
            mailer: crate::ses::SesMailer::new(&config, resources.configuration_set),
        })
    }
}
