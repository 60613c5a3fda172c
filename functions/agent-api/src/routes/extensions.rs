//! `POST /tickets/{number}/extension`: a supervisor extends the ticket's term, once, with a
//! reason.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::model::agents::{Access, Role};
use ventanilla_domain::ports::{BlobStore, Mailer};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;
use crate::views::TicketSummary;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExtensionRequest {
    reason: String,
}

pub(crate) async fn extend<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<ExtensionRequest>,
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
        .extend_term(ticket, &request.reason)
        .await
        .map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    Ok(Json(TicketSummary::as_of(&updated, now)).into_response())
}
