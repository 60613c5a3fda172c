//! `/privacy`: a requester's right of access (export) and of erasure (admins, for the
//! tickets their agency holds).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::Desk;
use ventanilla_app::session::{AgentPorts, Session};
use ventanilla_domain::agents::Role;
use ventanilla_domain::ports::BlobStore;
use ventanilla_domain::{Email, Lang};
use ventanilla_web::{Problem, RequestLang};

use super::bad_json;
use crate::views::TicketView;
use crate::{Console, problem, session};

/// A requester, named by the address their tickets were opened with.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RequesterRequest {
    email: Option<String>,
}

impl RequesterRequest {
    fn email(&self) -> Result<Email, ventanilla_domain::FieldError> {
        Email::parse(self.email.as_deref().unwrap_or(""))
    }
}

/// An admin's session (checked first) and the requester the body names.
async fn admin_and_requester<'a, S: AgentPorts, B, M>(
    desk: &'a Desk<S, B, M, ()>,
    headers: &HeaderMap,
    lang: Lang,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(Session<'a, S, B, M>, Email), Problem> {
    let session = session(desk, headers, lang).await?;
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let email = request
        .email()
        .map_err(|e| Problem::invalid_field(e, lang))?;
    Ok((session, email))
}

pub(crate) async fn export<S: AgentPorts, B: BlobStore, M>(
    State(desk): Console<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let (session, email) = admin_and_requester(&desk, &headers, lang, body).await?;
    let shown = session
        .export_requester(&email)
        .await
        .map_err(|e| problem(e, lang))?;
    let views: Vec<TicketView> = shown.into_iter().map(TicketView::from).collect();
    Ok(Json(json!({
        "agency": session.agent().agency.as_str(),
        "exported_at": desk.site.clock.now().to_string(),
        "tickets": views,
    }))
    .into_response())
}

pub(crate) async fn erase<S: AgentPorts, B: BlobStore, M>(
    State(desk): Console<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let (session, email) = admin_and_requester(&desk, &headers, lang, body).await?;
    let erased = session
        .erase_requester(&email)
        .await
        .map_err(|e| problem(e, lang))?;
    let erased: Vec<&str> = erased.iter().map(|n| n.as_str()).collect();
    Ok(Json(json!({ "erased": erased })).into_response())
}
