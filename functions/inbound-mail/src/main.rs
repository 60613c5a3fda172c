//! Lambda entry point: the desk on AWS, handed SES receipt events and the retention rule's
//! schedule. An error makes Lambda retry the event (asynchronous invocation), then send it to
//! the on-failure destination.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use ventanilla_adapters::ses::SesMailer;
use ventanilla_domain::ports::IdentifierSecret;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let desk = Arc::new(ventanilla_lambda::start::<SesMailer, IdentifierSecret>().await?);
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
