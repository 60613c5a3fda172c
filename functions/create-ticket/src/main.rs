//! Lambda entry point: wires the AWS adapters into the router and hands it to the runtime.

use std::sync::Arc;

use create_ticket::router;
use ventanilla_adapters::aws::{AwsPorts, Secret};
use ventanilla_app::{Desk, Site};
use ventanilla_domain::ports::SystemClock;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ventanilla_app::telemetry::init();
    let aws = AwsPorts::from_env().await?;
    // Both secrets at once: two SSM reads in the time of one.
    let (link, identifiers) = tokio::join!(aws.secret(Secret::Link), aws.identifier_secret());
    let site = Site::from_env(Arc::new(SystemClock), &link?)?;
    let desk = Desk {
        site,
        store: aws.store(),
        blobs: aws.blobs(),
        mailer: aws.mailer(),
        identifiers: identifiers?,
    };
    lambda_http::run(router(Arc::new(desk))).await
}
