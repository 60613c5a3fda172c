//! A citizen follows a ticket: by e-mail + number (page or JSON), or by the signed link in
//! the acknowledgement. An unknown number and a wrong e-mail get the same answer, and misses
//! are counted per number and per source so that numbers cannot be guessed at speed.

use std::sync::Arc;
use ventanilla_domain::Choice;
use ventanilla_domain::Labelled;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ventanilla_app::Desk;
use ventanilla_app::access::follower_key;
use ventanilla_app::look_up::PublicTicket;
use ventanilla_app::web_follow_up::answer_token;
use ventanilla_app::{AppError, Site};
use ventanilla_domain::Body;
use ventanilla_domain::model::agencies::FinishedTicketRule;
use ventanilla_domain::model::screenshots;
use ventanilla_domain::model::time::long_date;
use ventanilla_domain::ports::{AgencyDirectory, BlobStore, StatsStore, Throttle, TicketStore};
use ventanilla_domain::rules::deadline::day_in_ecuador;
use ventanilla_domain::{Author, Email, FieldError, FieldErrors, FieldProblem, Lang, TicketNumber};
use ventanilla_web::pages::{
    AnswerForm, AttachmentView, Frame, MessageView, MyTicketView, MyTicketsPage, StatusFormPage,
    StatusPage, TicketCreatedPage, html, human_size, local_date, notice,
};
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

pub fn router<S, B>(desk: Arc<Desk<S, B, ()>>) -> Router
where
    S: TicketStore + Throttle + StatsStore + AgencyDirectory + 'static,
    B: BlobStore + 'static,
{
    let statistics = crate::statistics::routes(Arc::clone(&desk));
    let routes = Router::new()
        .route(
            "/estado",
            get(status_form::<S, B>).post(status_form_post::<S, B>),
        )
        .route("/estado/{token}", get(status_by_link::<S, B>))
        .route("/estado/{token}/recibido", get(received::<S, B>))
        .route(
            "/mis-tramites/{token}",
            get(my_tickets_link::<S, B>).post(my_tickets::<S, B>),
        )
        .route("/api/v1/tickets/lookup", post(lookup_json::<S, B>))
        .with_state(desk);
    ventanilla_web::finish_router(ventanilla_web::security::never_stored(routes).merge(statistics))
}

type Lookup = Result<PublicTicket, AppError>;

