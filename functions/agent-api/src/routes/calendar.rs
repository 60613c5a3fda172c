//! `/calendar/due`: the calendar the due dates use, for an agent's question ("the 30th
//! business day after 5 February"); any signed-in agent may ask.

use axum::Json;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::model::term::DayKind;
use ventanilla_domain::model::time::long_date;
use ventanilla_domain::rules::deadline::{CalendarQuestionError, ask_term_end};
use ventanilla_domain::{FieldError, FieldErrors, FieldProblem};
use ventanilla_web::{Caller, Problem};

use super::{QueryParams, bad_query};

/// `?from=YYYY-MM-DD&days=N[&kind=business|calendar]`, read as text so that each bad one is
/// named.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DueQuestion {
    from: Option<String>,
    days: Option<String>,
    kind: Option<String>,
}

pub(crate) async fn due<S: AgentPorts, B, M>(
    Caller { lang, .. }: Caller<S, B, M>,
    question: QueryParams<DueQuestion>,
) -> Result<Response, Problem> {
    let Query(question) = question.map_err(bad_query(lang))?;
    let mut errors = FieldErrors::new();
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let from = match given(&question.from) {
        None => {
            errors.push(FieldError::new("from", FieldProblem::Required));
            None
        }
        Some(text) => errors.check(
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| FieldError::new("from", FieldProblem::InvalidFormat)),
        ),
    };
    let days = match given(&question.days) {
        None => {
            errors.push(FieldError::new("days", FieldProblem::Required));
            None
        }
        Some(text) => errors.check(
            text.parse::<u32>()
                .map_err(|_| FieldError::new("days", FieldProblem::InvalidFormat)),
        ),
    };
    let kind = match given(&question.kind) {
        None => Some(DayKind::Business),
        Some(text) => errors.check(
            DayKind::parse(&text)
                .ok_or_else(|| FieldError::new("kind", FieldProblem::UnknownValue)),
        ),
    };
    let (Some(from), Some(days), Some(kind)) = (from, days, kind) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let due_on = ask_term_end(kind, days, from).map_err(|error| {
        let field = match error {
            CalendarQuestionError::TooLong => FieldError::new(
                "days",
                FieldProblem::TooLong {
                    max: ventanilla_domain::rules::deadline::LONGEST_TERM_DAYS as usize,
                },
            ),
            CalendarQuestionError::OutsideCalendar { .. } => {
                FieldError::new("from", FieldProblem::InvalidFormat)
            }
        };
        let mut errors = FieldErrors::new();
        errors.push(field);
        Problem::invalid_fields(&errors, lang)
    })?;
    Ok(Json(json!({
        "from": from.to_string(),
        "days": days,
        "kind": kind.wire(),
        "due_on": due_on.to_string(),
        "due_on_text": long_date(due_on, lang),
    }))
    .into_response())
}
