//! `/privacy`: a requester's right of access (export) and of erasure (admins, for the
//! tickets their agency holds).

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::session::{AgentPorts, Session};
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::BlobStore;
use ventanilla_domain::{Email, Lang};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;
use crate::views::TicketView;

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

/// The requester the body names, if the caller is an admin (checked first).
fn admin_and_requester<S: AgentPorts, B, M>(
    session: &Session<S, B, M>,
    lang: Lang,
    body: JsonBody<RequesterRequest>,
) -> Result<Email, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let email = request
        .email()
        .map_err(|e| Problem::invalid_field(e, lang))?;
    Ok(email)
}

pub(crate) async fn export<S: AgentPorts, B: BlobStore, M>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<RequesterRequest>,
) -> Result<Response, Problem> {
    let email = admin_and_requester(&session, lang, body)?;
    let shown = session
        .export_requester(&email)
        .await
        .map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    let views: Vec<TicketView> = shown
        .into_iter()
        .map(|ticket| TicketView::new(ticket, now))
        .collect();
    Ok(Json(json!({
        "agency": session.agent().agency.as_str(),
        "exported_at": session.site().clock.now().to_string(),
        "tickets": views,
    }))
    .into_response())
}

pub(crate) async fn erase<S: AgentPorts, B: BlobStore, M>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<RequesterRequest>,
) -> Result<Response, Problem> {
    let email = admin_and_requester(&session, lang, body)?;
    let erased = session
        .erase_requester(&email)
        .await
        .map_err(|e| problem(e, lang))?;
    let erased: Vec<&str> = erased.iter().map(|n| n.as_str()).collect();
    Ok(Json(json!({ "erased": erased })).into_response())
}
