//! A citizen's answer from the status page: `POST /api/v1/tickets/follow-ups`, the page's
//! multipart form or a program's JSON.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use ventanilla_app::web_follow_up::{WebFollowUp, WebFollowedUp};
use ventanilla_app::{AppError, Desk, Site};
use ventanilla_domain::model::screenshots;
use ventanilla_domain::model::ticket::IdempotencyKey;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, MailQueue, Mailer, Throttle, TicketStore,
};
use ventanilla_domain::{Body, Choice, FieldError, FieldErrors, FieldProblem, Lang};
use ventanilla_web::pages::{self, Frame, NoticePage, html};
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

use crate::handler::current_site;
use crate::submission::{Posted, Unreadable};

/// An answer as a program sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AnswerJson {
    access: String,
    text: String,
    back: String,
}

/// What a program is told of an answer added.
#[derive(Debug, Serialize)]
struct AnswerAdded {
    /// The ticket that took it: the one answered, or a new one linked to it.
    number: String,
    status: &'static str,
    new_ticket: bool,
}

/// Parses an answer's fields, collecting every error.
fn parse_answer(
    access: String,
    back: String,
    text: &str,
    uploads: Vec<screenshots::Upload>,
    key: Option<&str>,
) -> Result<WebFollowUp, FieldErrors> {
    let mut errors = FieldErrors::new();
    if access.trim().is_empty() {
        errors.push(FieldError::new("access", FieldProblem::Required));
    }
    let text = errors.check(Body::parse(text).map_err(|mut e| {
        e.field = "text";
        e
    }));
    let files = errors.check(screenshots::check(uploads).map_err(|mut e| {
        e.field = "attachments";
        e
    }));
    let key = match key.filter(|k| !k.trim().is_empty()) {
        Some(key) => errors.check(IdempotencyKey::parse(key)),
        // A program that sends none gets no deduplication, as with an opening.
        None => IdempotencyKey::parse(&uuid::Uuid::new_v4().simple().to_string()).ok(),
    };
    match (text, files, key) {
        (Some(text), Some(files), Some(key)) if errors.is_empty() => Ok(WebFollowUp {
            access,
            back: Some(back).filter(|b| !b.trim().is_empty()),
            text,
            files,
            key,
        }),
        _ => Err(errors),
    }
}

/// A page that says what became of an answer, with the way back.
fn notice(site: &Site, lang: Lang, problem: &Problem, text: &str, back: &str) -> Response {
    pages::notice(
        lang,
        &site.settings.site_name,
        "/estado",
        problem,
        text,
        back.to_owned(),
    )
}

/// `POST /api/v1/tickets/follow-ups`: the page is sent back to the ticket's status page
/// (303), which says the answer was added; a program gets 201 and the ticket.
pub(crate) async fn answer<S, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    request: Request,
) -> Response
where
    S: TicketStore + Throttle + AgencyDirectory + AgentDirectory + MailQueue,
    B: BlobStore,
    M: Mailer,
{
    let site = &match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    let t = texts(lang);
    let json_asked = ventanilla_web::request::wants_json(request.headers());
    let posted = match Posted::read(request, "attachments").await {
        Ok(posted) => posted,
        Err(unreadable) => {
            let problem = match unreadable {
                Unreadable::TooLarge => Problem::payload_too_large(lang).with_detail(
                    FieldError::new(
                        "attachments",
                        FieldProblem::FilesTooLarge {
                            max_bytes: screenshots::MAX_TOTAL_BYTES,
                        },
                    )
                    .message(lang),
                ),
                Unreadable::UnsupportedType => Problem::unsupported_media_type(lang),
                Unreadable::Malformed(detail) => Problem::bad_request(lang, detail),
            };
            // Only a form too large is a browser's: the rest came from a program.
            if json_asked || problem.status_code() != StatusCode::PAYLOAD_TOO_LARGE {
                return problem.into_response();
            }
            let detail = problem.detail.clone().unwrap_or_default();
            let back = format!("/estado?lang={}", lang.code());
            return notice(site, lang, &problem, &detail, &back);
        }
    };
    let json = posted.json;
    let (access, text, back_token) = match &posted.json_body {
        Some(body) => match serde_json::from_slice::<AnswerJson>(body) {
            Ok(answer) => (answer.access, answer.text, answer.back),
            Err(error) => {
                return Problem::bad_request(lang, format!("JSON: {error}")).into_response();
            }
        },
        None => {
            let value = |name: &str| {
                (posted.values.iter())
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (value("access"), value("text"), value("back"))
        }
    };
    // Back to the page the answer was written on: its link, when it was opened by one.
    let came_from_link = !back_token.is_empty();
    let back = if back_token.is_empty() {
        format!("/estado?lang={}", lang.code())
    } else {
        format!("/estado/{}?lang={}", url_segment(&back_token), lang.code())
    };
    let request = match parse_answer(
        access,
        back_token,
        &text,
        posted.uploads,
        posted.idempotency.as_deref(),
    ) {
        Ok(request) => request,
        Err(errors) => {
            let problem = Problem::invalid_fields(&errors, lang);
            if json {
                return problem.into_response();
            }
            let said: Vec<String> = errors.iter().map(|e| e.message(lang)).collect();
            return notice(site, lang, &problem, &said.join(" "), &back);
        }
    };
    match desk
        .follow_up_on_web(site, source.address(), request, lang)
        .await
    {
        Ok(WebFollowedUp::Added {
            ticket,
            opened,
            back: returns,
        }) => {
            if json {
                let body = AnswerAdded {
                    number: ticket.number.to_string(),
                    status: ticket.status.wire(),
                    new_ticket: opened,
                };
                return (StatusCode::CREATED, axum::Json(body)).into_response();
            }
            if let Some(path) = returns {
                let path = format!("{path}?lang={}&respuesta=enviado", lang.code());
                return Redirect::to(&path).into_response();
            }
            // No link to return to (a page opened by document number, a new ticket): said
            // on a page of its own.
            let said = if opened {
                format!("{} {}.", t.answer_opened, ticket.number)
            } else {
                t.answer_sent.to_owned()
            };
            let page = NoticePage {
                frame: Frame::new(lang, &site.settings.site_name, "/estado", t.answer_title),
                text: said,
                back_href: format!("/estado?lang={}", lang.code()),
            };
            html(StatusCode::OK, &page)
        }
        Ok(WebFollowedUp::Refused { .. }) => {
            let problem = Problem::forbidden(lang).with_detail(t.answer_closed);
            if json {
                return problem.into_response();
            }
            notice(
                site,
                lang,
                &problem,
                t.answer_closed,
                &format!("/?lang={}", lang.code()),
            )
        }
        Err(AppError::NotFound) => {
            // A form past its two hours, on a page whose link still opens it: back there,
            // to a fresh form; else to the lookup.
            let said = if came_from_link {
                t.answer_expired
            } else {
                t.link_expired
            };
            let problem = Problem::not_found(lang).with_detail(said);
            if json {
                return problem.into_response();
            }
            notice(site, lang, &problem, said, &back)
        }
        Err(AppError::TooMany { retry_after }) => {
            let problem = Problem::too_many_requests(lang, retry_after.as_secs());
            if json {
                return problem.into_response();
            }
            notice(site, lang, &problem, t.too_many, &back)
        }
        Err(error) => {
            tracing::error!(%error, "an answer on the web could not be added");
            let problem = Problem::unavailable(lang);
            if json {
                return problem.into_response();
            }
            notice(site, lang, &problem, t.unavailable, &back)
        }
    }
}

/// A token as a path segment: it is base64url and dots already; anything else is dropped.
pub(crate) fn url_segment(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}
