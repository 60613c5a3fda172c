//! `/agencies`: every agency as it stands (any agent: a transfer names one), and saving one
//! (admins their own, operators any).

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ventanilla_app::agencies::AgencyRequest;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Choice;
use ventanilla_domain::QueueName;
use ventanilla_domain::model::agencies::Agency;
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;

fn agency_json(agency: &Agency) -> serde_json::Value {
    json!({
        "code": agency.code.as_str(),
        "name": agency.name,
        "response_days": agency.response_days,
        "default_queue": agency.default_queue.as_str(),
        "queues_by_category": agency
            .queues_by_category
            .iter()
            .map(|(c, q)| (c.wire().to_owned(), json!(q.as_str())))
            .collect::<serde_json::Map<_, _>>(),
        "follow_ups": agency.follow_ups,
        "queues": agency.queues().iter().map(QueueName::as_str).collect::<Vec<_>>(),
    })
}

pub(crate) async fn list<S: AgentPorts, B, M>(
    Caller { session, .. }: Caller<S, B, M>,
) -> Result<Response, Problem> {
    let listed: Vec<_> = session
        .site()
        .settings
        .agencies
        .iter()
        .map(agency_json)
        .collect();
    Ok(Json(json!({ "agencies": listed })).into_response())
}

pub(crate) async fn save<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(code): Path<String>,
    body: JsonBody<AgencyRequest>,
) -> Result<Response, Problem> {
    session
        .may_save_agency(&code)
        .map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let agency = session
        .save_agency(&code, request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(agency_json(&agency)).into_response())
}
