//! A request to open a ticket as it came: JSON from a program, or the form's multipart with
//! its screenshots; then the ticket it asks for, every field parsed.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use ventanilla_app::config::Settings;
use ventanilla_app::open_ticket::{FormRequest, NewTicket};
use ventanilla_domain::model::screenshots::{self, Upload};
use ventanilla_domain::model::ticket::IdempotencyKey;
use ventanilla_domain::{FieldError, FieldErrors, FieldProblem};
use ventanilla_web::request::wants_json;

use ventanilla_app::ticket_fields::{self, Address, TicketFields};

/// A submission as read off the wire, before any field is parsed.
#[derive(Debug, Default)]
pub(crate) struct Submission {
    pub fields: TicketFields,
    uploads: Vec<Upload>,
    /// The idempotency key as sent (header or form field).
    pub idempotency: Option<String>,
    honeypot: String,
    /// JSON in, JSON out; forms get pages unless they ask for JSON.
    pub json: bool,
}

/// Why a submission could not be read at all.
pub(crate) enum Unreadable {
    TooLarge,
    UnsupportedType,
    Malformed(String),
}

/// A POST as read off the wire: JSON's bytes, or a multipart form's text fields and files.
#[derive(Debug, Default)]
pub(crate) struct Posted {
    /// The body of a JSON request, unread.
    pub json_body: Option<Bytes>,
    /// A form's text fields, in order.
    pub values: Vec<(String, String)>,
    /// A form's files, sent under `file_field`.
    pub uploads: Vec<Upload>,
    /// The idempotency key as sent (header or form field).
    pub idempotency: Option<String>,
    /// JSON in, JSON out; forms get pages unless they ask for JSON.
    pub json: bool,
}

impl Posted {
    /// Reads JSON, or a multipart form with the files under `file_field`, within the route's
    /// body limit.
    pub(crate) async fn read(request: Request, file_field: &str) -> Result<Posted, Unreadable> {
        let headers = request.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let header_key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if content_type.starts_with("application/json") {
            let body = Bytes::from_request(request, &())
                .await
                .map_err(|rejection| too_large_or(rejection.status(), rejection.body_text()))?;
            return Ok(Posted {
                json_body: Some(body),
                idempotency: header_key,
                json: true,
                ..Posted::default()
            });
        }
        if !content_type.starts_with("multipart/form-data") {
            return Err(Unreadable::UnsupportedType);
        }
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|rejection| too_large_or(rejection.status(), rejection.body_text()))?;
        let mut posted = Posted {
            idempotency: header_key,
            json: wants_json(&headers),
            ..Posted::default()
        };
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| too_large_or(e.status(), e.body_text()))?
        {
            let name = field.name().unwrap_or("").to_owned();
            if name == file_field {
                let file_name = field.file_name().unwrap_or("").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| too_large_or(e.status(), e.body_text()))?;
                // Browsers send an empty part for a file input left empty.
                if !(bytes.is_empty() && file_name.is_empty()) {
                    posted.uploads.push(Upload {
                        file_name,
                        bytes: bytes.to_vec(),
                    });
                }
                continue;
            }
            let value = field
                .text()
                .await
                .map_err(|e| too_large_or(e.status(), e.body_text()))?;
            if name == "idempotency_token" {
                posted.idempotency.get_or_insert(value);
            } else {
                posted.values.push((name, value));
            }
        }
        Ok(posted)
    }
}

impl Submission {
    /// Reads JSON, or a multipart form with its screenshots, within the route's body limit.
    pub(crate) async fn read(request: Request) -> Result<Submission, Unreadable> {
        let posted = Posted::read(request, "screenshots").await?;
        let mut submission = Submission {
            uploads: posted.uploads,
            idempotency: posted.idempotency,
            json: posted.json,
            ..Submission::default()
        };
        if let Some(body) = posted.json_body {
            submission.fields = serde_json::from_slice(&body)
                .map_err(|e| Unreadable::Malformed(format!("JSON: {e}")))?;
        }
        for (name, value) in posted.values {
            if name == "website" {
                submission.honeypot = value;
            } else {
                submission.fields.set(&name, value);
            }
        }
        Ok(submission)
    }

    /// The ticket it asks for, or everything the citizen got wrong, at once. The fields and
    /// the key stay, to draw the form again.
    pub(crate) fn ticket_request(
        &mut self,
        settings: &Settings,
    ) -> Result<FormRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let parsed = ticket_fields::parse(&self.fields, settings, Address::Required);
        if let Err(field_errors) = &parsed {
            for error in field_errors.iter() {
                errors.push(error.clone());
            }
        }
        let screenshots = errors.check(screenshots::check(std::mem::take(&mut self.uploads)));
        let idempotency = self
            .idempotency
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(IdempotencyKey::parse)
            .transpose();
        let idempotency = errors.check(idempotency);
        if !self.honeypot.trim().is_empty() {
            errors.push(FieldError::new("website", FieldProblem::MustBeEmpty));
        }
        let (Ok(parsed), Some(screenshots), Some(idempotency), true) =
            (parsed, screenshots, idempotency, errors.is_empty())
        else {
            return Err(errors);
        };
        Ok(FormRequest {
            ticket: NewTicket {
                agency: parsed.agency.code.clone(),
                queue: parsed.agency.queue_for(parsed.category).clone(),
                category: parsed.category,
                requester: parsed.requester,
                subject: parsed.subject,
                description: parsed.description,
                attachments: Vec::new(),
                mail: None,
                idempotency_key: idempotency,
                linked_to: None,
                channel: ventanilla_domain::Channel::Formulario,
                // `open_from_form` queues the acknowledgement.
                acknowledgement: None,
                alert: None,
                term: None,
            },
            screenshots,
        })
    }
}

fn too_large_or(status: StatusCode, text: String) -> Unreadable {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Unreadable::TooLarge
    } else {
        Unreadable::Malformed(text)
    }
}
