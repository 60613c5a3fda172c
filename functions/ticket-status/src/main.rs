//! Lambda entry point: the desk on AWS, served by the status router. It sends no mail.

use std::sync::Arc;

use ventanilla_domain::ports::IdentifierSecret;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let desk = ventanilla_lambda::start::<(), IdentifierSecret>().await?;
    lambda_http::run(ticket_status::router(Arc::new(desk))).await
}
