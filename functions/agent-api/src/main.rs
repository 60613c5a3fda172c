//! Lambda entry point: the desk on AWS, served by the agent API's router. It keys no
//! personal identifiers, so it does not read their secret.

use std::sync::Arc;

use ventanilla_adapters::ses::SesMailer;

// One event at a time per instance: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let desk = ventanilla_lambda::start::<SesMailer, ()>().await?;
    lambda_http::run(agent_api::router(Arc::new(desk))).await
}
