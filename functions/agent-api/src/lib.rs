//! Agents answer: the agency's queues, a ticket's whole thread, public replies that reach
//! the citizen by mail, internal notes, changes with optimistic concurrency, transfers to
//! another agency, agent management and the audit trail; all under `/api/v1/agent/`,
//! authorised by a bearer token.
//!
//! Each route parses its request, calls one use case of an agent's session
//! (`ventanilla_app::session`, where authorisation is checked in one place) and renders the
//! answer; `routes/` has a file per resource.

mod console;
mod routes;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use serde_json::json;
use ventanilla_app::AppError;
use ventanilla_app::Desk;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Lang;
use ventanilla_domain::ports::{BlobStore, Mailer};
use ventanilla_web::Problem;

pub use routes::replies::{MAX_REPLY_BYTES, MAX_REPLY_FILES, MAX_REPLY_REQUEST_BYTES};
pub use views::{TicketSummary, TicketView};

pub fn router<S, B, M>(desk: Arc<Desk<S, B, M, ()>>) -> Router
where
    S: AgentPorts,
    B: BlobStore + 'static,
    M: Mailer + 'static,
{
    use routes::{agencies, agents, requesters, tickets};
    let routes = Router::new()
        .route("/api/v1/agent/me", get(agents::me::<S, B, M>))
        .route(
            "/api/v1/agent/dashboard",
            get(routes::dashboard::dashboard::<S, B, M>),
        )
        .route("/api/v1/agent/search", get(tickets::search::<S, B, M>))
        .route(
            "/api/v1/agent/tickets/{number}/related",
            post(tickets::relate::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/merge",
            post(tickets::merge::<S, B, M>),
        )
        .route(
            "/api/v1/agent/me/email/confirm",
            post(agents::confirm_email::<S, B, M>),
        )
        .route(
            "/api/v1/agent/me/alerts",
            put(agents::set_alerts::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets",
            get(tickets::list::<S, B, M>).post(tickets::open::<S, B, M>),
        )
        .route(
            "/api/v1/agent/calendar/due",
            get(routes::calendar::due::<S, B, M>),
        )
        .route(
            "/api/v1/agent/canned-responses",
            get(routes::canned_responses::list::<S, B, M>),
        )
        .route(
            "/api/v1/agent/canned-responses/{id}",
            put(routes::canned_responses::save::<S, B, M>)
                .delete(routes::canned_responses::remove::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/canned-responses",
            get(routes::canned_responses::for_ticket::<S, B, M>),
        )
        .route(
            "/api/v1/agent/calendar/days",
            get(routes::calendar::days::<S, B, M>),
        )
        .route(
            "/api/v1/agent/calendar/days/{day}",
            put(routes::calendar::set_day::<S, B, M>)
                .delete(routes::calendar::remove_day::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}",
            get(tickets::show::<S, B, M>).patch(routes::changes::change::<S, B, M>),
        )
        // The one body limit of this route is the documented one (the files plus room for
        // the text), not axum's default of 2 MB.
        .route(
            "/api/v1/agent/tickets/{number}/replies",
            post(routes::replies::reply::<S, B, M>).layer(axum::extract::DefaultBodyLimit::max(
                MAX_REPLY_REQUEST_BYTES,
            )),
        )
        .route(
            "/api/v1/agent/tickets/{number}/notes",
            post(routes::notes::note::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/extension",
            post(routes::extensions::extend::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/transfer",
            post(routes::transfers::transfer::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/audit",
            get(tickets::audit::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/viewing",
            put(tickets::viewing::<S, B, M>),
        )
        .route("/api/v1/agent/agencies", get(agencies::list::<S, B, M>))
        .route(
            "/api/v1/agent/agencies/{code}",
            put(agencies::save::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents",
            get(agents::list::<S, B, M>).post(agents::add::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents/{id}/disable",
            post(agents::disable::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents/{id}/token",
            post(agents::rotate_token::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents/{id}/email",
            put(agents::set_email::<S, B, M>),
        )
        .route(
            "/api/v1/agent/mail/parked",
            get(routes::parked_mail::list::<S, B, M>),
        )
        .route(
            "/api/v1/agent/mail/{id}/send-again",
            post(routes::parked_mail::send_again::<S, B, M>),
        )
        .route(
            "/api/v1/agent/exports",
            post(routes::exports::create::<S, B, M>),
        )
        .route(
            "/api/v1/agent/privacy/export",
            post(requesters::export::<S, B, M>),
        )
        .route(
            "/api/v1/agent/privacy/erase",
            post(requesters::erase::<S, B, M>),
        )
        .with_state(desk)
        .merge(console::routes());
    ventanilla_web::finish_router(routes)
}

/// A use case's error as this API answers it: a stale change carries the ticket as it is
/// now, in the shape the list shows.
fn problem(error: AppError, lang: Lang) -> Problem {
    match error {
        AppError::Conflict(current) => {
            Problem::conflict(lang, json!(TicketSummary::from(&*current)))
        }
        other => Problem::from_app(other, lang),
    }
}
