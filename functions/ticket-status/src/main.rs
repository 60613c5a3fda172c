//! Lambda entry point: wires the AWS adapters into the router and hands it to the runtime.

use std::sync::Arc;

use ticket_status::{StatusDesk, router};
use ventanilla_adapters::aws::AwsPorts;
use ventanilla_domain::ports::SystemClock;
use ventanilla_http::Site;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ventanilla_http::init_telemetry();
    let aws = AwsPorts::from_env().await?;
    let site = Site::from_env(Arc::new(SystemClock), &aws.link_secret().await?)?;
    let desk = StatusDesk {
        site,
        store: aws.store(),
        blobs: aws.blobs(),
    };
    lambda_http::run(router(Arc::new(desk))).await
}
