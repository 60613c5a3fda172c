//! "Mis trámites": `GET /mis-tramites` asks for the address, `POST` mails it the sign-in link
//! (ticket-status serves the list the link opens).

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ventanilla_app::{AppError, Desk, Site};
use ventanilla_domain::ports::{AgencyDirectory, Mailer, Throttle, TicketStore};
use ventanilla_domain::{Email, Lang};
use ventanilla_web::pages::{Frame, MyTicketsFormPage, html, notice};
use ventanilla_web::texts::texts;
use ventanilla_web::{Problem, RequestLang, Source};

use crate::handler::current_site;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignInRequest {
    email: String,
}

/// `GET /mis-tramites`: the address to send the link to.
pub(crate) async fn my_tickets_form<S, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
) -> Response {
    html(
        StatusCode::OK,
        &my_tickets_page(&desk.site, lang, String::new(), None, false),
    )
}

fn my_tickets_page(
    site: &Site,
    lang: Lang,
    email: String,
    email_error: Option<String>,
    sent: bool,
) -> MyTicketsFormPage {
    MyTicketsFormPage {
        frame: Frame::new(
            lang,
            &site.settings.site_name,
            "/mis-tramites",
            texts(lang).mine_title,
        ),
        email,
        email_error,
        sent,
    }
}

/// `POST /mis-tramites`: the same page ("if there are tickets, a link is on its way")
/// whether or not the address has any.
pub(crate) async fn send_sign_in_link<S, B, M>(
    State(desk): State<Arc<Desk<S, B, M>>>,
    RequestLang(lang): RequestLang,
    source: Source,
    headers: HeaderMap,
    form: Result<Form<SignInRequest>, axum::extract::rejection::FormRejection>,
) -> Response
where
    S: TicketStore + Throttle + AgencyDirectory,
    M: Mailer,
{
    // Asked from this site only: another site's page cannot have its visitors' browsers
    // spend an address's asks (browsers say where a form came from).
    if ventanilla_web::request::cross_site(&headers) {
        return Problem::forbidden(lang).into_response();
    }
    let site = &match current_site(&desk, lang).await {
        Ok(site) => site,
        Err(unavailable) => return unavailable,
    };
    let t = texts(lang);
    let mut typed = form.map(|Form(f)| f.email).unwrap_or_default();
    // Shown again as typed, up to an address's longest.
    if let Some((cut, _)) = typed.char_indices().nth(254) {
        typed.truncate(cut);
    }
    let email = match Email::parse(&typed) {
        Ok(email) => email,
        Err(error) => {
            let page = my_tickets_page(site, lang, typed, Some(error.message(lang)), false);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let back = format!("/mis-tramites?lang={}", lang.code());
    let name = &site.settings.site_name;
    match desk
        .send_sign_in_link(site, &email, source.address(), lang)
        .await
    {
        Ok(()) => html(
            StatusCode::OK,
            &my_tickets_page(site, lang, String::new(), None, true),
        ),
        Err(AppError::TooMany { retry_after }) => {
            let problem = Problem::too_many_requests(lang, retry_after.as_secs());
            notice(lang, name, "/mis-tramites", &problem, t.too_many, back)
        }
        Err(error) => {
            tracing::error!(%error, "a sign-in link could not be sent");
            let problem = Problem::unavailable(lang);
            notice(lang, name, "/mis-tramites", &problem, t.unavailable, back)
        }
    }
}
