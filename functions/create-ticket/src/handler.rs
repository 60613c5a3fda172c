//! Opening a ticket over HTTP: the form page, and `POST /api/v1/tickets` from the form
//! (multipart, with screenshots) or from a program (JSON). Generic over the ports it uses,
//! so the same router runs on Lambda (DynamoDB, S3, SES) and locally (SQLite, folder,
//! outbox).

use std::sync::Arc;
use ventanilla_domain::Choice;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use ventanilla_app::Desk;
use ventanilla_app::open_ticket::FormOpened;
use ventanilla_app::{AppError, Site};
use ventanilla_domain::model::screenshots;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, MailQueue, Mailer, Throttle, TicketStore,
};
use ventanilla_domain::{FieldError, FieldErrors, FieldProblem, Lang};
use ventanilla_web::pages::{Frame, TicketFormPage, html, notice};
use ventanilla_web::request::wants_json;
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

use ventanilla_app::ticket_fields::{Address, TicketFields};

use crate::form;
use crate::submission::{Submission, Unreadable};

/// The largest request read: the screenshots' limit plus room for the text fields.
pub const MAX_REQUEST_BYTES: usize = screenshots::MAX_TOTAL_BYTES as usize + 256 * 1024;

const _: () = assert!(ventanilla_web::fits_lambda_payload(MAX_REQUEST_BYTES));

/// The OpenAPI description of the public HTTP contract, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub fn router<S, B, M>(desk: Arc<Desk<S, B, M>>) -> Router
where
    S: TicketStore + Throttle + AgencyDirectory + AgentDirectory + MailQueue + 'static,
    B: BlobStore + 'static,
    M: Mailer + 'static,
{
    let routes = Router::new()
        .route("/", get(form_page::<S, B, M>))
        .route("/api/v1/tickets", post(create::<S, B, M>))
        .route(
            "/api/v1/tickets/check",
            post(check::<S, B, M>).layer(DefaultBodyLimit::max(MAX_CHECK_BYTES)),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/tickets/follow-ups",
            post(crate::web_follow_up::answer::<S, B, M>),
        )
        .route(
            "/valorar/{token}",
            get(crate::rate_ticket::rating_page::<S, B, M>)
                .post(crate::rate_ticket::rate::<S, B, M>)
                .layer(DefaultBodyLimit::max(crate::rate_ticket::MAX_RATING_BYTES)),
        )
        .route(
            "/mis-tramites",
            get(crate::my_tickets::my_tickets_form::<S, B, M>)
                .post(crate::my_tickets::send_sign_in_link::<S, B, M>),
        )
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(desk)
        .merge(ventanilla_web::static_routes());
    ventanilla_web::finish_router(routes)
}

/// The largest field check read: the text fields, never files (the room an opening gives
/// them: a 50,000-character description of accented text).
const MAX_CHECK_BYTES: usize = 256 * 1024;

/// One field's problem, as the form shows it.
#[derive(Debug, Serialize)]
struct FieldProblemView {
    field: &'static str,
    detail: String,
}

/// `POST /api/v1/tickets/check`: the form's values (JSON, strings; absent ones as empty)
/// checked by the very rules an opening applies, nothing stored: every field's problem in
/// the request's language. The form's script asks it as the citizen leaves a field, so that
/// what it says there is what the server would say.
async fn check<S: AgencyDirectory, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
    body: Result<
        axum::Json<serde_json::Map<String, serde_json::Value>>,
        axum::extract::rejection::JsonRejection,
    >,
) -> Response {
    let values = match body {
        Ok(axum::Json(values)) => values,
        Err(rejection) => return Problem::from_json_rejection(&rejection, lang).into_response(),
    };
    let site = match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    let mut fields = TicketFields::default();
    for (name, value) in values {
        if let serde_json::Value::String(text) = value {
            fields.set(&name, text);
        }
    }
    let problems: Vec<FieldProblemView> =
        match ventanilla_app::ticket_fields::parse(&fields, &site.settings, Address::Required) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| FieldProblemView {
                    field: e.field,
                    detail: e.message(lang),
                })
                .collect(),
        };
    axum::Json(serde_json::json!({ "errors": problems })).into_response()
}

/// The site as it stands for this request (the agencies admins saved included), or the
/// answer that it cannot be read now.
pub(crate) async fn current_site<S: AgencyDirectory, B, M>(
    desk: &Desk<S, B, M>,
    lang: Lang,
) -> Result<Site, Response> {
    desk.site.current(&desk.store).await.map_err(|error| {
        tracing::error!(%error, "agencies unreadable");
        Problem::unavailable(lang).into_response()
    })
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn form_page<S: AgencyDirectory, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
) -> Response {
    let site = match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    let fields = TicketFields::blank(&site.settings);
    render_form(
        &site,
        lang,
        &fields,
        &FieldErrors::new(),
        None,
        StatusCode::OK,
    )
}

