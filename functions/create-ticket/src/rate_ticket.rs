//! A citizen's rating of a finished ticket: `GET /valorar/<token>?nota=N` opens the form
//! with the score of the link clicked in the mail chosen; `POST /valorar/<token>` records
//! it (once per ticket).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ventanilla_app::rate_ticket::{Rated, RatingAsked};
use ventanilla_app::{AppError, Desk, Site};
use ventanilla_domain::model::rating::{MAX_COMMENT, Rating, SCORES};
use ventanilla_domain::ports::{AgencyDirectory, Throttle, TicketStore};
use ventanilla_domain::{FieldErrors, Lang};
use ventanilla_web::pages::{Frame, RatingPage, ScoreChoice, html, notice};
use ventanilla_web::request::wants_json;
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

use crate::handler::current_site;
use crate::web_follow_up::url_segment;

/// The largest rating read: a score and a comment of [`MAX_COMMENT`] characters, encoded.
pub const MAX_RATING_BYTES: usize = 16 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LinkQuery {
    nota: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RatingForm {
    score: String,
    comment: String,
}

/// What a program is told of a rating.
#[derive(Debug, Serialize)]
struct RatingView {
    number: String,
    score: u8,
    /// Whether this request recorded it (false: the ticket was rated before).
    recorded: bool,
}

fn page(
    site: &Site,
    lang: Lang,
    token: &str,
    asked: &RatingAsked,
    chosen: Option<u8>,
    said: Option<&str>,
) -> RatingPage {
    let t = texts(lang);
    let path = format!("/valorar/{}", url_segment(token));
    RatingPage {
        frame: Frame::new(lang, &site.settings.site_name, &path, t.rating_title),
        number: asked.number.to_string(),
        agency: asked.agency_name.clone(),
        action: format!("{path}?lang={}", lang.code()),
        choices: SCORES
            .rev()
            .map(|value| ScoreChoice {
                value,
                label: Rating::label(value, lang),
                selected: Some(value) == chosen,
            })
            .collect(),
        comment: String::new(),
        max_comment: MAX_COMMENT,
        error: None,
        said: said.map(str::to_owned),
        given: asked
            .rated
            .as_ref()
            .map(|r| format!("{} · {}", r.score, Rating::label(r.score, lang))),
    }
}

fn expired(site: &Site, lang: Lang, json: bool) -> Response {
    let t = texts(lang);
    let problem = Problem::not_found(lang).with_detail(t.rating_expired);
    if json {
        return problem.into_response();
    }
    let back = format!("/estado?lang={}", lang.code());
    notice(
        lang,
        &site.settings.site_name,
        "/estado",
        &problem,
        t.rating_expired,
        back,
    )
}

fn unavailable(site: &Site, lang: Lang, json: bool, error: &AppError) -> Response {
    tracing::error!(%error, "a rating could not be read or recorded");
    let problem = Problem::unavailable(lang);
    if json {
        return problem.into_response();
    }
    let back = format!("/?lang={}", lang.code());
    let said = texts(lang).unavailable;
    notice(lang, &site.settings.site_name, "/", &problem, said, back)
}

/// `GET /valorar/<token>`: the form, with the link's score chosen; or what was recorded.
pub(crate) async fn rating_page<S, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
    Path(token): Path<String>,
    query: Result<Query<LinkQuery>, axum::extract::rejection::QueryRejection>,
) -> Response
where
    S: TicketStore + Throttle + AgencyDirectory,
{
    let site = &match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    match desk.rating_form(site, &token).await {
        Ok(asked) => {
            let t = texts(lang);
            let said = asked.rated.is_some().then_some(t.rating_already);
            // A query that does not read (a repeated `nota`) chooses nothing.
            let nota = query.map(|Query(q)| q.nota).unwrap_or_default();
            let chosen = ventanilla_domain::model::rating::score_of(&nota).ok();
            html(
                StatusCode::OK,
                &page(site, lang, &token, &asked, chosen, said),
            )
        }
        Err(AppError::NotFound) => expired(site, lang, false),
        Err(error) => unavailable(site, lang, false, &error),
    }
}

/// `POST /valorar/<token>`: records the rating; a page says so (a program that asks for
/// JSON gets 201, or 200 when the ticket was rated before).
pub(crate) async fn rate<S, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<RatingForm>, axum::extract::rejection::FormRejection>,
) -> Response
where
    S: TicketStore + Throttle + AgencyDirectory,
{
    let json = wants_json(&headers);
    // From this site's page only: another site cannot have its visitors' browsers rate.
    if ventanilla_web::request::cross_site(&headers) {
        return Problem::forbidden(lang).into_response();
    }
    let site = &match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            let status = rejection.status();
            let problem = if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::payload_too_large(lang)
            } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                Problem::unsupported_media_type(lang)
            } else {
                Problem::bad_request(lang, rejection.body_text())
            };
            return problem.into_response();
        }
    };
    let comment = Some(form.comment.as_str());
    match desk
        .rate(site, source.address(), &token, &form.score, comment)
        .await
    {
        Ok(rated) => {
            let t = texts(lang);
            let (asked, recorded, said) = match &rated {
                Rated::Recorded(asked) => (asked, true, t.rating_thanks),
                Rated::Already(asked) => (asked, false, t.rating_already),
            };
            if json {
                let body = RatingView {
                    number: asked.number.to_string(),
                    score: asked.rated.as_ref().map_or(0, |r| r.score),
                    recorded,
                };
                let status = if recorded {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                return (status, axum::Json(body)).into_response();
            }
            html(
                StatusCode::OK,
                &page(site, lang, &token, asked, None, Some(said)),
            )
        }
        Err(AppError::Invalid(errors)) => {
            invalid(&desk, site, lang, &token, &form, &errors, json).await
        }
        Err(AppError::NotFound) => expired(site, lang, json),
        Err(AppError::TooMany { retry_after }) => {
            let problem = Problem::too_many_requests(lang, retry_after.as_secs());
            if json {
                return problem.into_response();
            }
            let back = format!("/?lang={}", lang.code());
            let said = texts(lang).too_many;
            notice(lang, &site.settings.site_name, "/", &problem, said, back)
        }
        Err(error) => unavailable(site, lang, json, &error),
    }
}

/// The form again with what was typed and what is wrong (422), or the problem.
async fn invalid<S, B, M>(
    desk: &Desk<S, B, M>,
    site: &Site,
    lang: Lang,
    token: &str,
    form: &RatingForm,
    errors: &FieldErrors,
    json: bool,
) -> Response
where
    S: TicketStore + Throttle + AgencyDirectory,
{
    let problem = Problem::invalid_fields(errors, lang);
    if json {
        return problem.into_response();
    }
    let asked = match desk.rating_form(site, token).await {
        Ok(asked) => asked,
        Err(AppError::NotFound) => return expired(site, lang, false),
        Err(error) => return unavailable(site, lang, false, &error),
    };
    let chosen = ventanilla_domain::model::rating::score_of(&form.score).ok();
    let mut view = page(site, lang, token, &asked, chosen, None);
    let said: Vec<String> = errors.iter().map(|e| e.message(lang)).collect();
    view.error = Some(said.join(" "));
    // Shown again as typed, up to what a comment may hold.
    view.comment = form.comment.chars().take(MAX_COMMENT).collect();
    html(StatusCode::UNPROCESSABLE_ENTITY, &view)
}
