//! `/tickets`: a page of the agency's queues, one ticket with its thread, its audit trail;
//! a ticket opened for a caller.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::list_queue::{DueFilter, ListCursor, ListOrder, QueueFilter};
use ventanilla_app::open_ticket::CallerTicket;
use ventanilla_app::session::AgentPorts;
use ventanilla_app::ticket_fields::{self, Address, TicketFields};
use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::Access;
use ventanilla_domain::ports::{BlobStore, Cursor, DueCursor, Mailer, ThreadCursor};
use ventanilla_domain::{
    AgentId, Category, Channel, FieldError, FieldErrors, FieldProblem, QueueName, Status,
};
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, QueryParams, bad_json, bad_query};
use crate::problem;
use crate::views::{Receipt, TicketSummary, TicketView};

/// The list's filters, read as text and parsed here, so that every bad one is named in a
/// problem+json answer; an empty filter is no filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListQuery {
    queue: Option<String>,
    status: Option<String>,
    category: Option<String>,
    assignee: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    /// `newest` (default) or `oldest` last activity first, or `due`: unfinished tickets, the
    /// soonest due first.
    order: Option<String>,
    /// `overdue`, or N: unfinished tickets due within N business days (overdue included),
    /// the soonest due first.
    due: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    fn parse(&self) -> Result<QueueFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let queue = given(&self.queue).and_then(|q| errors.check(QueueName::parse(q)));
        let status = given(&self.status).and_then(|s| errors.check(Status::parse(s)));
        let category = given(&self.category).and_then(|c| errors.check(Category::parse(c)));
        let assignee = given(&self.assignee).and_then(|a| errors.check(AgentId::parse(a)));
        let due = match given(&self.due) {
            None => None,
            Some("overdue") => Some(DueFilter::Overdue),
            Some(days) => match days.parse::<u32>() {
                Ok(days) if days <= 365 => Some(DueFilter::Within(days)),
                _ => {
                    errors.push(FieldError::new("due", FieldProblem::InvalidFormat));
                    None
                }
            },
        };
        let order = match given(&self.order) {
            None if due.is_some() => ListOrder::SoonestDue,
            None | Some("newest") => ListOrder::NewestActivity,
            Some("oldest") => ListOrder::OldestActivity,
            Some("due") => ListOrder::SoonestDue,
            Some(_) => {
                errors.push(FieldError::new("order", FieldProblem::UnknownValue));
                ListOrder::NewestActivity
            }
        };
        if due.is_some() && order != ListOrder::SoonestDue {
            // A due filter lists by due date; another order cannot apply.
            errors.push(FieldError::new("order", FieldProblem::UnknownValue));
        }
        let after = given(&self.cursor).and_then(|c| {
            if order == ListOrder::SoonestDue {
                errors.check(DueCursor::decode(c)).map(ListCursor::Due)
            } else {
                errors.check(Cursor::decode(c)).map(ListCursor::Activity)
            }
        });
        let limit = match given(&self.limit).map(str::parse::<usize>) {
            None => 25,
            Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
            Some(_) => {
                errors.push(FieldError::new("limit", FieldProblem::InvalidFormat));
                25
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(QueueFilter {
            queue,
            status,
            category,
            assignee,
            due,
            order,
            after,
            limit,
        })
    }
}

pub(crate) async fn list<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    query: QueryParams<ListQuery>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(bad_query(lang))?;
    let filter = query
        .parse()
        .map_err(|errors| Problem::invalid_fields(&errors, lang))?;
    let listed = session.list(filter).await.map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    let items: Vec<TicketSummary> = listed
        .tickets
        .iter()
        .map(|ticket| TicketSummary::as_of(ticket, now))
        .collect();
    let next = listed.next.map(|cursor| cursor.encode());
    Ok(Json(json!({ "tickets": items, "next_cursor": next })).into_response())
}

/// `{"number": "…"}`: the ticket to relate.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RelateRequest {
    number: String,
}

