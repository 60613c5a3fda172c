//! Lambda entry point: the desk on AWS, served by the form's router.

use std::sync::Arc;

use ventanilla_adapters::ses::SesMailer;
use ventanilla_domain::ports::IdentifierSecret;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let desk = ventanilla_lambda::start::<SesMailer, IdentifierSecret>().await?;
    lambda_http::run(create_ticket::router(Arc::new(desk))).await
}
