//! `POST /tickets/{number}/transfer`: to another agency or queue (supervisors).

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use ventanilla_app::session::AgentPorts;
use ventanilla_app::transfer::TransferRequest;
use ventanilla_domain::model::agents::{Access, Role};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;
use crate::views::TicketSummary;

pub(crate) async fn transfer<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<TransferRequest>,
) -> Result<Response, Problem> {
    let ticket = session
        .ticket(&number, Access::Full)
        .await
        .map_err(|e| problem(e, lang))?;
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
