//! Agents answer: the agency's queues, a ticket's whole thread, public replies that reach
//! the citizen by mail, internal notes, changes with optimistic concurrency, transfers to
//! another agency, agent management and the audit trail; all under `/api/v1/agent/`,
//! authorised by a bearer token.
//!
//! Authorisation, in one place (`Gate`): no token or an unknown or disabled one is `401`; a
//! ticket the agent's agency neither holds nor kept a referral to is `404` (its existence is
//! not confirmed); a role or access too low for the action is `403`.

mod console;
mod views;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::append::{Step, append};
use ventanilla_app::change::{self, Change, ChangeError};
use ventanilla_app::sending::send_reply;
use ventanilla_app::{Site, agents, attachments};
use ventanilla_domain::agents::{Access, Agent, AgentToken, AuditAction, AuditEntry, Role};
use ventanilla_domain::mail::MailMessageId;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, AuditLog, Blob, BlobKey, BlobStore, Cursor, IdSource, Mailer,
    QueueQuery, StoreError, ThreadCursor, ThreadQuery, TicketStore, UuidV7,
};
use ventanilla_domain::privacy;
use ventanilla_domain::ticket::MailMeta;
use ventanilla_domain::{
    AgencyCode, AgentId, AttachmentRef, Author, Body, Category, Email, FieldError, FieldErrors,
    FieldProblem, Lang, Message, MessageKind, Priority, QueueName, Status, Ticket, TicketChange,
    TicketNumber,
};
use ventanilla_web::{Problem, RequestLang};

pub use views::{TicketSummary, TicketView};

/// The ports this function uses (its IAM policy grants the same: the table, reading the
/// attachments prefix to sign links, sending mail from the service desk's address).
pub struct AgentDesk<S, B, M> {
    pub site: Site,
    pub store: S,
    pub blobs: B,
    pub mailer: M,
}

impl<S, B, M> std::fmt::Debug for AgentDesk<S, B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentDesk")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

/// What every port of this function must offer.
pub trait Ports: TicketStore + AgentDirectory + AgencyDirectory + AuditLog + 'static {}
impl<T: TicketStore + AgentDirectory + AgencyDirectory + AuditLog + 'static> Ports for T {}

type Desk<S, B, M> = State<Arc<AgentDesk<S, B, M>>>;

