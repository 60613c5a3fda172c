//! What handlers read off every request: the language to answer in and the source address
//! that throttles count against.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use ventanilla_domain::Lang;

/// `?lang=es|en` wins, then `Accept-Language`; Spanish otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLang(lang_of(parts)))
    }
}

pub fn lang_of(parts: &Parts) -> Lang {
    let explicit = parts.uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .map(str::to_owned)
    });
    let accept = parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(explicit.as_deref(), accept)
}

/// Whether the browser says the request came from another site's page (`Sec-Fetch-Site`):
/// forms that spend something (a sign-in mail, a rating) are taken from this site only.
pub fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
}

/// The client's address as the platform saw it: API Gateway's `sourceIp` on Lambda, the
/// socket's peer locally. `X-Forwarded-For` is not read: a client can write anything there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(Option<String>);

impl Source {
    pub fn new(address: Option<String>) -> Self {
        Source(address)
    }

    /// The client's address as the gateway (or the socket) saw it.
    pub fn address(&self) -> &str {
        self.0.as_deref().unwrap_or("unknown")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let from_gateway =
            parts
                .extensions
                .get::<RequestContext>()
                .and_then(|context| match context {
                    RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
                    RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
                    _ => None,
                });
        let from_socket = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string())
        };
        Ok(Source(from_gateway.or_else(from_socket)))
    }
}

/// Whether the client asked for JSON rather than a page (`Accept: application/json`); forms
/// posted by a browser get pages.
pub fn wants_json(parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("application/json") || accept.contains("application/problem+json")
        })
}
