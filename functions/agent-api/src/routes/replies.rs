//! `POST /tickets/{number}/replies`: a public reply, as JSON or multipart with files.

use axum::Json;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use ventanilla_app::reply::{NewReply, ReplyFile};
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::Access;
use ventanilla_domain::ports::{BlobStore, Mailer};
use ventanilla_domain::{Body, FieldError, FieldErrors, FieldProblem, Lang, Status};
use ventanilla_web::{Caller, Problem};

use crate::problem;
use crate::views::TicketSummary;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReplyRequest {
    text: Option<String>,
    status: Option<String>,
    /// The version the agent saw: a ticket that moved since is 409. In a multipart body, a
    /// `version` field.
    version: Option<u64>,
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
) -> Result<(ReplyRequest, Vec<ReplyFile>), Problem> {
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
                files.push(ReplyFile {
                    name: clean,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            ("text", _) => reply.text = Some(String::from_utf8_lossy(&bytes).into_owned()),
            ("status", _) if !bytes.is_empty() => {
                reply.status = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            // Once, and a number: an empty or repeated one is not "no version".
            ("version", _) => {
                let version = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.trim().parse::<u64>().ok())
                    .filter(|_| reply.version.is_none())
                    .ok_or_else(|| {
                        Problem::invalid_field(
                            FieldError::new("version", FieldProblem::InvalidFormat),
                            lang,
                        )
                    })?;
                reply.version = Some(version);
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

pub(crate) async fn reply<S: AgentPorts, B: BlobStore, M: Mailer>(
    Caller { session, lang }: Caller<S, B, M>,
    Path(number): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    let ticket = session
        .ticket(&number, Access::Full)
        .await
        .map_err(|e| problem(e, lang))?;
    let (request, files) = read_reply(request, lang).await?;
    let mut errors = FieldErrors::new();
    let text = errors.check(Body::parse_field(
        "text",
        request.text.as_deref().unwrap_or(""),
    ));
    let status = request
        .status
        .as_deref()
        .and_then(|s| errors.check(Status::parse(s)));
    let (Some(text), true) = (text, errors.is_empty()) else {
        return Err(Problem::invalid_fields(&errors, lang));
    };
    let reply = NewReply {
        text,
        status,
        files,
        seen_version: request.version,
        from_mail: None,
    };
    let replied = session
        .reply(ticket, reply)
        .await
        .map_err(|e| problem(e, lang))?;
    let answer = json!({
        "message_id": replied.message_id.to_string(),
        "delivered": replied.delivered,
        "ticket": TicketSummary::from(&replied.ticket),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