pub fn router<S, B, M>(desk: Arc<AgentDesk<S, B, M>>) -> Router
where
    S: Ports,
    B: BlobStore + 'static,
    M: Mailer + 'static,
{
    let routes = Router::new()
        .route("/api/v1/agent/me", get(me::<S, B, M>))
        .route("/api/v1/agent/tickets", get(list::<S, B, M>))
        .route(
            "/api/v1/agent/tickets/{number}",
            get(show::<S, B, M>).patch(change::<S, B, M>),
        )
        // The one body limit of this route is the documented one (the files plus room for
        // the text), not axum's default of 2 MB.
        .route(
            "/api/v1/agent/tickets/{number}/replies",
            post(reply::<S, B, M>).layer(axum::extract::DefaultBodyLimit::max(
                MAX_REPLY_REQUEST_BYTES,
            )),
        )
        .route(
            "/api/v1/agent/tickets/{number}/notes",
            post(note::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/transfer",
            post(transfer::<S, B, M>),
        )
        .route(
            "/api/v1/agent/tickets/{number}/audit",
            get(audit::<S, B, M>),
        )
        .route("/api/v1/agent/agencies", get(agencies::<S, B, M>))
        .route(
            "/api/v1/agent/agencies/{code}",
            axum::routing::put(save_agency::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents",
            get(agents::<S, B, M>).post(add_agent::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents/{id}/disable",
            post(disable_agent::<S, B, M>),
        )
        .route(
            "/api/v1/agent/agents/{id}/token",
            post(rotate_token::<S, B, M>),
        )
        .route(
            "/api/v1/agent/privacy/export",
            post(export_requester::<S, B, M>),
        )
        .route(
            "/api/v1/agent/privacy/erase",
            post(erase_requester::<S, B, M>),
        )
        .with_state(desk)
        .merge(console::routes());
    ventanilla_web::finish_router(routes)
}

fn unavailable(error: &StoreError, lang: Lang) -> Problem {
    tracing::error!(%error, "store unavailable");
    Problem::unavailable(lang)
}

/// Why an agent's append did not land: the gate's answer, or the store's failure.
enum Refused {
    Problem(Problem),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        Refused::Store(error)
    }
}

/// Who is asking, and what they may touch.
struct Gate<'a, S, B, M> {
    desk: &'a AgentDesk<S, B, M>,
    /// The site with the agencies as they stand now.
    site: Site,
    agent: Agent,
    lang: Lang,
}

impl<'a, S: Ports, B, M> Gate<'a, S, B, M> {
    async fn open(
        desk: &'a AgentDesk<S, B, M>,
        headers: &HeaderMap,
        lang: Lang,
    ) -> Result<Self, Problem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| AgentToken::parse(t).ok())
            .ok_or_else(|| Problem::unauthorized(lang))?;
        let agent = desk
            .store
            .agent_by_token(&token.hash())
            .await
            .map_err(|e| unavailable(&e, lang))?
            .filter(|a| a.active)
            .ok_or_else(|| Problem::unauthorized(lang))?;
        let site = desk
            .site
            .current(&desk.store)
            .await
            .map_err(|e| unavailable(&e, lang))?;
        Ok(Gate {
            desk,
            site,
            agent,
            lang,
        })
    }

    fn require(&self, role: Role) -> Result<(), Problem> {
        if self.agent.role >= role {
            Ok(())
        } else {
            Err(Problem::forbidden(self.lang))
        }
    }

    /// The ticket, if the agent's access reaches `needed`.
    async fn ticket(&self, number: &str, needed: Access) -> Result<Ticket, Problem> {
        let not_found = || Problem::not_found(self.lang);
        let number = TicketNumber::parse(number).map_err(|_| not_found())?;
        let ticket = match self.desk.store.ticket(&number).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Err(not_found()),
            Err(error) => return Err(unavailable(&error, self.lang)),
        };
        self.may(&ticket, needed)?;
        Ok(ticket)
    }

    /// Whether the agent's access to the ticket, as it stands, reaches `needed`; a ticket
    /// the agent may not see at all is "not found".
    fn may(&self, ticket: &Ticket, needed: Access) -> Result<(), Problem> {
        match self.agent.access(ticket) {
            Access::None => Err(Problem::not_found(self.lang)),
            access if access < needed => Err(Problem::forbidden(self.lang)),
            _ => Ok(()),
        }
    }

    /// Appends a message (and a change) to the ticket as the agent saw it or, for messages
    /// that do not depend on what the agent saw, to its latest version. Access is checked
    /// again on every try: a transfer that won the race may have taken the ticket out of
    /// the agent's reach.
    async fn append(
        &self,
        ticket: Ticket,
        needed: Access,
        change: impl Fn(&Ticket) -> Result<TicketChange, Problem>,
        message: Message,
    ) -> Result<Ticket, Problem> {
        let appended = append(&self.desk.store, ticket, |ticket: &Ticket| {
            self.may(ticket, needed).map_err(Refused::Problem)?;
            Ok(Some(Step {
                change: change(ticket).map_err(Refused::Problem)?,
                message: Some(message.clone()),
            }))
        })
        .await;
        match appended {
            Ok(Some(updated)) => Ok(updated),
            Ok(None) => unreachable!("an agent's append always has a step to write"),
            Err(Refused::Problem(problem)) => Err(problem),
            Err(Refused::Store(error)) => Err(unavailable(&error, self.lang)),
        }
    }

    /// Records what the agent did; an audit that cannot be written fails the request (the
    /// action already happened, so the caller says so in the log).
    async fn audit(
        &self,
        action: AuditAction,
        ticket: Option<&TicketNumber>,
        detail: String,
    ) -> Result<(), Problem> {
        let entry = AuditEntry {
            at: self.desk.site.clock.now(),
            agent: self.agent.id.clone(),
            action,
            ticket: ticket.cloned(),
            detail,
        };
        self.desk.store.record(&entry).await.map_err(|error| {
            tracing::error!(%error, ?action, "audit entry not written");
            Problem::unavailable(self.lang)
        })
    }
}

