//! Lambda entry point: wires the AWS adapters into the agent desk and serves its router.

use std::sync::Arc;

use agent_api::router;
use ventanilla_adapters::aws::{AwsPorts, Secret};
use ventanilla_app::{Desk, Site};
use ventanilla_domain::ports::SystemClock;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ventanilla_app::telemetry::init();
    let aws = AwsPorts::from_env().await?;
    let site = Site::from_env(Arc::new(SystemClock), &aws.secret(Secret::Link).await?)?;
    let desk = Desk {
        site,
        store: aws.store(),
        blobs: aws.blobs(),
        mailer: aws.mailer(),
        identifiers: (),
    };
    lambda_http::run(router(Arc::new(desk))).await
}
