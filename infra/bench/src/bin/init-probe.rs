//! What a function's cold start spends its time on: each step of the functions' `main.rs`
//! before the first Runtime API poll, then each client the first event builds, timed in one
//! process (release profile, as the functions are built). `infra/bench/performance.sh` runs
//! it; docs/PERFORMANCE.md has the figures.
//!
//! Prints one JSON object per step: `{"step": ..., "us": ...}`. Run it with the environment
//! the functions get (`VENTANILLA_TABLE`, `VENTANILLA_BUCKET`, `VENTANILLA_LINK_SECRET`,
//! `AWS_REGION` and credentials); nothing is sent anywhere.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use ventanilla_adapters::aws::{AwsPorts, Secret};
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::Site;

fn report(step: &str, started: Instant) -> Instant {
    println!(
        "{}",
        serde_json::json!({"step": step, "us": started.elapsed().as_micros()})
    );
    Instant::now()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let t = report("tokio runtime (current thread)", all);
    runtime.block_on(async {
        ventanilla_app::telemetry::init();
        let t = report("tracing subscriber (JSON, env filter)", t);
        let aws = AwsPorts::from_env().await?;
        let t = report("SDK configuration (aws_config::load)", t);
        let site = Site::from_env(
            Arc::new(SystemClock),
            Arc::new(UuidV7),
            &aws.secret(Secret::Link).await?,
        )?;
        let t = report("site settings (TOML, links)", t);
        let (store, blobs, mailer) = (aws.store(), aws.blobs(), aws.mailer());
        let t = report("adapters (clients not built)", t);
        report("total before the first event", all);
        // What the first event's calls then pay, once per client.
        store.client();
        let t = report("first use: DynamoDB client", t);
        blobs.client();
        let t = report("first use: S3 client", t);
        mailer.client();
        report("first use: SES v2 client", t);
        drop(site);
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
