//! `PATCH /tickets/{number}`: status, priority, assignee and a request for public information's
//! answer, against the version the agent saw.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ventanilla_app::change::Change;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::Access;
use ventanilla_domain::model::information_answer::{InformationAnswer, InformationOutcome};
use ventanilla_domain::{AgentId, FieldError, FieldErrors, FieldProblem, Priority, Status};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;
use crate::views::TicketSummary;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChangeRequest {
    version: Option<u64>,
    status: Option<String>,
    priority: Option<String>,
    /// `null` unassigns; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<String>>,
    /// A request for public information: how it was answered, and why (required unless
    /// granted).
    information_answer: Option<String>,
    information_reason: Option<String>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl ChangeRequest {
    fn parse(&self) -> Result<(u64, Change), FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(version) = self.version else {
            errors.push(FieldError::new("version", FieldProblem::Required));
            return Err(errors);
        };
        let status = self
            .status
            .as_deref()
            .and_then(|s| errors.check(Status::parse(s)));
        let priority = self
            .priority
            .as_deref()
            .and_then(|p| errors.check(Priority::parse(p)));
        let assignee = match &self.assignee {
            None => None,
            Some(None) => Some(None),
            Some(Some(id)) => errors.check(AgentId::parse(id)).map(Some),
        };
        if self.information_answer.is_none() && self.information_reason.is_some() {
            errors.push(FieldError::new(
                "information_answer",
                FieldProblem::Required,
            ));
        }
        let information_answer = self
            .information_answer
            .as_deref()
            .and_then(|a| errors.check(InformationOutcome::parse(a)))
            .and_then(|outcome| {
                errors.check(InformationAnswer::parse(
                    outcome,
                    self.information_reason.as_deref(),
                ))
            });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((
            version,
            Change {
                status,
                priority,
                assignee,
                information_answer,
            },
        ))
    }
}

pub(crate) async fn change<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<ChangeRequest>,
) -> Result<Response, Problem> {
    let ticket = session
        .ticket(&number, Access::Full)
        .await
        .map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let (version, change) = request
        .parse()
        .map_err(|errors| Problem::invalid_fields(&errors, lang))?;
    let updated = session
        .change(ticket, version, change)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(TicketSummary::from(&updated)).into_response())
}