/// The wire shape of a ticket as its requester sees it.
fn status_view(found: PublicTicket, lang: Lang, today: NaiveDate) -> TicketStatus {
    let ticket = &found.ticket;
    let stopped = ticket.clock_stopped(today);
    TicketStatus {
        number: ticket.number.to_string(),
        status: ticket.status.wire(),
        status_label: ticket.status.label(lang),
        category: ticket.category.wire(),
        subject: ticket.subject.as_str().to_owned(),
        created_at: ticket.created_at.to_string(),
        updated_at: ticket.last_activity.to_string(),
        due_on: ticket.due_date().map(|day| day.to_string()),
        suspended_since: stopped.map(|s| s.since.to_string()),
        resumes_on: stopped.map(|s| s.resumes_on.to_string()),
        merged_from: found.merged_from.as_ref().map(ToString::to_string),
        messages: found
            .messages
            .into_iter()
            .map(|linked| PublicMessage {
                at: linked.message.at,
                author: match linked.message.author {
                    Author::Requester => "citizen",
                    _ => "agency",
                },
                text: linked.message.body.as_str().to_owned(),
                attachments: linked
                    .message
                    .attachments
                    .iter()
                    .zip(linked.links)
                    .map(|(file, url)| PublicAttachment {
                        name: file.name.clone(),
                        size: file.size,
                        url,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
struct PublicAttachment {
    name: String,
    size: u64,
    url: String,
}

#[derive(Debug, Serialize)]
struct PublicMessage {
    /// Serialised in the fixed-width UTC form; the page shows it in local time.
    at: ventanilla_domain::Timestamp,
    author: &'static str,
    text: String,
    attachments: Vec<PublicAttachment>,
}

#[derive(Debug, Serialize)]
struct TicketStatus {
    number: String,
    status: &'static str,
    status_label: &'static str,
    category: &'static str,
    subject: String,
    created_at: String,
    updated_at: String,
    /// The last day the agency has to answer (`YYYY-MM-DD`, Ecuador).
    #[serde(skip_serializing_if = "Option::is_none")]
    due_on: Option<String>,
    /// While the agency waits on the citizen the term's clock is stopped: since when, and
    /// the day it runs again if they do not answer (`due_on` is the date it then has).
    #[serde(skip_serializing_if = "Option::is_none")]
    suspended_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resumes_on: Option<String>,
    /// The number asked for, when it was merged into this ticket (whose number is `number`).
    #[serde(skip_serializing_if = "Option::is_none")]
    merged_from: Option<String>,
    messages: Vec<PublicMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LookupRequest {
    email: String,
    number: String,
    /// Instead of `email`, for a ticket opened for a caller who gave no address.
    id_number: String,
}

/// Who asks for a ticket: the address it was opened with, or the requester's document number.
enum Follower {
    Email(Email),
    IdNumber(String),
}

/// The longest document number anyone types (a passport's is at most 20 characters).
const ID_NUMBER_MAX: usize = 30;

/// Parses the number and the e-mail (or, without one, the document number), collecting
/// every error.
fn parse_lookup(request: &LookupRequest) -> Result<(TicketNumber, Follower), FieldErrors> {
    let mut errors = FieldErrors::new();
    let id_number = request.id_number.trim();
    let follower = if request.email.trim().is_empty() && !id_number.is_empty() {
        if id_number.chars().count() > ID_NUMBER_MAX {
            errors.push(FieldError::new(
                "id_number",
                FieldProblem::TooLong { max: ID_NUMBER_MAX },
            ));
            None
        } else {
            Some(Follower::IdNumber(id_number.to_owned()))
        }
    } else {
        errors
            .check(Email::parse(&request.email))
            .map(Follower::Email)
    };
    let number = errors.check(TicketNumber::parse(&request.number).map_err(|mut e| {
        e.field = "number";
        e
    }));
    match (number, follower) {
        (Some(number), Some(follower)) => Ok((number, follower)),
        _ => Err(errors),
    }
}

/// The lookup either way of following a ticket asks for.
async fn find<S, B>(
    desk: &Desk<S, B, ()>,
    number: &TicketNumber,
    follower: &Follower,
    source: &str,
) -> Lookup
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    match follower {
        Follower::Email(email) => desk.by_email(number, email, source).await,
        Follower::IdNumber(id_number) => desk.by_id_number(number, id_number, source).await,
    }
}

async fn lookup_json<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    request: Result<Json<LookupRequest>, axum::extract::rejection::JsonRejection>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let Json(request) = match request {
        Ok(request) => request,
        Err(rejection) => return Problem::from_json_rejection(&rejection, lang).into_response(),
    };
    let (number, follower) = match parse_lookup(&request) {
        Ok(parsed) => parsed,
        Err(errors) => return Problem::invalid_fields(&errors, lang).into_response(),
    };
    match find(&desk, &number, &follower, source.address()).await {
        Ok(found) => {
            let today = day_in_ecuador(desk.site.clock.now());
            Json(status_view(found, lang, today)).into_response()
        }
        Err(error) => Problem::from_app(error, lang).into_response(),
    }
}

async fn status_form<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
) -> Response {
    html(
        StatusCode::OK,
        &form_page(&desk.site, lang, &LookupRequest::default(), None, false),
    )
}

fn form_page(
    site: &Site,
    lang: Lang,
    values: &LookupRequest,
    errors: Option<&FieldErrors>,
    not_found: bool,
) -> StatusFormPage {
    let t = texts(lang);
    let error = |field| {
        errors
            .and_then(|e| e.for_field(field))
            .map(|e| e.message(lang))
    };
    StatusFormPage {
        frame: Frame::new(lang, &site.settings.site_name, "/estado", t.status_title),
        email: values.email.clone(),
        number: values.number.clone(),
        id_number: values.id_number.clone(),
        email_error: error("email"),
        number_error: error("number"),
        id_number_error: error("id_number"),
        not_found,
    }
}

async fn status_form_post<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    form: Result<Form<LookupRequest>, axum::extract::rejection::FormRejection>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let values = form.map(|Form(v)| v).unwrap_or_default();
    let (number, follower) = match parse_lookup(&values) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let page = form_page(&desk.site, lang, &values, Some(&errors), false);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let lookup = find(&desk, &number, &follower, source.address()).await;
    let reached = match follower {
        Follower::Email(_) => Reached::Knowing,
        Follower::IdNumber(_) => Reached::Document,
    };
    page_for(&desk.site, lookup, lang, &values, reached)
}

/// How the status page was reached: what its answer form may do.
enum Reached<'a> {
    /// By a mailed link (its token): the form answers until the link expires, and returns.
    Link(&'a str, Option<&'a str>),
    /// By address and number: knowing them writes nothing; the form says to open the link.
    Knowing,
    /// By document and number, a ticket without an address: the only way it is followed.
    Document,
}

/// What the status page is told after an answer from its form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AfterAnswer {
    /// `enviado`: the ticket took it.
    respuesta: String,
}

async fn status_by_link<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    Path(token): Path<String>,
    after: Result<Query<AfterAnswer>, axum::extract::rejection::QueryRejection>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let t = texts(lang);
    let said = match after.ok().map(|Query(a)| a.respuesta).as_deref() {
        Some("enviado") => Some(t.answer_sent),
        _ => None,
    };
    let lookup = desk.by_link(&token, source.address()).await;
    let reached = Reached::Link(&token, said);
    page_for(&desk.site, lookup, lang, &LookupRequest::default(), reached)
}

