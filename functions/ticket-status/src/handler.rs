//! A citizen follows a ticket: by e-mail + number (page or JSON), or by the signed link in
//! the acknowledgement. An unknown number and a wrong e-mail get the same answer, and misses
//! are counted per number and per source so that numbers cannot be guessed at speed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use ventanilla_app::Site;
use ventanilla_domain::ports::{
    BlobStore, IdentifierSecret, StoreError, ThreadQuery, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::{Author, Email, FieldErrors, Lang, Message, Ticket, TicketNumber};
use ventanilla_web::pages::{
    AttachmentView, Frame, MessageView, NoticePage, StatusFormPage, StatusPage, html, human_size,
    local_date,
};
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

const HOUR: Duration = Duration::from_secs(3600);

/// The ports this function uses: it reads tickets, counts misses and signs download links.
pub struct StatusDesk<S, B> {
    pub site: Site,
    pub store: S,
    pub blobs: B,
    /// Keys the source's address in the miss counters.
    pub identifiers: IdentifierSecret,
}

impl<S, B> std::fmt::Debug for StatusDesk<S, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusDesk")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

pub fn router<S, B>(desk: Arc<StatusDesk<S, B>>) -> Router
where
    S: TicketStore + Throttle + 'static,
    B: BlobStore + 'static,
{
    let routes = Router::new()
        .route(
            "/estado",
            get(status_form::<S, B>).post(status_form_post::<S, B>),
        )
        .route("/estado/{token}", get(status_by_link::<S, B>))
        .route("/api/v1/tickets/lookup", post(lookup_json::<S, B>))
        .with_state(desk);
    ventanilla_web::finish_router(routes)
}

/// What a lookup found.
enum Lookup {
    Found(Box<Ticket>, Vec<Message>),
    Missed,
    Throttled,
    Unavailable,
}

impl<S: TicketStore + Throttle, B: BlobStore> StatusDesk<S, B> {
    /// Which of the miss counters (`keys`, in their order) are at their limit.
    async fn over_limit<const N: usize>(
        &self,
        keys: &[(ThrottleKey, u64); N],
    ) -> Result<[bool; N], StoreError> {
        let now = self.site.clock.now();
        let names: Vec<ThrottleKey> = keys.iter().map(|(key, _)| key.clone()).collect();
        let counts = self.store.counts(&names, HOUR, now).await?;
        let mut over = [false; N];
        for ((flag, count), (_, limit)) in over.iter_mut().zip(&counts).zip(keys) {
            *flag = count >= limit;
        }
        Ok(over)
    }

    async fn count_miss(&self, keys: &[(ThrottleKey, u64)]) {
        let now = self.site.clock.now();
        for (key, limit) in keys {
            // Counting stops at the limit: past it, every wrong guess is refused anyway.
            if let Err(error) = self.store.take(key, HOUR, now, *limit).await {
                tracing::error!(%error, "a lookup miss could not be counted");
            }
        }
    }

    fn miss_keys(&self, number: &TicketNumber, source: &Source) -> [(ThrottleKey, u64); 2] {
        let limits = &self.site.settings.limits;
        [
            (
                ThrottleKey::new("miss-number", number.as_str()),
                limits.lookup_misses_per_number_per_hour,
            ),
            (
                source.throttle_key("miss-source", &self.identifiers),
                limits.lookup_misses_per_source_per_hour,
            ),
        ]
    }

    /// Finds the ticket if `matches` accepts its requester. Both ways of missing (no such
    /// ticket, someone else's ticket) take the same path from here on.
    async fn look_up(
        &self,
        number: &TicketNumber,
        source: &Source,
        matches: impl Fn(&Ticket) -> bool,
    ) -> Lookup {
        let keys = self.miss_keys(number, source);
        // Misses cost the guesser, not the owner: a source past its limit is refused before
        // anything is read; a number being guessed at still opens for the right e-mail or a
        // valid link, and answers every wrong one as throttled.
        let [number_guessed, source_over] = match self.over_limit(&keys).await {
            Ok(over) => over,
            Err(error) => {
                tracing::error!(%error, "throttle unavailable");
                return Lookup::Unavailable;
            }
        };
        if source_over {
            return Lookup::Throttled;
        }
        // One read for the ticket and its thread: on DynamoDB one Query instead of a GetItem
        // and a Query. Numbers follow each other, so that a wrong e-mail reads a little more
        // than an unknown number gives away nothing a citizen could not guess.
        // The newest page: a thread of ten thousand robot mails still opens.
        match self
            .store
            .thread_page(number, &ThreadQuery::newest(None))
            .await
        {
            // An erased ticket is no one's: it answers as an unknown number does, whatever
            // address (its placeholder included) or link is given.
            Ok((ticket, page)) if ticket.erased_at.is_none() && matches(&ticket) => {
                Lookup::Found(Box::new(ticket), page.items)
            }
            Ok(_) | Err(StoreError::NotFound) => {
                self.count_miss(&keys).await;
                if number_guessed {
                    Lookup::Throttled
                } else {
                    Lookup::Missed
                }
            }
            Err(error) => {
                tracing::error!(%error, "ticket unreadable");
                Lookup::Unavailable
            }
        }
    }

    async fn by_email(&self, number: &TicketNumber, email: &Email, source: &Source) -> Lookup {
        self.look_up(number, source, |ticket| {
            ticket.requester.email.same_mailbox(email)
        })
        .await
    }

    /// The public thread only (citizen messages and agency replies), oldest first, with
    /// short-lived download links.
    async fn public_thread(&self, thread: Vec<Message>) -> Result<Vec<PublicMessage>, Problem> {
        let mut messages = Vec::new();
        for message in thread.into_iter().filter(|m| m.kind.is_public()) {
            let mut attachments = Vec::new();
            for attachment in &message.attachments {
                let url = self
                    .blobs
                    .download_url(
                        &attachment.blob,
                        &attachment.name,
                        self.site.settings.limits.download_link,
                    )
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "download link unavailable");
                        Problem::unavailable(Lang::Es)
                    })?;
                attachments.push(PublicAttachment {
                    name: attachment.name.clone(),
                    size: attachment.size,
                    url,
                });
            }
            messages.push(PublicMessage {
                at: message.at,
                author: match message.author {
                    Author::Requester => "citizen",
                    _ => "agency",
                },
                text: message.body.as_str().to_owned(),
                attachments,
            });
        }
        Ok(messages)
    }

    async fn status_view(
        &self,
        ticket: Ticket,
        thread: Vec<Message>,
        lang: Lang,
    ) -> Result<TicketStatus, Problem> {
        let messages = self.public_thread(thread).await?;
        Ok(TicketStatus {
            number: ticket.number.to_string(),
            status: ticket.status.wire(),
            status_label: ticket.status.label(lang),
            category: ticket.category.wire(),
            subject: ticket.subject.as_str().to_owned(),
            created_at: ticket.created_at.to_string(),
            updated_at: ticket.last_activity.to_string(),
            messages,
        })
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
    messages: Vec<PublicMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LookupRequest {
    email: String,
    number: String,
}

/// Parses both fields, collecting both errors.
fn parse_lookup(request: &LookupRequest) -> Result<(TicketNumber, Email), FieldErrors> {
    let mut errors = FieldErrors::new();
    let email = errors.check(Email::parse(&request.email));
    let number = errors.check(TicketNumber::parse(&request.number).map_err(|mut e| {
        e.field = "number";
        e
    }));
    match (number, email) {
        (Some(number), Some(email)) => Ok((number, email)),
        _ => Err(errors),
    }
}

async fn lookup_json<S, B>(
    State(desk): State<Arc<StatusDesk<S, B>>>,
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
        Err(rejection) => {
            return Problem::bad_request(lang, rejection.body_text()).into_response();
        }
    };
    let (number, email) = match parse_lookup(&request) {
        Ok(parsed) => parsed,
        Err(errors) => return Problem::invalid_fields(&errors, lang).into_response(),
    };
    match desk.by_email(&number, &email, &source).await {
        Lookup::Found(ticket, thread) => match desk.status_view(*ticket, thread, lang).await {
            Ok(view) => Json(view).into_response(),
            Err(problem) => problem.into_response(),
        },
        Lookup::Missed => Problem::not_found(lang).into_response(),
        Lookup::Throttled => Problem::too_many_requests(lang, 3600).into_response(),
        Lookup::Unavailable => Problem::unavailable(lang).into_response(),
    }
}