async fn me<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let agency = gate.site.settings.agency(&gate.agent.agency);
    Ok(Json(json!({
        "id": gate.agent.id.as_str(),
        "name": gate.agent.name,
        "agency": gate.agent.agency.as_str(),
        "agency_name": agency.map(|a| a.name.as_str()),
        "role": gate.agent.role.wire(),
        "queues": gate.site.settings.queues_of(&gate.agent.agency)
            .iter()
            .map(QueueName::as_str)
            .collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The list's filters, read as text and parsed here, so that every bad one is named in a
/// problem+json answer; an empty filter is no filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    queue: Option<String>,
    status: Option<String>,
    category: Option<String>,
    assignee: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    /// `newest` (default) or `oldest` last activity first.
    order: Option<String>,
}

impl ListQuery {
    fn get(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
}

/// The value, or `None` with the error noted.
fn field<T>(errors: &mut FieldErrors, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

async fn list<S: Ports, B: BlobStore, M: Mailer>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let Query(query) = query.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let mut errors = FieldErrors::new();
    let queue = ListQuery::get(&query.queue).and_then(|q| field(&mut errors, QueueName::parse(q)));
    let status = ListQuery::get(&query.status).and_then(|s| field(&mut errors, Status::parse(s)));
    let category =
        ListQuery::get(&query.category).and_then(|c| field(&mut errors, Category::parse(c)));
    let assignee =
        ListQuery::get(&query.assignee).and_then(|a| field(&mut errors, AgentId::parse(a)));
    let after = ListQuery::get(&query.cursor).and_then(|c| field(&mut errors, Cursor::decode(c)));
    let oldest_first = match ListQuery::get(&query.order) {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(_) => {
            errors.push(FieldError::new("order", FieldProblem::UnknownValue));
            false
        }
    };
    let limit = match ListQuery::get(&query.limit).map(str::parse::<usize>) {
        None => 25,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => {
            errors.push(FieldError::new("limit", FieldProblem::InvalidFormat));
            25
        }
    };
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(&errors, lang));
    }
    let queues = match queue {
        Some(queue) => vec![queue],
        None => gate.site.settings.queues_of(&gate.agent.agency),
    };
    // Each queue is read from the cursor on, newest activity first; the pages are merged.
    let mut tickets = Vec::new();
    let mut more = false;
    for queue in queues {
        let page = desk
            .store
            .queue(&QueueQuery {
                agency: gate.agent.agency.clone(),
                queue,
                status,
                limit,
                after: after.clone(),
                oldest_first,
            })
            .await
            .map_err(|e| unavailable(&e, lang))?;
        more |= page.next.is_some();
        tickets.extend(page.items);
    }
    tickets.sort_by(|a, b| {
        let newest_first =
            (b.last_activity, b.number.as_str()).cmp(&(a.last_activity, a.number.as_str()));
        if oldest_first {
            newest_first.reverse()
        } else {
            newest_first
        }
    });
    if tickets.len() > limit {
        tickets.truncate(limit);
        more = true;
    }
    let next = more.then(|| tickets.last().map(|t| Cursor::after(t).encode()));
    // Replies the provider refused are tried again as agents work the queue, a few tickets
    // per listing so that a provider outage does not slow the list down much.
    let mut retried = 0;
    for ticket in tickets.iter_mut() {
        if ticket.undelivered.is_empty() || retried == RESENDS_PER_LISTING {
            continue;
        }
        retried += 1;
        resend_undelivered(&desk, &gate.site, ticket).await;
        if let Ok(current) = desk.store.ticket(&ticket.number).await {
            *ticket = current;
        }
    }
    let items: Vec<TicketSummary> = tickets
        .iter()
        .filter(|t| category.is_none_or(|c| t.category == c))
        .filter(|t| {
            assignee
                .as_ref()
                .is_none_or(|a| t.assignee.as_ref() == Some(a))
        })
        .map(TicketSummary::from)
        .collect();
    Ok(Json(json!({ "tickets": items, "next_cursor": next.flatten() })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShowParams {
    /// The `older` cursor of an earlier answer: the messages before it.
    before: Option<String>,
}

async fn show<S: Ports, B: BlobStore, M: Mailer>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    params: Result<Query<ShowParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let Query(params) = params.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let before = params
        .before
        .as_deref()
        .map(ThreadCursor::parse)
        .transpose()
        .map_err(|e| Problem::invalid_field(e, lang))?;
    let ticket = gate.ticket(&number, Access::Referral).await?;
    // A reply the provider refused earlier is tried again whenever the ticket is opened.
    let ticket = if ticket.undelivered.is_empty() || gate.agent.access(&ticket) < Access::Full {
        ticket
    } else {
        resend_undelivered(&desk, &gate.site, &ticket).await;
        gate.ticket(&number, Access::Referral).await?
    };
    let page = ThreadQuery::newest(before);
    let view =
        TicketView::build(&desk.site, &desk.store, &desk.blobs, &ticket, &page, lang).await?;
    gate.audit(AuditAction::ViewTicket, Some(&ticket.number), String::new())
        .await?;
    Ok(Json(view).into_response())
}

/// How many tickets with undelivered replies one queue listing tries to send again.
const RESENDS_PER_LISTING: usize = 3;

/// Sends again every public reply of the ticket the provider has not taken yet.
async fn resend_undelivered<S: Ports, B: BlobStore, M: Mailer>(
    desk: &AgentDesk<S, B, M>,
    site: &Site,
    ticket: &Ticket,
) {
    // Replies wait for the provider for minutes, not a hundred messages.
    let newest = ThreadQuery::newest(None);
    let Ok((_, page)) = desk.store.thread_page(&ticket.number, &newest).await else {
        return;
    };
    for message in page
        .items
        .iter()
        .filter(|m| ticket.undelivered.contains(&m.id))
    {
        if let Err(error) = send_reply(
            site,
            &desk.store,
            &desk.blobs,
            &desk.mailer,
            &ticket.number,
            message,
        )
        .await
        {
            tracing::warn!(%error, ticket = %ticket.number, "reply still not delivered");
        }
    }
}

fn text_field(text: Option<&str>) -> Result<Body, FieldError> {
    Body::parse_field("text", text.unwrap_or(""))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReplyRequest {
    text: Option<String>,
    status: Option<String>,
}

fn status_change(
    ticket: &Ticket,
    to: Option<Status>,
    lang: Lang,
) -> Result<Option<Status>, Problem> {
    to.map(|to| {
        ticket.status.transition_to(to).map_err(|_| {
            Problem::invalid_field(FieldError::new("status", FieldProblem::InvalidFormat), lang)
                .with_detail(format!("{} → {}", ticket.status.wire(), to.wire()))
        })
    })
    .transpose()
}

/// Files an agent may attach to one reply: what a citizen's mailbox takes comfortably, and
/// within Lambda's 6 MB request once encoded.
pub const MAX_REPLY_FILES: usize = 5;
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// The largest reply request read: the files plus room for the text and the form's parts.
pub const MAX_REPLY_REQUEST_BYTES: usize = MAX_REPLY_BYTES + 128 * 1024;
const _: () = assert!(ventanilla_web::fits_lambda_payload(MAX_REPLY_REQUEST_BYTES));

/// A reply as JSON (`{text, status?}`) or as multipart (`text`, `status`, files in
/// `attachments`).
async fn read_reply(
    request: axum::extract::Request,
    lang: Lang,
) -> Result<(ReplyRequest, Vec<(String, String, Vec<u8>)>), Problem> {
    use axum::extract::{FromRequest, Multipart};
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Json(reply) = Json::<ReplyRequest>::from_request(request, &())
            .await
            .map_err(|e| Problem::bad_request(lang, e.body_text()))?;
        return Ok((reply, Vec::new()));
    }
    // Past the route's body limit the answer is 413, as documented, not a bare 400.
    let unreadable = |status: StatusCode, text: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(lang)
        } else {
            Problem::bad_request(lang, text)
        }
    };
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| unreadable(e.status(), e.body_text()))?;
    let mut reply = ReplyRequest::default();
    let mut files = Vec::new();
    let mut total = 0;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| unreadable(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| unreadable(e.status(), e.body_text()))?;
        match (name.as_str(), file_name) {
            ("attachments", Some(file_name)) if !bytes.is_empty() => {
                total += bytes.len();
                let clean: String = file_name
                    .chars()
                    .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
                    .take(120)
                    .collect();
                files.push((clean, content_type, bytes.to_vec()));
            }
            ("text", _) => reply.text = Some(String::from_utf8_lossy(&bytes).into_owned()),
            ("status", _) if !bytes.is_empty() => {
                reply.status = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    if files.len() > MAX_REPLY_FILES {
        return Err(Problem::invalid_field(
            FieldError::new(
                "attachments",
                FieldProblem::TooManyFiles {
                    max: MAX_REPLY_FILES,
                },
            ),
            lang,
        ));
    }
    if total > MAX_REPLY_BYTES {
        return Err(Problem::invalid_field(
            FieldError::new(
                "attachments",
                FieldProblem::FilesTooLarge {
                    max_bytes: MAX_REPLY_BYTES as u64,
                },
            ),
            lang,
        ));
    }
    Ok((reply, files))
}

async fn reply<S: Ports, B: BlobStore, M: Mailer>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    Path(number): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    let headers = request.headers().clone();
    let gate = Gate::open(&desk, &headers, lang).await?;
    let ticket = gate.ticket(&number, Access::Full).await?;
    let (request, files) = read_reply(request, lang).await?;
    let mut errors = FieldErrors::new();
    let text = text_field(request.text.as_deref())
        .map_err(|e| errors.push(e))
        .ok();
    let status = request
        .status
        .as_deref()
        .and_then(|s| Status::parse(s).map_err(|e| errors.push(e)).ok());
    let (Some(text), true) = (text, errors.is_empty()) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let Ok(own_id) = MailMessageId::parse(&format!(
        "{}@{}",
        uuid::Uuid::now_v7(),
        desk.site.settings.mail_domain
    )) else {
        return Err(Problem::unavailable(lang));
    };
    let folder = uuid::Uuid::now_v7().simple();
    let mut attachments = Vec::with_capacity(files.len());
    for (index, (name, content_type, bytes)) in files.into_iter().enumerate() {
        let key = BlobKey::parse(&format!("attachments/replies/{folder}/{index}"))
            .unwrap_or_else(|_| unreachable!("a uuid and a number make a valid key"));
        let size = bytes.len() as u64;
        let file = AttachmentRef::new(&name, &content_type, size, key.clone());
        let blob = Blob {
            bytes,
            content_type: file.content_type.clone(),
        };
        if let Err(error) = desk.blobs.put(&key, blob).await {
            tracing::error!(%error, "reply attachment not stored");
            let stored: Vec<BlobKey> = attachments
                .iter()
                .map(|a: &AttachmentRef| a.blob.clone())
                .collect();
            attachments::discard(&desk.blobs, &stored).await;
            return Err(Problem::unavailable(lang));
        }
        attachments.push(file);
    }
    let message = Message {
        id: UuidV7.message_id(),
        at: desk.site.clock.now(),
        kind: MessageKind::PublicReply,
        author: Author::Agent(gate.agent.reference()),
        body: text,
        attachments,
        mail: Some(MailMeta {
            message_ids: vec![own_id],
            raw: None,
            ..MailMeta::default()
        }),
    };
    // Stored first, marked undelivered; sent after. A failed send loses nothing.
    let id = message.id;
    let appended = gate
        .append(
            ticket,
            Access::Full,
            |current| {
                Ok(TicketChange {
                    status: status_change(current, status, lang)?,
                    undelivered: Some(id),
                    ..TicketChange::default()
                })
            },
            message.clone(),
        )
        .await;
    let updated = match appended {
        Ok(updated) => updated,
        Err(problem) => {
            // The reply surely did not land (refused, not the store's failure, after which
            // it may have): its files belong to no ticket.
            if problem.status != 503 {
                let stored: Vec<BlobKey> =
                    message.attachments.iter().map(|a| a.blob.clone()).collect();
                attachments::discard(&desk.blobs, &stored).await;
            }
            return Err(problem);
        }
    };
    gate.audit(
        AuditAction::Reply,
        Some(&updated.number),
        status.map_or(String::new(), |s| format!("status {}", s.wire())),
    )
    .await?;
    let delivered = match send_reply(
        &gate.site,
        &desk.store,
        &desk.blobs,
        &desk.mailer,
        &updated.number,
        &message,
    )
    .await
    {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, ticket = %updated.number, "reply stored, not yet delivered");
            false
        }
    };
    let current = desk
        .store
        .ticket(&updated.number)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    let answer = json!({
        "message_id": id.to_string(),
        "delivered": delivered,
        "ticket": TicketSummary::from(&current),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoteRequest {
    text: Option<String>,
}

async fn note<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let ticket = gate.ticket(&number, Access::Referral).await?;
    let Json(request) = body.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let text = text_field(request.text.as_deref()).map_err(|e| Problem::invalid_field(e, lang))?;
    let message = Message {
        id: UuidV7.message_id(),
        at: desk.site.clock.now(),
        kind: MessageKind::InternalNote,
        author: Author::Agent(gate.agent.reference()),
        body: text,
        attachments: Vec::new(),
        mail: None,
    };
    let id = message.id;
    let updated = gate
        .append(
            ticket,
            Access::Referral,
            |_| Ok(TicketChange::default()),
            message,
        )
        .await?;
    gate.audit(AuditAction::Note, Some(&updated.number), String::new())
        .await?;
    let answer = json!({ "message_id": id.to_string(), "ticket": TicketSummary::from(&updated) });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangeRequest {
    version: Option<u64>,
    status: Option<String>,
    priority: Option<String>,
    /// `null` unassigns; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<String>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn change<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<ChangeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let ticket = gate.ticket(&number, Access::Full).await?;
    let Json(request) = body.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let mut errors = FieldErrors::new();
    let Some(version) = request.version else {
        errors.push(FieldError::new("version", FieldProblem::Required));
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let status = request
        .status
        .as_deref()
        .and_then(|s| Status::parse(s).map_err(|e| errors.push(e)).ok());
    let priority = request
        .priority
        .as_deref()
        .and_then(|p| Priority::parse(p).map_err(|e| errors.push(e)).ok());
    let assignee = match &request.assignee {
        None => None,
        Some(None) => Some(None),
        Some(Some(id)) => match AgentId::parse(id) {
            Ok(id) => Some(Some(id)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(&errors, lang));
    }
    if ticket.version != version {
        return Err(Problem::conflict(lang, json!(TicketSummary::from(&ticket))));
    }
    if let Some(target) = &assignee {
        // Taking or leaving a ticket oneself is an agent's work; assigning others is a
        // supervisor's.
        let own = target.as_ref().is_none_or(|id| id == &gate.agent.id)
            && (target.is_some() || ticket.assignee.as_ref() == Some(&gate.agent.id));
        if !own {
            gate.require(Role::Supervisor)?;
        }
        if let Some(id) = target {
            let colleague = match desk.store.agent(id).await {
                Ok(agent) => agent.active && agent.agency == ticket.agency,
                Err(StoreError::NotFound) => false,
                Err(error) => return Err(unavailable(&error, lang)),
            };
            if !colleague {
                return Err(Problem::invalid_field(
                    FieldError::new("assignee", FieldProblem::UnknownValue),
                    lang,
                ));
            }
        }
    }
    let wanted = Change {
        status,
        priority,
        assignee,
    };
    let clock = desk.site.clock.as_ref();
    let by = gate.agent.reference();
    let changed = match change::apply(&desk.store, clock, &UuidV7, &ticket, version, wanted, by)
        .await
    {
        Ok(changed) => changed,
        Err(ChangeError::Transition(refused)) => {
            return Err(Problem::invalid_field(
                FieldError::new("status", FieldProblem::InvalidFormat),
                lang,
            )
            .with_detail(format!("{} → {}", refused.from.wire(), refused.to.wire())));
        }
        Err(ChangeError::Store(StoreError::VersionConflict)) => {
            let current = desk
                .store
                .ticket(&ticket.number)
                .await
                .map_err(|e| unavailable(&e, lang))?;
            return Err(Problem::conflict(
                lang,
                json!(TicketSummary::from(&current)),
            ));
        }
        Err(ChangeError::Store(error)) => return Err(unavailable(&error, lang)),
    };
    let (updated, Some(detail)) = (changed.ticket, changed.said) else {
        return Ok(Json(TicketSummary::from(&ticket)).into_response());
    };
    gate.audit(AuditAction::Change, Some(&updated.number), detail)
        .await?;
    Ok(Json(TicketSummary::from(&updated)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TransferRequest {
    agency: Option<String>,
    queue: Option<String>,
    note: Option<String>,
    /// Keep read-and-note access for the sending agency (true unless said otherwise).
    keep_referral: Option<bool>,
}

async fn transfer<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<TransferRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let ticket = gate.ticket(&number, Access::Full).await?;
    gate.require(Role::Supervisor)?;
    let Json(request) = body.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let mut errors = FieldErrors::new();
    let target = AgencyCode::parse(request.agency.as_deref().unwrap_or(""))
        .ok()
        .and_then(|code| gate.site.settings.agency(&code).cloned());
    if target.is_none() {
        errors.push(FieldError::new("agency", FieldProblem::UnknownValue));
    }
    let queue = request
        .queue
        .as_deref()
        .and_then(|q| QueueName::parse(q).map_err(|e| errors.push(e)).ok());
    // A queue the agency does not work would hide the ticket from every console.
    if let (Some(target), Some(queue)) = (&target, &queue)
        && !target.queues().contains(queue)
    {
        errors.push(FieldError::new("queue", FieldProblem::UnknownValue));
    }
    let note = Body::parse_field("note", request.note.as_deref().unwrap_or(""))
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(target), Some(note), true) = (target, note, errors.is_empty()) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let queue = queue.unwrap_or_else(|| target.default_queue.clone());
    let keep = request.keep_referral.unwrap_or(true);
    let from = ticket.agency.clone();
    let message = Message {
        id: UuidV7.message_id(),
        at: desk.site.clock.now(),
        kind: MessageKind::InternalNote,
        author: Author::Agent(gate.agent.reference()),
        body: note,
        attachments: Vec::new(),
        mail: None,
    };
    let (code, queue_name) = (target.code.clone(), queue.clone());
    let updated = gate
        .append(
            ticket,
            Access::Full,
            |_| {
                Ok(TicketChange {
                    queue: Some((code.clone(), queue_name.clone())),
                    referral: keep.then(|| from.clone()),
                    assignee: Some(None),
                    ..TicketChange::default()
                })
            },
            message,
        )
        .await?;
    gate.audit(
        AuditAction::Transfer,
        Some(&updated.number),
        format!(
            "{from} -> {}/{}{}",
            target.code,
            queue,
            if keep { " (referral kept)" } else { "" }
        ),
    )
    .await?;
    Ok(Json(TicketSummary::from(&updated)).into_response())
}

async fn audit<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let ticket = gate.ticket(&number, Access::Full).await?;
    gate.require(Role::Admin)?;
    let entries = desk
        .store
        .ticket_audit(&ticket.number)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// The agents an admin may manage: those of the admin's agency.
async fn managed_agent<S: Ports, B, M>(
    gate: &Gate<'_, S, B, M>,
    id: &str,
) -> Result<Agent, Problem> {
    gate.require(Role::Admin)?;
    let not_found = || Problem::not_found(gate.lang);
    let id = AgentId::parse(id).map_err(|_| not_found())?;
    match gate.desk.store.agent(&id).await {
        // Nobody manages someone above them: an admin rotating an operator's token would
        // become one.
        Ok(agent) if agent.agency == gate.agent.agency && agent.role > gate.agent.role => {
            Err(Problem::forbidden(gate.lang))
        }
        Ok(agent) if agent.agency == gate.agent.agency => Ok(agent),
        Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
        Err(error) => Err(unavailable(&error, gate.lang)),
    }
}

fn agent_json(agent: &Agent) -> serde_json::Value {
    json!({
        "id": agent.id.as_str(),
        "name": agent.name,
        "agency": agent.agency.as_str(),
        "role": agent.role.wire(),
        "active": agent.active,
        "created_at": agent.created_at.to_string(),
    })
}

async fn agents<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    gate.require(Role::Supervisor)?;
    let agents = desk
        .store
        .agents(&gate.agent.agency)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    let listed: Vec<_> = agents.iter().map(agent_json).collect();
    Ok(Json(json!({ "agents": listed })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewAgentRequest {
    id: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

async fn add_agent<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    body: Result<Json<NewAgentRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    gate.require(Role::Admin)?;
    let Json(request) = body.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let mut errors = FieldErrors::new();
    let id = AgentId::parse(request.id.as_deref().unwrap_or(""))
        .map_err(|_| FieldError::new("id", FieldProblem::InvalidFormat))
        .map_err(|e| errors.push(e))
        .ok();
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 100)
        .map(str::to_owned);
    if name.is_none() {
        errors.push(FieldError::new("name", FieldProblem::Required));
    }
    let role = Role::parse(request.role.as_deref().unwrap_or("agent"))
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(id), Some(name), Some(role), true) = (id, name, role, errors.is_empty()) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    // Nobody hands out more than they hold: an admin cannot make an operator.
    if role > gate.agent.role {
        return Err(Problem::forbidden(lang));
    }
    let (agent, token) = match agents::create(
        &desk.store,
        desk.site.clock.as_ref(),
        id,
        name,
        gate.agent.agency.clone(),
        role,
    )
    .await
    {
        Ok(made) => made,
        Err(StoreError::AlreadyExists) => {
            return Err(Problem::invalid_field(
                FieldError::new("id", FieldProblem::AlreadyTaken),
                lang,
            ));
        }
        Err(error) => return Err(unavailable(&error, lang)),
    };
    gate.audit(
        AuditAction::ManageAgent,
        None,
        format!("added {} ({})", agent.id.as_str(), agent.role.wire()),
    )
    .await?;
    let mut answer = agent_json(&agent);
    answer["token"] = json!(token.expose());
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn disable_agent<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let mut agent = managed_agent(&gate, &id).await?;
    if agent.id == gate.agent.id {
        // An admin who disables themselves may be the agency's last one: nobody could undo it.
        return Err(Problem::forbidden(lang)
            .with_detail("An admin cannot disable themselves / Un administrador no puede desactivarse a sí mismo"));
    }
    agent.active = false;
    desk.store
        .save_agent(&agent)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    gate.audit(
        AuditAction::ManageAgent,
        None,
        format!("disabled {}", agent.id.as_str()),
    )
    .await?;
    Ok(Json(agent_json(&agent)).into_response())
}

async fn rotate_token<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let mut agent = managed_agent(&gate, &id).await?;
    let token = AgentToken::generate();
    agent.token_hash = token.hash();
    desk.store
        .save_agent(&agent)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    gate.audit(
        AuditAction::ManageAgent,
        None,
        format!("new token for {}", agent.id.as_str()),
    )
    .await?;
    let mut answer = agent_json(&agent);
    answer["token"] = json!(token.expose());
    Ok(Json(answer).into_response())
}

fn agency_json(agency: &ventanilla_domain::agencies::Agency) -> serde_json::Value {
    json!({
        "code": agency.code.as_str(),
        "name": agency.name,
        "response_days": agency.response_days,
        "default_queue": agency.default_queue.as_str(),
        "queues_by_category": agency
            .queues_by_category
            .iter()
            .map(|(c, q)| (c.wire().to_owned(), json!(q.as_str())))
            .collect::<serde_json::Map<_, _>>(),
        "follow_ups": agency.follow_ups,
        "queues": agency.queues().iter().map(QueueName::as_str).collect::<Vec<_>>(),
    })
}

/// Every agency, as it stands now: any agent may see them (a transfer names one).
async fn agencies<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let listed: Vec<_> = gate
        .site
        .settings
        .agencies
        .iter()
        .map(agency_json)
        .collect();
    Ok(Json(json!({ "agencies": listed })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AgencyRequest {
    name: Option<String>,
    response_days: Option<u32>,
    default_queue: Option<String>,
    queues_by_category: std::collections::BTreeMap<String, String>,
    follow_ups: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Creates or replaces an agency with its queues and their follow-up rules (admins). It
/// takes effect on every function's next request.
async fn save_agency<S: Ports, B, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Result<Json<AgencyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    use ventanilla_domain::inbound::FinishedTicketRule;
    let gate = Gate::open(&desk, &headers, lang).await?;
    gate.require(Role::Admin)?;
    // An admin manages their own agency; creating or changing another is an operator's.
    if AgencyCode::parse(&code).map_or(true, |code| code != gate.agent.agency) {
        gate.require(Role::Operator)?;
    }
    let Json(request) = body.map_err(|e| Problem::bad_request(lang, e.body_text()))?;
    let mut errors = FieldErrors::new();
    let code = field(&mut errors, AgencyCode::parse(&code));
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 200)
        .map(str::to_owned);
    if name.is_none() {
        errors.push(FieldError::new("name", FieldProblem::Required));
    }
    let response_days = request.response_days.filter(|d| (1..=365).contains(d));
    if response_days.is_none() {
        errors.push(FieldError::new(
            "response_days",
            FieldProblem::InvalidFormat,
        ));
    }
    let default_queue = field(
        &mut errors,
        QueueName::parse(request.default_queue.as_deref().unwrap_or(""))
            .map_err(|_| FieldError::new("default_queue", FieldProblem::InvalidFormat)),
    );
    let mut queues_by_category = std::collections::BTreeMap::new();
    for (category, queue) in &request.queues_by_category {
        match (Category::parse(category), QueueName::parse(queue)) {
            (Ok(category), Ok(queue)) => {
                queues_by_category.insert(category, queue);
            }
            _ => errors.push(FieldError::new(
                "queues_by_category",
                FieldProblem::InvalidFormat,
            )),
        }
    }
    let mut follow_ups = std::collections::BTreeMap::new();
    for (queue, rule) in &request.follow_ups {
        match (
            QueueName::parse(queue),
            serde_json::from_value::<FinishedTicketRule>(rule.clone()),
        ) {
            (Ok(queue), Ok(rule)) => {
                follow_ups.insert(queue, rule);
            }
            _ => errors.push(FieldError::new("follow_ups", FieldProblem::InvalidFormat)),
        }
    }
    let (Some(code), Some(name), Some(response_days), Some(default_queue), true) =
        (code, name, response_days, default_queue, errors.is_empty())
    else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let agency = ventanilla_domain::agencies::Agency {
        code,
        name,
        response_days,
        default_queue,
        queues_by_category,
        follow_ups,
    };
    // A queue that goes away while it holds tickets would hide them from every console.
    if let Some(before) = gate.site.settings.agency(&agency.code) {
        let kept = agency.queues();
        for removed in before.queues().into_iter().filter(|q| !kept.contains(q)) {
            let query = QueueQuery {
                agency: agency.code.clone(),
                queue: removed.clone(),
                status: None,
                limit: 1,
                after: None,
                oldest_first: false,
            };
            let held = desk
                .store
                .queue(&query)
                .await
                .map_err(|e| unavailable(&e, lang))?;
            if !held.items.is_empty() {
                errors.push(FieldError::new(
                    "queues",
                    FieldProblem::HoldsTickets {
                        queue: removed.as_str().to_owned(),
                    },
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Problem::invalid_fields(&errors, lang));
        }
    }
    desk.store
        .save_agency(&agency)
        .await
        .map_err(|e| unavailable(&e, lang))?;
    gate.audit(
        AuditAction::ManageAgency,
        None,
        format!("saved agency {}", agency.code),
    )
    .await?;
    Ok(Json(agency_json(&agency)).into_response())
}

/// A requester, named by the address their tickets were opened with.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RequesterRequest {
    email: Option<String>,
}

/// The requester's tickets the admin's agency holds (an agency answers for the personal
/// data in its own tickets; another agency's are its own to export or erase).
async fn requester_tickets<S: Ports, B, M>(
    gate: &Gate<'_, S, B, M>,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Vec<Ticket>, Problem> {
    gate.require(Role::Admin)?;
    let Json(request) = body.map_err(|e| Problem::bad_request(gate.lang, e.body_text()))?;
    let email = Email::parse(request.email.as_deref().unwrap_or(""))
        .map_err(|e| Problem::invalid_field(e, gate.lang))?;
    let tickets = gate
        .desk
        .store
        .requester_tickets(&email)
        .await
        .map_err(|e| unavailable(&e, gate.lang))?;
    Ok(tickets
        .into_iter()
        .filter(|t| t.agency == gate.agent.agency)
        .collect())
}

/// Everything the agency holds about a requester (their right of access), each ticket with
/// its whole thread and attachment links; each export is in the ticket's audit trail.
async fn export_requester<S: Ports, B: BlobStore, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let tickets = requester_tickets(&gate, body).await?;
    let mut views = Vec::with_capacity(tickets.len());
    // The right of access is to all of it: every message, not a page.
    let whole = ThreadQuery::whole();
    for ticket in &tickets {
        views.push(
            TicketView::build(&desk.site, &desk.store, &desk.blobs, ticket, &whole, lang).await?,
        );
    }
    for ticket in &tickets {
        gate.audit(
            AuditAction::ExportPersonalData,
            Some(&ticket.number),
            String::new(),
        )
        .await?;
    }
    Ok(Json(json!({
        "agency": gate.agent.agency.as_str(),
        "exported_at": desk.site.clock.now().to_string(),
        "tickets": views,
    }))
    .into_response())
}

/// Erases a requester's personal data from every ticket the agency holds (their right of
/// erasure; `privacy` says what goes and what stays). Each erasure is in the ticket's audit
/// trail. Asked again, it finds nothing: the address is gone from the tickets.
async fn erase_requester<S: Ports, B: BlobStore, M>(
    State(desk): Desk<S, B, M>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    body: Result<Json<RequesterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let gate = Gate::open(&desk, &headers, lang).await?;
    let tickets = requester_tickets(&gate, body).await?;
    let mut erased = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        privacy::erase_ticket(
            &desk.store,
            &desk.blobs,
            &ticket.number,
            &gate.agent.id,
            desk.site.clock.now(),
            "a pedido del titular de los datos",
        )
        .await
        .map_err(|error| {
            tracing::error!(%error, ticket = %ticket.number, "erasure not finished");
            Problem::unavailable(lang)
        })?;
        erased.push(ticket.number.to_string());
    }
    Ok(Json(json!({ "erased": erased })).into_response())
}