/// `GET /estado/{token}/recibido`: where the form sends the citizen after an opening: the
/// number to keep and the link to follow it.
async fn received<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    Path(token): Path<String>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let site = &desk.site;
    match desk.by_link(&token, source.address()).await {
        Ok(found) => {
            let page = TicketCreatedPage {
                frame: Frame::new(
                    lang,
                    &site.settings.site_name,
                    &format!("/estado/{token}/recibido"),
                    texts(lang).created_title,
                ),
                number: found.ticket.number.to_string(),
                access_url: format!("{}/estado/{token}", site.settings.public_url),
            };
            html(StatusCode::OK, &page)
        }
        Err(error) => page_for(
            site,
            Err(error),
            lang,
            &LookupRequest::default(),
            Reached::Knowing,
        ),
    }
}

/// `GET /mis-tramites/{token}`: the sign-in link's page, a button that lists. Opening it
/// spends nothing: mail scanners open links before their owner does.
async fn my_tickets_link<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    Path(token): Path<String>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let site = &desk.site;
    let t = texts(lang);
    let path = format!("/mis-tramites/{token}");
    match desk.sign_in_unused(site, &token).await {
        Ok(true) => {
            let page = MyTicketsPage {
                frame: Frame::new(lang, &site.settings.site_name, &path, t.mine_title),
                confirm: Some(format!("{path}?lang={}", lang.code())),
                tickets: Vec::new(),
            };
            html(StatusCode::OK, &page)
        }
        Ok(false) => my_tickets_notice(site, lang, Problem::not_found(lang), t.mine_used),
        Err(error) => my_tickets_notice(site, lang, Problem::from_app(error, lang), t.unavailable),
    }
}

fn my_tickets_notice(site: &Site, lang: Lang, problem: Problem, text: &str) -> Response {
    let back = format!("/mis-tramites?lang={}", lang.code());
    notice(
        lang,
        &site.settings.site_name,
        "/mis-tramites",
        &problem,
        text,
        back,
    )
}

/// `POST /mis-tramites/{token}`: the sign-in link's list, once.
async fn my_tickets<S, B>(
    State(desk): State<Arc<Desk<S, B, ()>>>,
    RequestLang(lang): RequestLang,
    Path(token): Path<String>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let site = &desk.site;
    let t = texts(lang);
    let notice = |problem: Problem, text: &str| my_tickets_notice(site, lang, problem, text);
    match desk.my_tickets(site, &token).await {
        Ok(tickets) => {
            let page = MyTicketsPage {
                frame: Frame::new(
                    lang,
                    &site.settings.site_name,
                    "/mis-tramites",
                    t.mine_title,
                ),
                confirm: None,
                tickets: tickets
                    .into_iter()
                    .map(|mine| MyTicketView {
                        number: mine.ticket.number.to_string(),
                        category: mine.ticket.category.label(lang).to_owned(),
                        status: mine.ticket.status.label(lang).to_owned(),
                        agency: (site.settings.agency(&mine.ticket.agency))
                            .map_or_else(|| mine.ticket.agency.to_string(), |a| a.name.clone()),
                        last_activity: local_date(mine.ticket.last_activity, lang),
                        href: format!("{}?lang={}", mine.access_path, lang.code()),
                    })
                    .collect(),
            };
            html(StatusCode::OK, &page)
        }
        Err(AppError::NotFound) => notice(Problem::not_found(lang), t.mine_used),
        Err(error) => notice(Problem::from_app(error, lang), t.unavailable),
    }
}

