//! Lambda entry point: wires the AWS adapters into the mail desk and hands it SES receipt
//! events and the retention rule's schedule. An error makes Lambda retry the event
//! (asynchronous invocation), then send it to the on-failure destination.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use ventanilla_adapters::aws::{AwsPorts, Secret};
use ventanilla_app::{Desk, Site};
use ventanilla_domain::ports::SystemClock;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ventanilla_app::telemetry::init();
    let aws = AwsPorts::from_env().await?;
    // Both secrets at once: two SSM reads in the time of one.
    let (link, identifiers) = tokio::join!(aws.secret(Secret::Link), aws.identifier_secret());
    let site = Site::from_env(Arc::new(SystemClock), &link?)?;
    let desk = Arc::new(Desk {
        site,
        store: aws.store(),
        blobs: aws.blobs(),
        mailer: aws.mailer(),
        identifiers: identifiers?,
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let desk = Arc::clone(&desk);
        async move {
            inbound_mail::handle(&desk, event.payload)
                .await
                .map_err(|error| {
                    let cause = error.source().map(ToString::to_string);
                    tracing::error!(%error, cause, "event not handled; it will be retried");
                    lambda_runtime::Error::from(error)
                })
        }
    }))
    .await
}
