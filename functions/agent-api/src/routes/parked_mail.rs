//! `/mail/parked`: the automatic mails the queue gave up on, for admins to send again.

use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::AgencyCode;
use ventanilla_domain::model::mail_queue::QueuedMail;
use ventanilla_web::{Caller, Problem};

use super::{QueryParams, bad_query};
use crate::problem;

/// What an admin sees of a parked mail: never its recipient or text (the ticket has them).
fn view(mail: &QueuedMail) -> Value {
    json!({
        "id": mail.id().as_str(),
        "ticket": mail.ticket.as_str(),
        "notice": mail.intent.notice.as_str(),
        "state": mail.state.as_str(),
        "attempts": mail.attempts,
        "queued_at": mail.intent.queued_at.to_string(),
        "next_try": mail.next_try.to_string(),
        "last_error": mail.last_error,
    })
}

/// `?agency=`: another agency's (operators only).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListQuery {
    agency: Option<String>,
}

pub(crate) async fn list<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    query: QueryParams<ListQuery>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(bad_query(lang))?;
    let agency = query
        .agency
        .as_deref()
        .map(AgencyCode::parse)
        .transpose()
        .map_err(|e| Problem::invalid_field(e, lang))?;
    let parked = session
        .parked_mail(agency.as_ref())
        .await
        .map_err(|e| problem(e, lang))?;
    let mails: Vec<Value> = parked.iter().map(view).collect();
    Ok(Json(json!({ "mails": mails })).into_response())
}

pub(crate) async fn send_again<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let mail = session
        .send_parked_again(&id)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(view(&mail)).into_response())
}
