//! `POST /tickets/{number}/notes`: an internal note.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Body;
use ventanilla_domain::model::agents::Access;
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;
use crate::views::TicketSummary;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NoteRequest {
    text: Option<String>,
    /// The version the agent saw: a ticket that moved since is 409.
    version: Option<u64>,
}

pub(crate) async fn note<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<NoteRequest>,
) -> Result<Response, Problem> {
    let ticket = session
        .ticket(&number, Access::Referral)
        .await
        .map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let text = Body::parse_field("text", request.text.as_deref().unwrap_or(""))
        .map_err(|e| Problem::invalid_field(e, lang))?;
    let (id, updated) = session
        .note(ticket, text, request.version, None)
        .await
        .map_err(|e| problem(e, lang))?;
    let answer = json!({ "message_id": id.to_string(), "ticket": TicketSummary::from(&updated) });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
