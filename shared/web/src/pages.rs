//! The citizen's pages, rendered by askama templates (`templates/`) with HTML escaping on
//! for everything: a name or subject a citizen typed is shown as text, never as markup.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ventanilla_domain::{FieldErrors, Lang};

use crate::texts::{Texts, texts};

/// The frame every page shares: language, texts, the link to the other language.
#[derive(Debug, Clone)]
pub struct Frame {
    pub lang: Lang,
    pub t: &'static Texts,
    pub site_name: String,
    /// This page in the other language.
    pub other_lang_href: String,
    pub title: String,
}

impl Frame {
    pub fn new(lang: Lang, site_name: &str, path: &str, title: impl Into<String>) -> Self {
        let t = texts(lang);
        Frame {
            lang,
            t,
            site_name: site_name.to_owned(),
            other_lang_href: format!("{path}?lang={}", t.other_language),
            title: title.into(),
        }
    }
}

/// One option of a select.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl SelectOption {
    pub fn list<'a>(
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
        current: &str,
    ) -> Vec<SelectOption> {
        options
            .into_iter()
            .map(|(value, label)| SelectOption {
                value: value.to_owned(),
                label: label.to_owned(),
                selected: value == current,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Email,
    Tel,
    Select,
    TextArea,
}

/// One form field as the template draws it: label, hint, the value the citizen typed, and the
/// error next to it.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub value: String,
    pub options: Vec<SelectOption>,
    pub required: bool,
    pub hint: Option<&'static str>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
    pub max_length: usize,
}

impl FieldView {
    pub fn new(name: &'static str, label: &'static str, kind: FieldKind, value: &str) -> Self {
        FieldView {
            name,
            label,
            kind,
            value: value.to_owned(),
            options: Vec::new(),
            required: true,
            hint: None,
            error: None,
            autocomplete: "off",
            max_length: 0,
        }
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn options(mut self, options: Vec<SelectOption>) -> Self {
        self.options = options;
        self
    }

    pub fn autocomplete(mut self, token: &'static str) -> Self {
        self.autocomplete = token;
        self
    }

    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = max;
        self
    }

    pub fn is(&self, kind: FieldKind) -> bool {
        self.kind == kind
    }

    /// The ids the input is described by: its hint and its error.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        ids.join(" ")
    }
}

/// Puts each error next to its field; errors of fields the form does not show go to the
/// summary only.
pub fn attach_errors(fields: &mut [FieldView], errors: &FieldErrors, lang: Lang) {
    for field in fields {
        field.error = errors.for_field(field.name).map(|e| e.message(lang));
    }
}

#[derive(Debug, Template)]
#[template(path = "ticket_form.html")]
pub struct TicketFormPage {
    pub frame: Frame,
    pub fields: Vec<FieldView>,
    /// (field id, label, message) for the summary at the top.
    pub summary: Vec<(String, String)>,
    pub screenshots_error: Option<String>,
    pub idempotency_token: String,
    pub max_screenshots: usize,
    /// What the form's script checks before sending (the server checks again): the total
    /// size of the screenshots, and the sentences it shows past either limit.
    pub max_screenshot_bytes: u64,
    pub too_many_screenshots: String,
    pub too_large_screenshots: String,
}

#[derive(Debug, Template)]
#[template(path = "ticket_created.html")]
pub struct TicketCreatedPage {
    pub frame: Frame,
    pub number: String,
    pub access_url: String,
}

#[derive(Debug, Template)]
#[template(path = "status_form.html")]
pub struct StatusFormPage {
    pub frame: Frame,
    pub email: String,
    pub number: String,
    pub id_number: String,
    pub email_error: Option<String>,
    pub number_error: Option<String>,
    pub id_number_error: Option<String>,
    pub not_found: bool,
}

