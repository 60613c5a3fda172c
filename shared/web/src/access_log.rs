//! One log line per answered request: method, route template, status and duration. The
//! route is the template (`/estado/{token}`), never the path: paths carry access tokens and
//! ticket lookups, and logs must hold no personal data.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{Next, from_fn};
use axum::response::Response;

pub fn with_access_log(router: Router) -> Router {
    router.layer(from_fn(log_request))
}

async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, route, status, elapsed_ms, "request answered");
    } else {
        tracing::info!(%method, route, status, elapsed_ms, "request answered");
    }
    response
}
