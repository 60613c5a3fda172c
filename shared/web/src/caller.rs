//! The agent a console request comes from. An extractor, so that every console route knows who
//! calls, and refuses an unknown token, before it reads anything else of the request.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use ventanilla_app::Desk;
use ventanilla_app::session::{AgentPorts, Session};
use ventanilla_domain::Lang;

use crate::Problem;
use crate::request::lang_of;

/// The session of the agent whose bearer token the request carries, and the language the
/// request asks for.
#[derive(Debug)]
pub struct Caller<S, B, M> {
    pub session: Session<S, B, M>,
    pub lang: Lang,
}

impl<S, B, M> FromRequestParts<Arc<Desk<S, B, M, ()>>> for Caller<S, B, M>
where
    S: AgentPorts,
    B: Send + Sync + 'static,
    M: Send + Sync + 'static,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        desk: &Arc<Desk<S, B, M, ()>>,
    ) -> Result<Self, Problem> {
        let lang = lang_of(parts);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let session = Session::open(Arc::clone(desk), token)
            .await
            .map_err(|error| Problem::from_app(error, lang))?;
        Ok(Caller { session, lang })
    }
}
