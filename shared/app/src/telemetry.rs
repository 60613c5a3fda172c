//! Logs: JSON for CloudWatch, one line per event, `RUST_LOG` to filter (info by default).

/// Installs the log subscriber. Handlers never log an e-mail, an ID number, a phone or a
/// message body.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, the local server) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}
