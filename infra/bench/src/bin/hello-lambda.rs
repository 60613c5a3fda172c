//! The yardstick for cold starts: a `lambda_runtime` function that only echoes its event,
//! built with the functions' release profile by `cargo lambda build --release`
//! (`infra/bench/performance.sh` measures both side by side).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
