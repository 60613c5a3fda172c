//! `POST /tickets/{number}/notes`: an internal note.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Body;
use ventanilla_domain::agents::Access;
use ventanilla_web::{Problem, RequestLang};

use super::bad_json;
use crate::views::TicketSummary;
use crate::{Console, problem, session_and_ticket};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NoteRequest {
    text: Option<String>,
}

pub(crate) async fn note<S: AgentPorts, B, M>(
    State(desk): Console<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let (session, ticket) =
        session_and_ticket(&desk, &headers, lang, &number, Access::Referral).await?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let text = Body::parse_field("text", request.text.as_deref().unwrap_or(""))
        .map_err(|e| Problem::invalid_field(e, lang))?;
    let (id, updated) = session
        .note(ticket, text)
        .await
        .map_err(|e| problem(e, lang))?;
    let answer = json!({ "message_id": id.to_string(), "ticket": TicketSummary::from(&updated) });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