fn render_form(
    site: &Site,
    lang: Lang,
    fields: &TicketFields,
    errors: &FieldErrors,
    idempotency_token: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = texts(lang);
    let screenshots_problem = |problem| FieldError::new("screenshots", problem).message(lang);
    let views = form::field_views(fields, &site.settings, errors, lang);
    let screenshots_error = errors.for_field("screenshots").map(|e| e.message(lang));
    let mut summary: Vec<(String, String)> = views
        .iter()
        .filter_map(|v| {
            v.error
                .as_ref()
                .map(|e| (v.name.to_owned(), format!("{}: {e}", v.label)))
        })
        .collect();
    if let Some(error) = &screenshots_error {
        summary.push(("screenshots".into(), format!("{}: {error}", t.screenshots)));
    }
    let page = TicketFormPage {
        frame: Frame::new(lang, &site.settings.site_name, "/", t.form_title),
        fields: views,
        summary,
        screenshots_error,
        idempotency_token: idempotency_token
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        max_screenshots: screenshots::MAX_FILES,
        max_screenshot_bytes: screenshots::MAX_TOTAL_BYTES,
        too_many_screenshots: screenshots_problem(FieldProblem::TooManyFiles {
            max: screenshots::MAX_FILES,
        }),
        too_large_screenshots: screenshots_problem(FieldProblem::FilesTooLarge {
            max_bytes: screenshots::MAX_TOTAL_BYTES,
        }),
    };
    html(status, &page)
}

/// The first answer to a request, what the form or the program sees.
#[derive(Debug, Serialize)]
struct CreatedTicket {
    number: String,
    status: &'static str,
    created_at: String,
    access_url: String,
}

async fn create<S, B, M>(
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
    let accepts_json = wants_json(request.headers());
    let mut submission = match Submission::read(request).await {
        Ok(submission) => submission,
        Err(unreadable) => return refuse_unreadable(site, lang, unreadable, accepts_json),
    };
    let answer = Answer {
        site,
        lang,
        json: submission.json,
    };
    let request = match submission.ticket_request(&site.settings) {
        Ok(request) => request,
        Err(errors) => {
            let token = submission.idempotency.as_deref();
            return answer.invalid(&submission.fields, &errors, token);
        }
    };
    match desk
        .open_from_form(site, source.address(), request, lang)
        .await
    {
        Ok(opened) => answer.created(&opened, opened.replayed),
        Err(AppError::TooMany { .. }) => answer.too_many(),
        Err(error) => {
            tracing::error!(%error, "the ticket could not be opened");
            answer.unavailable()
        }
    }
}

/// A request that could not be read at all. A form whose files were too big comes back with
/// the message next to the file field; nothing typed can be recovered from a cut request.
fn refuse_unreadable(site: &Site, lang: Lang, unreadable: Unreadable, json: bool) -> Response {
    let problem = match unreadable {
        Unreadable::TooLarge if !json => {
            let mut errors = FieldErrors::new();
            errors.push(FieldError::new(
                "screenshots",
                FieldProblem::FilesTooLarge {
                    max_bytes: screenshots::MAX_TOTAL_BYTES,
                },
            ));
            let blank = TicketFields::blank(&site.settings);
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            return render_form(site, lang, &blank, &errors, None, status);
        }
        Unreadable::TooLarge => Problem::payload_too_large(lang),
        Unreadable::UnsupportedType => Problem::unsupported_media_type(lang),
        Unreadable::Malformed(detail) => Problem::bad_request(lang, detail),
    };
    problem.into_response()
}

/// How to answer: JSON for programs, pages for the form.
struct Answer<'a> {
    site: &'a Site,
    lang: Lang,
    json: bool,
}

impl Answer<'_> {
    fn invalid(
        &self,
        fields: &TicketFields,
        errors: &FieldErrors,
        token: Option<&str>,
    ) -> Response {
        if self.json {
            Problem::invalid_fields(errors, self.lang).into_response()
        } else {
            render_form(
                self.site,
                self.lang,
                fields,
                errors,
                token,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }

    fn notice(&self, problem: Problem, text: &str) -> Response {
        if self.json {
            return problem.into_response();
        }
        notice(
            self.lang,
            &self.site.settings.site_name,
            "/",
            &problem,
            text,
            format!("/?lang={}", self.lang.code()),
        )
    }

    fn too_many(&self) -> Response {
        self.notice(
            Problem::too_many_requests(self.lang, 3600),
            texts(self.lang).too_many,
        )
    }

    fn unavailable(&self) -> Response {
        self.notice(
            Problem::unavailable(self.lang),
            texts(self.lang).unavailable,
        )
    }

    fn created(&self, opened: &FormOpened, replayed: bool) -> Response {
        let ticket = &opened.ticket;
        let mut headers = HeaderMap::new();
        if replayed {
            headers.insert(
                "idempotent-replayed",
                "true".parse().unwrap_or_else(|_| unreachable!()),
            );
        }
        if self.json {
            let body = CreatedTicket {
                number: ticket.number.to_string(),
                status: ticket.status.wire(),
                created_at: ticket.created_at.to_string(),
                access_url: opened.access_url.clone(),
            };
            return (StatusCode::CREATED, headers, axum::Json(body)).into_response();
        }
        // Sent on to the confirmation page (Post/Redirect/Get): reloading it sends nothing
        // again, the browser's Back returns to the form, and the page has an address (with a
        // link of a day: the mail has the lasting one).
        let confirmation = format!("{}/recibido?lang={}", opened.shown_path, self.lang.code());
        (headers, Redirect::to(&confirmation)).into_response()
    }
}
