//! `POST /tickets/{number}/transfer`: to another agency or queue (supervisors).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ventanilla_app::session::AgentPorts;
use ventanilla_app::transfer::TransferRequest;
use ventanilla_domain::agents::{Access, Role};
use ventanilla_web::{Problem, RequestLang};

use super::bad_json;
use crate::views::TicketSummary;
use crate::{Console, problem, session_and_ticket};

pub(crate) async fn transfer<S: AgentPorts, B, M>(
    State(desk): Console<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<TransferRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let (session, ticket) =
        session_and_ticket(&desk, &headers, lang, &number, Access::Full).await?;
    session
        .require(Role::Supervisor)
        .map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let updated = session
        .transfer(ticket, request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(TicketSummary::from(&updated)).into_response())
}
