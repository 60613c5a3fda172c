//! The one AWS SDK configuration a process builds, shared by every client it makes.

pub use aws_config::SdkConfig;

/// Loads region, credentials and endpoint from the standard places (environment, profile,
/// the Lambda execution role). `AWS_ENDPOINT_URL` points every client at a local stand-in.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
