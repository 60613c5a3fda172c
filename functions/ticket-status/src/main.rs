//! Lambda entry point: wires the AWS adapters into the router and hands it to the runtime.

use std::sync::Arc;

use ticket_status::{StatusDesk, router};
use ventanilla_adapters::aws::{Resources, load_config};
use ventanilla_adapters::{dynamodb::DynamoStore, s3::S3Blobs};
use ventanilla_domain::ports::SystemClock;
use ventanilla_http::Site;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ventanilla_http::init_telemetry();
    let site = Site::from_env(Arc::new(SystemClock))?;
    let resources = Resources::from_env()?;
    let config = load_config().await;
    let desk = StatusDesk {
        site,
        store: DynamoStore::new(&config, &resources.table),
        blobs: S3Blobs::new(&config, &resources.bucket, resources.s3_path_style),
    };
    lambda_http::run(router(Arc::new(desk))).await
}