#[derive(Debug, Clone)]
pub struct AttachmentView {
    pub name: String,
    pub size: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct MessageView {
    pub at: String,
    pub from_citizen: bool,
    pub text: String,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    pub frame: Frame,
    pub number: String,
    pub status: String,
    pub category: String,
    pub subject: String,
    pub created_at: String,
    pub updated_at: String,
    /// The answer's due date, as a person reads it.
    pub due_on: Option<String>,
    /// While the term's clock is stopped: since when and the day it runs again, as read.
    pub stopped: Option<(String, String)>,
    /// The number asked for, when it was merged into the ticket shown.
    pub merged_from: Option<String>,
    pub messages: Vec<MessageView>,
    /// What became of the answer just sent, said at the top.
    pub notice: Option<String>,
    pub answer: Option<AnswerForm>,
}

/// The status page's answer form: the answer token it is sent under, the link to return to
/// and the files' limits.
#[derive(Debug, Clone)]
pub struct AnswerForm {
    /// `None` for a page found with an address and a number (knowing them is not enough to
    /// write in the citizen's name): it says to open the mailed link instead.
    pub access: Option<String>,
    pub back: Option<String>,
    pub idempotency_token: String,
    /// Finished, in a queue that takes no more: it says so instead of a form.
    pub closed: bool,
    /// The ticket has an address: answering the mail works too.
    pub by_mail: bool,
    pub max_chars: usize,
    pub max_files: usize,
    pub max_bytes: u64,
    pub too_many: String,
    pub too_large: String,
}

/// "Mis trámites": the address to send the sign-in link to, or that it was sent.
#[derive(Debug, Template)]
#[template(path = "my_tickets_form.html")]
pub struct MyTicketsFormPage {
    pub frame: Frame,
    pub email: String,
    pub email_error: Option<String>,
    pub sent: bool,
}

/// One ticket in "Mis trámites".
#[derive(Debug, Clone)]
pub struct MyTicketView {
    pub number: String,
    /// Its category, not its subject: anyone may have typed the address and the subject.
    pub category: String,
    pub status: String,
    pub agency: String,
    pub last_activity: String,
    /// Its status page, by a fresh access link.
    pub href: String,
}

#[derive(Debug, Template)]
#[template(path = "my_tickets.html")]
pub struct MyTicketsPage {
    pub frame: Frame,
    /// The link's page before it is used: the button that lists (its form's address).
    pub confirm: Option<String>,
    pub tickets: Vec<MyTicketView>,
}

/// One score a rating form offers.
#[derive(Debug, Clone)]
pub struct ScoreChoice {
    pub value: u8,
    pub label: &'static str,
    pub selected: bool,
}

/// A rating link's page: the form, or what was recorded.
#[derive(Debug, Template)]
#[template(path = "rating.html")]
pub struct RatingPage {
    pub frame: Frame,
    pub number: String,
    pub agency: String,
    /// Where the form is sent (`/valorar/<token>`).
    pub action: String,
    pub choices: Vec<ScoreChoice>,
    pub comment: String,
    pub max_comment: usize,
    pub error: Option<String>,
    /// Once rated: what the page says, and the score given in words.
    pub said: Option<String>,
    pub given: Option<String>,
}

/// A page that only says something (too many attempts, service unavailable).
#[derive(Debug, Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub frame: Frame,
    pub text: String,
    pub back_href: String,
}

/// A page that only says something (a refusal, a limit, an outage, what became of a
/// request) with the way back, under the problem's status and its `Retry-After`. `path`: the
/// page's own, for the link to the other language.
pub fn notice(
    lang: Lang,
    site_name: &str,
    path: &str,
    problem: &crate::Problem,
    text: &str,
    back_href: String,
) -> Response {
    let page = NoticePage {
        frame: Frame::new(lang, site_name, path, problem.title.clone()),
        text: text.to_owned(),
        back_href,
    };
    let mut response = html(problem.status_code(), &page);
    if let Some(seconds) = problem.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// Renders a page with its status. A template that fails to render is a bug; it is logged
/// and the citizen gets a plain 500 rather than half a page.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// "12 KB", "1.5 MB": sizes as people read them.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < KB * KB => format!("{} KB", b.div_ceil(KB)),
        b => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
    }
}

/// A moment as a citizen in Ecuador reads it (UTC−5, no daylight saving), in their
/// language: "martes 17 de marzo de 2027, 14:05".
pub fn local_date(at: ventanilla_domain::Timestamp, lang: Lang) -> String {
    let local = at.in_ecuador();
    format!(
        "{}, {}",
        ventanilla_domain::model::time::long_date(local.date_naive(), lang),
        local.format("%H:%M")
    )
}

pub const SITE_CSS: &str = include_str!("../static/site.css");
/// The form's only script: the screenshots' limits, checked before sending.
pub const FORM_JS: &str = include_str!("../static/form.js");