async fn status_form<S, B>(
    State(desk): State<Arc<StatusDesk<S, B>>>,
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
        email_error: error("email"),
        number_error: error("number"),
        not_found,
    }
}

async fn status_form_post<S, B>(
    State(desk): State<Arc<StatusDesk<S, B>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    form: Result<Form<LookupRequest>, axum::extract::rejection::FormRejection>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let values = form.map(|Form(v)| v).unwrap_or_default();
    let (number, email) = match parse_lookup(&values) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let page = form_page(&desk.site, lang, &values, Some(&errors), false);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let lookup = desk.by_email(&number, &email, &source).await;
    page_for(&desk, lookup, lang, &values).await
}

async fn status_by_link<S, B>(
    State(desk): State<Arc<StatusDesk<S, B>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    Path(token): Path<String>,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let site = &desk.site;
    let lookup = match site.links.claim(&token, site.clock.now()) {
        Some(claim) => {
            desk.look_up(&claim.number, &source, |ticket| {
                site.links.verify(&claim, &ticket.requester.email)
            })
            .await
        }
        None => Lookup::Missed,
    };
    page_for(&desk, lookup, lang, &LookupRequest::default()).await
}

async fn page_for<S, B>(
    desk: &StatusDesk<S, B>,
    lookup: Lookup,
    lang: Lang,
    values: &LookupRequest,
) -> Response
where
    S: TicketStore + Throttle,
    B: BlobStore,
{
    let site = &desk.site;
    let t = texts(lang);
    let notice = |problem: Problem, text: &str| {
        let page = NoticePage {
            frame: Frame::new(
                lang,
                &site.settings.site_name,
                "/estado",
                problem.title.clone(),
            ),
            text: text.to_owned(),
            back_href: format!("/estado?lang={}", lang.code()),
        };
        html(problem.status_code(), &page)
    };
    match lookup {
        Lookup::Found(ticket, thread) => {
            let created_at = local_date(ticket.created_at);
            let updated_at = local_date(ticket.last_activity);
            let category = ticket.category.label(lang).to_owned();
            let status = match desk.status_view(*ticket, thread, lang).await {
                Ok(status) => status,
                Err(_) => return notice(Problem::unavailable(lang), t.unavailable),
            };
            let page = StatusPage {
                frame: Frame::new(lang, &site.settings.site_name, "/estado", t.status_title),
                number: status.number,
                status: status.status_label.to_owned(),
                category,
                subject: status.subject,
                created_at,
                updated_at,
                messages: status
                    .messages
                    .into_iter()
                    .map(|m| MessageView {
                        at: local_date(m.at),
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
        Lookup::Missed => html(
            StatusCode::NOT_FOUND,
            &form_page(site, lang, values, None, true),
        ),
        Lookup::Throttled => notice(Problem::too_many_requests(lang, 3600), t.too_many),
        Lookup::Unavailable => notice(Problem::unavailable(lang), t.unavailable),
    }
}
