//! `/calendar`: the calendar the due dates use. `due` answers an agent's question ("the 30th
//! business day after 5 February", any agent); `days` lists a year's days off of an agency
//! (any agent) and changes one (its admins, an operator).

use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::change_calendar::{CalendarDayRequest, Recount};
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agencies::CalendarDay;
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::model::term::DayKind;
use ventanilla_domain::model::time::long_date;
use ventanilla_domain::rules::calendar::YEARS;
use ventanilla_domain::rules::deadline::{CalendarQuestionError, ask_term_end};
use ventanilla_domain::{FieldError, FieldErrors, FieldProblem};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, QueryParams, bad_json, bad_query};
use crate::problem;

/// `?from=YYYY-MM-DD&days=N[&kind=business|calendar]`, read as text so that each bad one is
/// named.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DueQuestion {
    from: Option<String>,
    days: Option<String>,
    kind: Option<String>,
    /// Counted on this agency's calendar (the agent's own by default).
    agency: Option<String>,
}

pub(crate) async fn due<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
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
    let last = ventanilla_domain::rules::deadline::reach(from, days);
    let changes = session
        .calendar_changes(question.agency.as_deref(), from, last)
        .await
        .map_err(|e| problem(e, lang))?;
    let due_on = ask_term_end(kind, days, from, &changes).map_err(|error| {
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

/// `?year=YYYY[&agency=CODE]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct YearQuestion {
    year: Option<String>,
    agency: Option<String>,
}

/// `?agency=CODE`, for an operator reading or removing another agency's day or canned
/// response.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AgencyParam {
    pub(crate) agency: Option<String>,
}

/// The days of a year an agency rests (the national holidays and its own) and works to
/// make up.
pub(crate) async fn days<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    question: QueryParams<YearQuestion>,
) -> Result<Response, Problem> {
    let Query(question) = question.map_err(bad_query(lang))?;
    let year = question
        .year
        .as_deref()
        .map(str::trim)
        .and_then(|text| text.parse::<i32>().ok())
        .filter(|year| YEARS.contains(year))
        .ok_or_else(|| {
            Problem::invalid_field(FieldError::new("year", FieldProblem::InvalidFormat), lang)
        })?;
    let days = session
        .calendar_year(year, question.agency.as_deref())
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(json!({ "year": year, "days": days })).into_response())
}

fn edit_json(day: &CalendarDay, recount: &Recount) -> serde_json::Value {
    json!({
        "agency": day.agency.as_str(),
        "day": day.day.to_string(),
        "kind": day.kind.wire(),
        "name": day.name,
        "recount": recount,
    })
}

/// Writes an agency's change of a day (its admins, an operator) and recounts the terms it
/// falls in.
pub(crate) async fn set_day<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(day): Path<String>,
    body: JsonBody<CalendarDayRequest>,
) -> Result<Response, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Json(request) = body.map_err(bad_json(lang))?;
    let (day, recount) = session
        .set_calendar_day(&day, request)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(edit_json(&day, &recount)).into_response())
}

/// Takes an agency's change of a day back, and recounts.
pub(crate) async fn remove_day<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(day): Path<String>,
    params: QueryParams<AgencyParam>,
) -> Result<Response, Problem> {
    session.require(Role::Admin).map_err(|e| problem(e, lang))?;
    let Query(params) = params.map_err(bad_query(lang))?;
    let (removed, recount) = session
        .remove_calendar_day(&day, params.agency.as_deref())
        .await
        .map_err(|e| problem(e, lang))?;
    let removed = removed.map(|day| edit_json(&day, &recount));
    Ok(Json(json!({ "removed": removed, "recount": recount })).into_response())
}
