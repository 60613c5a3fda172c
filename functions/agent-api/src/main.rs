//! Lambda entry point: wires the AWS adapters into the agent desk and serves its router.

use std::sync::Arc;

use agent_api::{AgentDesk, router};
use ventanilla_adapters::aws::{Resources, load_config};
use ventanilla_adapters::{dynamodb::DynamoStore, s3::S3Blobs, ses::SesMailer};
use ventanilla_domain::ports::SystemClock;
use ventanilla_http::Site;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ventanilla_http::init_telemetry();
    let site = Site::from_env(Arc::new(SystemClock))?;
    let resources = Resources::from_env()?;
    let config = load_config().await;
    let desk = AgentDesk {
        site,
        store: DynamoStore::new(&config, &resources.table),
        blobs: S3Blobs::new(&config, &resources.bucket, resources.s3_path_style),
        mailer: SesMailer::new(&config, resources.configuration_set.clone()),
    };
    lambda_http::run(router(Arc::new(desk))).await
}
