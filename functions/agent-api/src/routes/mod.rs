//! One file per resource of the agent API.

pub mod agencies;
pub mod agents;
pub mod calendar;
pub mod canned_responses;
pub mod changes;
pub mod dashboard;
pub mod exports;
pub mod extensions;
pub mod notes;
pub mod parked_mail;
pub mod replies;
pub mod requesters;
pub mod tickets;
pub mod transfers;

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use ventanilla_domain::Lang;
use ventanilla_web::Problem;

/// A JSON body, or why it could not be read: a route answers that after it knows who calls.
pub(crate) type JsonBody<T> = Result<Json<T>, JsonRejection>;

/// A query string, or why it could not be read.
pub(crate) type QueryParams<T> = Result<Query<T>, QueryRejection>;

/// A body that is not the JSON the route reads.
pub(crate) fn bad_json(lang: Lang) -> impl Fn(JsonRejection) -> Problem {
    move |rejection| Problem::from_json_rejection(&rejection, lang)
}

/// A query string the route cannot read.
pub(crate) fn bad_query(lang: Lang) -> impl Fn(QueryRejection) -> Problem {
    move |rejection| Problem::bad_request(lang, rejection.body_text())
}
