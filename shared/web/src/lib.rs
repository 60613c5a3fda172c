//! What HTTP needs and nothing else: problem+json answers, the citizen's pages, the source and
//! language of a request, the agent a console request comes from, security headers and the
//! access log.

pub mod access_log;
pub mod caller;
pub mod charts;
pub mod figures;
pub mod pages;
pub mod problem;
pub mod request;
pub mod security;
pub mod texts;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub use caller::Caller;
pub use problem::Problem;
pub use request::{RequestLang, Source};

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

/// The stylesheet every page links to, the form's script and the (empty) icon. Served by one function
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
        // Browsers ask for it on their own: no icon, said without an error.
        .route(
            "/favicon.ico",
            get(|| async {
                (
                    axum::http::StatusCode::NO_CONTENT,
                    [(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=86400"),
                    )],
                )
                    .into_response()
            }),
        )
}
