//! What the HTTP functions share: settings, problem+json answers, the citizen's pages, access
//! links, the source and language of a request, security headers, telemetry.

pub mod access;
pub mod access_log;
pub mod outgoing;
pub mod pages;
pub mod problem;
pub mod request;
pub mod security;
pub mod settings;
pub mod texts;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use ventanilla_domain::ports::Clock;

pub use access::AccessLinks;
pub use problem::Problem;
pub use request::{RequestLang, Source};
pub use settings::Settings;

/// What every HTTP function knows about the site it serves.
#[derive(Clone)]
pub struct Site {
    pub settings: Settings,
    pub links: AccessLinks,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error(
        "the link secret (VENTANILLA_LINK_SECRET_PARAMETER or VENTANILLA_LINK_SECRET) is missing or shorter than 32 bytes"
    )]
    Secret,
}

impl Site {
    /// The site as the environment describes it (`VENTANILLA_CONFIG` or the compiled-in
    /// default, `VENTANILLA_PUBLIC_URL`) with the link secret the function read
    /// (`AwsPorts::link_secret`). A missing or weak secret stops the cold start.
    pub fn from_env(clock: Arc<dyn Clock>, link_secret: &[u8]) -> Result<Self, SiteError> {
        let settings = Settings::from_env()?;
        let links = AccessLinks::new(link_secret).map_err(|_| SiteError::Secret)?;
        Ok(Site {
            settings,
            links,
            clock,
        })
    }
}

impl Site {
    /// The site as it stands for this request: the configured agencies with those admins
    /// saved at run time.
    pub async fn current(
        &self,
        store: &impl ventanilla_domain::ports::AgencyDirectory,
    ) -> Result<Site, ventanilla_domain::ports::StoreError> {
        let stored = store.agencies().await?;
        if stored.is_empty() {
            return Ok(self.clone());
        }
        let mut site = self.clone();
        site.settings = site.settings.with_agencies(stored);
        Ok(site)
    }
}

/// Deletes blobs no ticket came to refer to (the screenshots of a form whose ticket was not
/// opened, a reply's files that did not land, an unowned raw mail): every stored blob belongs
/// to a ticket, so that erasure and retention find it. A failure is logged, not retried:
/// the bucket's lifecycle rule sweeps what is left.
pub async fn discard_blobs(
    blobs: &impl ventanilla_domain::ports::BlobStore,
    keys: &[ventanilla_domain::ports::BlobKey],
) {
    for key in keys {
        if let Err(error) = blobs.delete(key).await {
            tracing::error!(%error, blob = %key, "an unowned blob could not be deleted");
        }
    }
}

/// Whether a request body of `bytes` reaches a function through API Gateway: the HTTP API
/// hands it over in base64 inside a synchronous Lambda invocation of at most 6 MB, with
/// headers and request context around it (64 KiB allowed for those). A larger body meets the
/// gateway's error, not the function's own answer. Each HTTP function checks its body limits
/// with it at compile time.
pub const fn fits_lambda_payload(bytes: usize) -> bool {
    const LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
    const EVENT_ENVELOPE_BYTES: usize = 64 * 1024;
    bytes.div_ceil(3) * 4 + EVENT_ENVELOPE_BYTES <= LAMBDA_PAYLOAD_BYTES
}

/// The layers every router ends with: the hardening headers and the access log.
pub fn finish_router(router: Router) -> Router {
    access_log::with_access_log(security::with_security_headers(router))
}

/// The stylesheet every page links to, and the form's script. Served by one function
/// (create-ticket) on AWS and by the local server.
pub fn static_routes() -> Router {
    let asset = |content_type: &'static str, body: &'static str| {
        get(move || async move {
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=3600"),
                    ),
                ],
                body,
            )
                .into_response()
        })
    };
    Router::new()
        .route(
            "/static/site.css",
            asset("text/css; charset=utf-8", pages::SITE_CSS),
        )
        .route(
            "/static/form.js",
            asset("text/javascript; charset=utf-8", pages::FORM_JS),
        )
}

/// JSON logs for CloudWatch, one line per event, `RUST_LOG` to filter (info by default).
/// Handlers never log an e-mail, an ID number, a phone or a message body.
pub fn init_telemetry() {
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
