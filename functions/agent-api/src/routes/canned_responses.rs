//! `/canned-responses`: an agency's canned responses, as written (its agents read them, its
//! admins write and remove them), and `/tickets/{number}/canned-responses`, filled in for
//! the ticket an agent answers.

use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ventanilla_app::canned_responses::CannedRequest;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::model::canned_responses::CannedResponse;
use ventanilla_web::{Caller, Problem};

use super::calendar::AgencyParam;
use super::{JsonBody, QueryParams, bad_json, bad_query};
use crate::problem;

fn written(canned: &CannedResponse) -> serde_json::Value {
    json!({
        "id": canned.id.as_str(),
        "agency": canned.agency.as_str(),
        "title": canned.title,
        "text": canned.text,
        "by": canned.by.as_str(),
        "at": canned.at.to_string(),
    })
}

pub(crate) async fn list<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    params: QueryParams<AgencyParam>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(bad_query(lang))?;
    let canned = session
        .canned_responses(params.agency.as_deref())
        .await
        .map_err(|e| problem(e, lang))?;
    let canned: Vec<_> = canned.iter().map(written).collect();
    Ok(Json(json!({ "canned_responses": canned })).into_response())
}

pub(crate) async fn save<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
    body: JsonBody<CannedRequest>,
) -> Result<Response, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let canned = session
        .save_canned_response(&id, request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(written(&canned)).into_response())
}

pub(crate) async fn remove<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
    params: QueryParams<AgencyParam>,
) -> Result<Response, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Query(params) = params.map_err(bad_query(lang))?;
    let removed = session
        .remove_canned_response(&id, params.agency.as_deref())
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(json!({ "removed": written(&removed) })).into_response())
}

pub(crate) async fn for_ticket<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let filled = session
        .canned_for_ticket(&number, lang)
        .await
        .map_err(|e| problem(e, lang))?;
    let filled: Vec<_> = filled
        .iter()
        .map(|c| json!({ "id": c.id.as_str(), "title": c.title, "text": c.text.as_str() }))
        .collect();
    Ok(Json(json!({ "canned_responses": filled })).into_response())
}