/// The answer form under a ticket's thread, under an answer token bound to its requester
/// (see [`Reached`]); a finished ticket whose queue takes no more says so instead.
fn answer_form(
    site: &Site,
    ticket: &ventanilla_domain::Ticket,
    lang: Lang,
    reached: &Reached<'_>,
) -> Option<AnswerForm> {
    follower_key(&ticket.requester)?;
    let (access, back) = match reached {
        Reached::Link(token, _) => {
            let until = site
                .links
                .claim(token, site.clock.now())
                .map(|c| c.expires());
            (answer_token(site, ticket, until), Some((*token).to_owned()))
        }
        Reached::Document => (answer_token(site, ticket, None), None),
        Reached::Knowing => (None, None),
    };
    let problem = |problem| FieldError::new("attachments", problem).message(lang);
    Some(AnswerForm {
        access,
        back,
        idempotency_token: uuid::Uuid::new_v4().to_string(),
        // A duplicate merged away takes an answer as a new linked ticket, whatever the rule.
        closed: ticket.status.is_finished()
            && ticket.merged_into.is_none()
            && site.settings.mail.policy.finished_rule(ticket) == FinishedTicketRule::Reject,
        by_mail: ticket.requester.email.is_some(),
        max_chars: Body::MAX,
        max_files: screenshots::MAX_FILES,
        max_bytes: screenshots::MAX_TOTAL_BYTES,
        too_many: problem(FieldProblem::TooManyFiles {
            max: screenshots::MAX_FILES,
        }),
        too_large: problem(FieldProblem::FilesTooLarge {
            max_bytes: screenshots::MAX_TOTAL_BYTES,
        }),
    })
}

fn page_for(
    site: &Site,
    lookup: Lookup,
    lang: Lang,
    values: &LookupRequest,
    reached: Reached<'_>,
) -> Response {
    let said = match reached {
        Reached::Link(_, said) => said,
        _ => None,
    };
    let t = texts(lang);
    let notice = |problem: Problem, text: &str| {
        let back = format!("/estado?lang={}", lang.code());
        notice(
            lang,
            &site.settings.site_name,
            "/estado",
            &problem,
            text,
            back,
        )
    };
    match lookup {
        Ok(found) => {
            let created_at = local_date(found.ticket.created_at, lang);
            let updated_at = local_date(found.ticket.last_activity, lang);
            let category = found.ticket.category.label(lang).to_owned();
            let today = day_in_ecuador(site.clock.now());
            let due_on = found.ticket.due_date().map(|day| long_date(day, lang));
            let stopped = found
                .ticket
                .clock_stopped(today)
                .map(|s| (long_date(s.since, lang), long_date(s.resumes_on, lang)));
            let answer = answer_form(site, &found.ticket, lang, &reached);
            let status = status_view(found, lang, today);
            let page = StatusPage {
                frame: Frame::new(lang, &site.settings.site_name, "/estado", t.status_title),
                number: status.number,
                status: status.status_label.to_owned(),
                category,
                subject: status.subject,
                created_at,
                updated_at,
                due_on,
                stopped,
                merged_from: status.merged_from,
                notice: said.map(str::to_owned),
                answer,
                messages: status
                    .messages
                    .into_iter()
                    .map(|m| MessageView {
                        at: local_date(m.at, lang),
                        from_citizen: m.author == "citizen",
                        text: m.text,
                        attachments: m
                            .attachments
                            .into_iter()
                            .map(|a| AttachmentView {
                                name: a.name,
                                size: human_size(a.size),
                                url: a.url,
                            })
                            .collect(),
                    })
                    .collect(),
            };
            html(StatusCode::OK, &page)
        }
        Err(AppError::NotFound) => html(
            StatusCode::NOT_FOUND,
            &form_page(site, lang, values, None, true),
        ),
        Err(AppError::TooMany { retry_after }) => notice(
            Problem::too_many_requests(lang, retry_after.as_secs()),
            t.too_many,
        ),
        Err(error) => notice(Problem::from_app(error, lang), t.unavailable),
    }
}
