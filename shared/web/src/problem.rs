//! Error answers as RFC 9457 problem details, in the request's language, naming each bad
//! field. Nothing internal (store errors, SDK messages) reaches an answer; it goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use ventanilla_app::AppError;
use ventanilla_domain::Choice;
use ventanilla_domain::{FieldError, FieldErrors, FieldProblem, Lang};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblemEntry>,
    /// The resource as it is now, for a 409 after a stale update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<serde_json::Value>>,
    #[serde(skip)]
    lang: Lang,
    #[serde(skip)]
    retry_after: Option<u64>,
}

/// One bad field: its name, a stable code for programs and a sentence for people.
#[derive(Debug, Clone, Serialize)]
pub struct FieldProblemEntry {
    pub field: &'static str,
    #[serde(flatten)]
    pub problem: FieldProblem,
    pub detail: String,
}

impl Problem {
    fn new(kind: &'static str, status: StatusCode, lang: Lang, es: &str, en: &str) -> Self {
        Problem {
            kind,
            title: match lang {
                Lang::Es => es.to_owned(),
                Lang::En => en.to_owned(),
            },
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            current: None,
            lang,
            retry_after: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 422: one entry per bad field.
    pub fn invalid_fields(errors: &FieldErrors, lang: Lang) -> Self {
        let mut problem = Problem::new(
            "/problems/invalid-fields",
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "Hay campos con errores",
            "Some fields are not valid",
        );
        problem.errors = errors.iter().map(|e| entry(e, lang)).collect();
        problem
    }

    pub fn invalid_field(error: FieldError, lang: Lang) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(error);
        Problem::invalid_fields(&errors, lang)
    }

    pub fn not_found(lang: Lang) -> Self {
        Problem::new(
            "/problems/not-found",
            StatusCode::NOT_FOUND,
            lang,
            "No se encontró",
            "Not found",
        )
    }

    pub fn too_many_requests(lang: Lang, retry_after_seconds: u64) -> Self {
        let mut problem = Problem::new(
            "/problems/too-many-requests",
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            "Demasiados intentos; vuelva a intentarlo más tarde",
            "Too many attempts; please try again later",
        );
        problem.retry_after = Some(retry_after_seconds);
        problem
    }

    pub fn payload_too_large(lang: Lang) -> Self {
        Problem::new(
            "/problems/payload-too-large",
            StatusCode::PAYLOAD_TOO_LARGE,
            lang,
            "La solicitud es demasiado grande",
            "The request is too large",
        )
    }

    pub fn unsupported_media_type(lang: Lang) -> Self {
        Problem::new(
            "/problems/unsupported-media-type",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            lang,
            "Envíe application/json o multipart/form-data",
            "Send application/json or multipart/form-data",
        )
    }

    pub fn bad_request(lang: Lang, detail: impl Into<String>) -> Self {
        Problem::new(
            "/problems/bad-request",
            StatusCode::BAD_REQUEST,
            lang,
            "La solicitud no se pudo leer",
            "The request could not be read",
        )
        .with_detail(detail)
    }

    /// A JSON body a route could not read: too large (413), or not JSON of its shape (400).
    pub fn from_json_rejection(
        rejection: &axum::extract::rejection::JsonRejection,
        lang: Lang,
    ) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(lang)
        } else {
            Problem::bad_request(lang, rejection.body_text())
        }
    }

    /// 503: a store or provider is down. The request can be repeated (with the same
    /// idempotency key, nothing is created twice).
    pub fn unavailable(lang: Lang) -> Self {
        let mut problem = Problem::new(
            "/problems/unavailable",
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            "El servicio no está disponible en este momento; intente de nuevo en unos minutos",
            "The service is unavailable right now; please try again in a few minutes",
        );
        problem.retry_after = Some(30);
        problem
    }

    /// 401: no token, or one that opens nothing.
    pub fn unauthorized(lang: Lang) -> Self {
        Problem::new(
            "/problems/unauthorized",
            StatusCode::UNAUTHORIZED,
            lang,
            "Se requiere un token de agente válido (Authorization: Bearer …)",
            "A valid agent token is required (Authorization: Bearer …)",
        )
    }

    /// 403: the agent is known but its role or access does not allow this.
    pub fn forbidden(lang: Lang) -> Self {
        Problem::new(
            "/problems/forbidden",
            StatusCode::FORBIDDEN,
            lang,
            "Su rol no permite esta acción",
            "Your role does not allow this",
        )
    }

    /// 409: someone changed the resource since the version the client saw.
    pub fn conflict(lang: Lang, current: serde_json::Value) -> Self {
        let mut problem = Problem::new(
            "/problems/version-conflict",
            StatusCode::CONFLICT,
            lang,
            "Otra persona modificó el ticket; revise su estado actual",
            "Someone else changed the ticket; review its current state",
        );
        problem.current = Some(Box::new(current));
        problem
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

impl Problem {
    /// The one answer to a use case's error. A failure of the service (a store, the blobs,
    /// the mail provider) is logged with its causes and answered 503, saying nothing
    /// internal.
    pub fn from_app(error: AppError, lang: Lang) -> Self {
        match error {
            AppError::Invalid(errors) => Problem::invalid_fields(&errors, lang),
            AppError::Transition(refused) => {
                Problem::invalid_field(FieldError::new("status", FieldProblem::InvalidFormat), lang)
                    .with_detail(format!("{} → {}", refused.from.wire(), refused.to.wire()))
            }
            AppError::NotFound => Problem::not_found(lang),
            AppError::Unauthorized => Problem::unauthorized(lang),
            AppError::Forbidden => Problem::forbidden(lang),
            AppError::NotAllowed(reason) => Problem::forbidden(lang).with_detail(reason),
            AppError::TooMany { retry_after } => {
                Problem::too_many_requests(lang, retry_after.as_secs())
            }
            AppError::Conflict(current) => Problem::conflict(
                lang,
                serde_json::json!({
                    "number": current.number.as_str(),
                    "version": current.version,
                }),
            ),
            error => {
                let mut causes = Vec::new();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    causes.push(cause.to_string());
                    source = cause.source();
                }
                tracing::error!(%error, ?causes, "request failed");
                Problem::unavailable(lang)
            }
        }
    }
}

fn entry(error: &FieldError, lang: Lang) -> FieldProblemEntry {
    FieldProblemEntry {
        field: error.field,
        problem: error.problem.clone(),
        detail: error.message(lang),
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status_code(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(self.lang.code()),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == 401 {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
