//! The agent console (`GET /agente`): one static page and its script over the agent API. The
//! page holds no data; everything citizens wrote arrives as JSON and is set as text.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

const PAGE: &str = include_str!("../console/agente.html");
const SCRIPT: &str = include_str!("../console/agente.js");
const STYLE: &str = include_str!("../console/agente.css");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

pub fn routes() -> Router {
    Router::new()
        .route(
            "/agente",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/static/agente.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/static/agente.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}
