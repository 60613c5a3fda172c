//! `/me` and `/agents`: who is asking, and the agency's agents (listed by supervisors,
//! managed by admins).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ventanilla_app::agents::{AlertsRequest, NewAgentRequest};
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Choice;
use ventanilla_domain::QueueName;
use ventanilla_domain::model::agents::{Agent, AgentToken, AlertEvent, Role};
use ventanilla_domain::ports::Mailer;
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;

pub(crate) async fn me<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
) -> Result<Response, Problem> {
    let (site, agent) = (session.site(), session.agent());
    let agency = site.settings.agency(&agent.agency);
    Ok(Json(json!({
        "id": agent.id.as_str(),
        "name": agent.name,
        "agency": agent.agency.as_str(),
        "agency_name": agency.map(|a| a.name.as_str()),
        "role": agent.role.wire(),
        "email": agent.email.as_ref().map(|e| e.as_str()),
        "pending_email": agent.pending_email.as_ref().map(|p| p.email.as_str()),
        "alerts": alerts_json(agent),
        "queues": site.settings.queues_of(&agent.agency)
            .iter()
            .map(QueueName::as_str)
            .collect::<Vec<_>>(),
        "labels": crate::views::labels(lang),
    }))
    .into_response())
}

/// The agent's choices of alerts, with the queues they watch as chosen or by their role.
fn alerts_json(agent: &Agent) -> serde_json::Value {
    let mut events = serde_json::Map::new();
    for event in AlertEvent::ALL {
        events.insert(
            event.wire().into(),
            json!(agent.alerts.delivery(*event).wire()),
        );
    }
    json!({
        "events": events,
        "queues": agent.alerts.queues.as_ref().map(|q| q.iter().map(QueueName::as_str).collect::<Vec<_>>()),
        "watches_by_role": agent.alerts.queues.is_none(),
    })
}

/// Sets the caller's own alerts (`AlertsRequest`), answering `/me`'s `alerts`.
pub(crate) async fn set_alerts<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<AlertsRequest>,
) -> Result<Response, Problem> {
    let Json(request) = body.map_err(bad_json(lang))?;
    let agent = session
        .set_alerts(request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(alerts_json(&agent)).into_response())
}

fn agent_json(agent: &Agent) -> serde_json::Value {
    json!({
        "id": agent.id.as_str(),
        "name": agent.name,
        "agency": agent.agency.as_str(),
        "role": agent.role.wire(),
        "active": agent.active,
        "created_at": agent.created_at.to_string(),
        "email": agent.email.as_ref().map(|e| e.as_str()),
        "pending_email": agent.pending_email.as_ref().map(|p| p.email.as_str()),
    })
}

/// An agent with the token just made for them: shown this once.
fn with_token(agent: &Agent, token: &AgentToken) -> serde_json::Value {
    let mut answer = agent_json(agent);
    answer["token"] = json!(token.expose());
    answer
}

pub(crate) async fn list<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
) -> Result<Response, Problem> {
    let agents = session.agents().await.map_err(|e| problem(e, lang))?;
    let listed: Vec<_> = agents.iter().map(agent_json).collect();
    Ok(Json(json!({ "agents": listed })).into_response())
}

pub(crate) async fn add<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<NewAgentRequest>,
) -> Result<Response, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let (agent, token) = session
        .add_agent(request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok((StatusCode::CREATED, Json(with_token(&agent, &token))).into_response())
}

pub(crate) async fn disable<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let agent = session
        .disable_agent(&id)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(agent_json(&agent)).into_response())
}

/// `{"email": "…"}`, or `null` to remove it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct EmailRequest {
    email: Option<String>,
}

pub(crate) async fn set_email<S: AgentPorts, B, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
    body: JsonBody<EmailRequest>,
) -> Result<Response, Problem> {
    let Json(request) = body.map_err(bad_json(lang))?;
    let agent = session
        .set_agent_email(&id, request.email.as_deref())
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(agent_json(&agent)).into_response())
}

/// `{"code": "…"}`: the code mailed to the agent's new address.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct CodeRequest {
    code: String,
}

pub(crate) async fn confirm_email<S: AgentPorts, B, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<CodeRequest>,
) -> Result<Response, Problem> {
    let Json(request) = body.map_err(bad_json(lang))?;
    let agent = session
        .confirm_email(&request.code)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(agent_json(&agent)).into_response())
}

pub(crate) async fn rotate_token<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (agent, token) = session
        .rotate_token(&id)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(with_token(&agent, &token)).into_response())
}