pub(crate) async fn relate<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<RelateRequest>,
) -> Result<Response, Problem> {
    let Json(request) = body.map_err(bad_json(lang))?;
    let ticket = session
        .ticket(&number, Access::Full)
        .await
        .map_err(|e| problem(e, lang))?;
    let updated = session
        .relate(ticket, &request.number)
        .await
        .map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    Ok(Json(TicketSummary::as_of(&updated, now)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MergeRequest {
    into: String,
}

/// Merges ticket `number`, a duplicate, into `into` (`Session::merge`); the survivor.
pub(crate) async fn merge<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    body: JsonBody<MergeRequest>,
) -> Result<Response, Problem> {
    let Json(request) = body.map_err(bad_json(lang))?;
    let duplicate = session
        .ticket(&number, Access::Full)
        .await
        .map_err(|e| problem(e, lang))?;
    let survivor = session
        .merge(duplicate, &request.into)
        .await
        .map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    Ok(Json(TicketSummary::as_of(&survivor, now)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SearchParams {
    q: String,
}

/// `?q=`: a number, a requester's address, or words (`Session::search`).
pub(crate) async fn search<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    params: QueryParams<SearchParams>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(bad_query(lang))?;
    let (by, found) = session
        .search(&params.q)
        .await
        .map_err(|e| problem(e, lang))?;
    let now = session.site().clock.now();
    let items: Vec<TicketSummary> = found
        .iter()
        .map(|ticket| TicketSummary::as_of(ticket, now))
        .collect();
    Ok(Json(json!({ "by": by.as_str(), "tickets": items })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ShowParams {
    /// The `older` cursor of an earlier answer: the messages before it.
    before: Option<String>,
}

pub(crate) async fn show<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    params: QueryParams<ShowParams>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(bad_query(lang))?;
    let before = params
        .before
        .as_deref()
        .map(ThreadCursor::parse)
        .transpose()
        .map_err(|e| Problem::invalid_field(e, lang))?;
    let shown = session
        .show(&number, before)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(TicketView::new(shown, session.site().clock.now())).into_response())
}

pub(crate) async fn audit<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let entries = session
        .audit_trail(&number)
        .await
        .map_err(|e| problem(e, lang))?;
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// `PUT /tickets/{number}/viewing`: the agent has the ticket open (for a minute; the console
/// renews it), and who else has.
pub(crate) async fn viewing<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let ticket = session
        .ticket(&number, Access::Referral)
        .await
        .map_err(|e| problem(e, lang))?;
    let others = session
        .viewing(&ticket)
        .await
        .map_err(|e| problem(e, lang))?;
    let others: Vec<_> = others
        .iter()
        .map(|viewer| {
            // Names only: an agency with a referral sees who, not their ids.
            json!({
                "name": viewer.agent.name,
                "until": viewer.until.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "others": others })).into_response())
}

/// `POST /tickets`: a ticket opened for a citizen who phoned, came to the counter or wrote
/// a letter: the form's fields (the e-mail optional, the agency the agent's own when left
/// out) and the `channel` it came by.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CallerRequest {
    #[serde(flatten)]
    fields: TicketFields,
    channel: String,
}

pub(crate) async fn open<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<CallerRequest>,
) -> Result<Response, Problem> {
    let Json(mut request) = body.map_err(bad_json(lang))?;
    if request.fields.agency.trim().is_empty() {
        request.fields.agency = session.agent().agency.to_string();
    }
    let settings = &session.site().settings;
    let mut errors = FieldErrors::new();
    let channel = errors.check(Channel::parse(&request.channel));
    let parsed = ticket_fields::parse(&request.fields, settings, Address::Optional);
    if let Err(field_errors) = &parsed {
        for error in field_errors.iter() {
            errors.push(error.clone());
        }
    }
    let (Ok(parsed), Some(channel), true) = (parsed, channel, errors.is_empty()) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let request = CallerTicket {
        agency: parsed.agency.code.clone(),
        category: parsed.category,
        requester: parsed.requester,
        subject: parsed.subject,
        description: parsed.description,
        channel,
    };
    let opened = session
        .open_for_caller(request)
        .await
        .map_err(|e| problem(e, lang))?;
    let answer = json!({
        "number": opened.ticket.number.as_str(),
        "acknowledgement": opened.acknowledgement.map(|state| state.as_str()),
        "ticket": TicketSummary::from(&opened.ticket),
        "receipt": Receipt::new(&opened.ticket, session.site(), lang),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
