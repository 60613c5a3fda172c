//! The language walk: every page and mail a citizen can meet, in Spanish and in English, read
//! for the other language's words. What the citizen typed and the agencies' own names are
//! taken out first: they are in whatever language they were written.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::{Answer, Event, Harness, PUBLIC_URL, ticket_json};

/// Words that are only English: a Spanish page showing one says something untranslated.
const ENGLISH: &[&str] = &[
    "the",
    "your",
    "you",
    "and",
    "with",
    "please",
    "send",
    "sent",
    "request",
    "requests",
    "status",
    "open",
    "opened",
    "answer",
    "message",
    "files",
    "file",
    "optional",
    "required",
    "link",
    "date",
    "due",
    "page",
    "number",
    "type",
    "look",
    "back",
    "try",
    "again",
    "here",
    "will",
    "was",
    "has",
    "have",
    "not",
    "this",
    "that",
    "for",
    "from",
    "closed",
    "new",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "activity",
    "agency",
    "subject",
    "category",
    "conversation",
];

/// Words that are only Spanish.
const SPANISH: &[&str] = &[
    "el",
    "la",
    "los",
    "las",
    "del",
    "su",
    "sus",
    "que",
    "por",
    "para",
    "con",
    "una",
    "es",
    "solicitud",
    "solicitudes",
    "enviar",
    "correo",
    "fecha",
    "estado",
    "número",
    "mensaje",
    "respuesta",
    "archivos",
    "opcional",
    "trámites",
    "consultar",
    "abrir",
    "enlace",
    "volver",
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "asunto",
    "categoría",
    "institución",
    "usted",
    "intente",
];

/// What a citizen writes in each language, so that what they typed reads as the page does.
fn typed(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "en" => (
            "Certificate not downloading",
            "When I press download an error shows up.",
        ),
        _ => (
            "No descarga el certificado",
            "Al pulsar descargar aparece un error.",
        ),
    }
}

/// The visible words of a page or mail: tags, attributes, entities and URLs dropped.
fn words(text: &str) -> Vec<String> {
    let mut visible = String::new();
    let mut in_tag = false;
    let mut skip_block = false;
    let lower = text.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("<style") || rest.starts_with("<script") {
            skip_block = true;
        }
        if skip_block && (rest.starts_with("</style>") || rest.starts_with("</script>")) {
            skip_block = false;
        }
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                visible.push(' ');
            }
            _ if !in_tag && !skip_block => visible.push(c),
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    visible
        .split_whitespace()
        // Addresses, paths and ticket numbers (MDT-QUE-2025-00001) are no language's.
        .filter(|w| !w.contains("://") && !w.contains('@') && !w.starts_with('/'))
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .flat_map(|w| {
            w.split(|c: char| !c.is_alphabetic())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The other language's words in `text`, after taking out what is in either language on
/// purpose: what was typed, agency names, the switch to the other language.
fn foreign(text: &str, lang: &str, own: &[&str]) -> BTreeSet<String> {
    let mut text = format!("{text} {}", attribute_text(text));
    for phrase in own {
        text = text.replace(phrase, " ");
    }
    let markers = if lang == "es" { ENGLISH } else { SPANISH };
    words(&text)
        .into_iter()
        .filter(|w| markers.contains(&w.as_str()))
        .collect()
}

fn mail_text(raw: &[u8]) -> String {
    let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
    format!(
        "{}\n{}\n{}",
        parsed.subject().unwrap_or(""),
        parsed.body_text(0).unwrap_or_default(),
        parsed.body_html(0).unwrap_or_default()
    )
}

/// The attribute values a person meets too (a button's text while sending, a bar's label,
/// the files' messages, a picture's text).
fn attribute_text(page: &str) -> String {
    let mut said = String::new();
    for attribute in [
        "data-sending",
        "data-progress",
        "data-too-many",
        "data-too-large",
        "aria-label",
        "title",
        "alt",
        "placeholder",
    ] {
        let marker = format!(" {attribute}=\"");
        for (at, _) in page.match_indices(&marker) {
            let value = page[at + marker.len()..].split('"').next().unwrap_or("");
            said.push(' ');
            said.push_str(value);
        }
    }
    said
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_page_and_mail_a_citizen_meets_is_in_their_language_only() {
    let mut problems = Vec::new();
    for lang in ["es", "en"] {
        let h = Harness::new();
        let (subject, description) = typed(lang);
        let q = format!("?lang={lang}");
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut page = |name: &str, answer: &Answer| {
            seen.push((name.to_owned(), answer.text()));
        };

        page("form", &h.send(Event::get(&format!("/{q}"))).await);
        let mut invalid = ticket_json("maria@example.com");
        invalid["subject"] = json!(subject);
        invalid["description"] = json!(description);
        let fields: Vec<(String, String)> = invalid
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let mut wrong = fields.clone();
        wrong.retain(|(k, _)| k != "email");
        wrong.push(("phone".into(), "12".into()));
        let wrong: Vec<(&str, &str)> = wrong
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        page(
            "form with errors",
            &h.send(Event::post_multipart(
                &format!("/api/v1/tickets{q}"),
                &wrong,
                &[],
            ))
            .await,
        );
        let right: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let created = h
            .send(Event::post_multipart(
                &format!("/api/v1/tickets{q}"),
                &right,
                &[],
            ))
            .await;
        let created = h.follow(&created).await;
        page("ticket opened", &created);
        let created = created.text();
        let link_start = created.find(PUBLIC_URL).unwrap() + PUBLIC_URL.len();
        let status_path = created[link_start..].split('"').next().unwrap().to_owned();

        page(
            "status form",
            &h.send(Event::get(&format!("/estado{q}"))).await,
        );
        page(
            "status not found",
            &h.send(Event::post_form(
                &format!("/estado{q}"),
                &[
                    ("email", "nadie@example.com"),
                    ("number", "MDT-QUE-2025-09999"),
                ],
            ))
            .await,
        );
        let status = h.send(Event::get(&format!("{status_path}{q}"))).await;
        page("status page", &status);
        let status = status.text();
        let answered = h
            .send(Event::post_files(
                &format!("/api/v1/tickets/follow-ups{q}"),
                &[
                    ("access", hidden(&status, "access").as_str()),
                    (
                        "idempotency_token",
                        hidden(&status, "idempotency_token").as_str(),
                    ),
                    ("text", description),
                    ("back", hidden(&status, "back").as_str()),
                ],
                "attachments",
                &[],
            ))
            .await;
        let after = answered.header("location").unwrap().to_owned();
        page(
            "status page after an answer",
            &h.send(Event::get(&after)).await,
        );
        page(
            "answer with an expired link",
            &h.send(Event::post_files(
                &format!("/api/v1/tickets/follow-ups{q}"),
                &[("access", "x.1.y"), ("text", description)],
                "attachments",
                &[],
            ))
            .await,
        );
        let refused = h
            .send(Event::post_files(
                &format!("/api/v1/tickets/follow-ups{q}"),
                &[
                    ("access", hidden(&status, "access").as_str()),
                    ("back", hidden(&status, "back").as_str()),
                    ("text", " "),
                ],
                "attachments",
                &[],
            ))
            .await;
        assert_eq!(refused.status, 422);
        page("answer without text", &refused);
        let big = vec![0u8; 6 * 1024 * 1024];
        let too_big = h
            .send(Event::post_files(
                &format!("/api/v1/tickets/follow-ups{q}"),
                &[
                    ("access", hidden(&status, "access").as_str()),
                    ("text", description),
                ],
                "attachments",
                &[("grande.png", &big)],
            ))
            .await;
        assert_eq!(too_big.status, 413);
        page("answer too large", &too_big);
        // A finished ticket past its queue's 30 days: the answer opens a new one.
        let number = ventanilla_domain::TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        {
            use ventanilla_domain::ports::{Clock, TicketStore};
            let ticket = h.store.ticket(&number).await.unwrap();
            let change = ventanilla_domain::TicketChange::to_status(
                &ticket,
                Some(ventanilla_domain::Status::Resolved),
                h.clock.now(),
                60,
            );
            let update = ventanilla_domain::model::ticket::TicketUpdate {
                number: number.clone(),
                expected_version: ticket.version,
                change,
                message: None,
                mails: Vec::new(),
            };
            h.store.update(update).await.unwrap();
            h.clock.advance(chrono::Duration::days(31));
        }
        // The mailed link (90 days) opens it a month on; the confirmation's lasts a day.
        let mailed = h
            .outbox()
            .iter()
            .map(|m| mail_text(m))
            .find_map(|m| {
                let start = m.find(&format!("{PUBLIC_URL}/estado/"))? + PUBLIC_URL.len();
                Some(m[start..].split_whitespace().next()?.to_owned())
            })
            .unwrap();
        let status_path = mailed;
        let reopened_page = h
            .send(Event::get(&format!("{status_path}{q}")))
            .await
            .text();
        let linked = h
            .send(Event::post_files(
                &format!("/api/v1/tickets/follow-ups{q}"),
                &[
                    ("access", hidden(&reopened_page, "access").as_str()),
                    ("back", hidden(&reopened_page, "back").as_str()),
                    ("idempotency_token", "clave-del-formulario-nuevo"),
                    ("text", description),
                ],
                "attachments",
                &[],
            ))
            .await;
        assert_eq!(linked.status, 200, "{}", linked.text());
        assert!(
            linked.text().contains("MDT-QUE-2025-00002"),
            "{}",
            linked.text()
        );
        page("answer that opened a new ticket", &linked);
        // The rating of the finished ticket, from its mail's link (signed as the site signs).
        let links = ventanilla_app::AccessLinks::new(&[42; 32]).unwrap();
        let follows = ventanilla_domain::Email::parse("maria@example.com")
            .unwrap()
            .match_key();
        let expires = {
            use ventanilla_domain::ports::Clock;
            h.clock.now().plus(chrono::Duration::days(30))
        };
        let rating = format!(
            "/valorar/{}",
            links.rating_token(&number, &follows, expires)
        );
        let amp = format!("&lang={lang}");
        page(
            "rating form",
            &h.send(Event::get(&format!("{rating}?nota=4{amp}"))).await,
        );
        let wrong = h
            .send(Event::post_form(
                &format!("{rating}{q}"),
                &[("score", "9"), ("comment", description)],
            ))
            .await;
        assert_eq!(wrong.status, 422, "{}", wrong.text());
        page("rating with a wrong score", &wrong);
        let rated = h
            .send(Event::post_form(&format!("{rating}{q}"), &[("score", "4")]))
            .await;
        assert_eq!(rated.status, 200, "{}", rated.text());
        page("rating recorded", &rated);
        page(
            "rating given before",
            &h.send(Event::get(&format!("{rating}{q}"))).await,
        );
        page(
            "rating with an expired link",
            &h.send(Event::get(&format!("/valorar/x.1.y{q}"))).await,
        );
        page(
            "my requests",
            &h.send(Event::get(&format!("/mis-tramites{q}"))).await,
        );
        page(
            "my requests, sent",
            &h.send(Event::post_form(
                &format!("/mis-tramites{q}"),
                &[("email", "maria@example.com")],
            ))
            .await,
        );
        page(
            "my requests, not an address",
            &h.send(Event::post_form(
                &format!("/mis-tramites{q}"),
                &[("email", "nada")],
            ))
            .await,
        );
        let mails = h.outbox();
        let sign_in = mails
            .iter()
            .map(|m| mail_text(m))
            .find(|m| m.contains("/mis-tramites/"))
            .unwrap();
        let start = sign_in.find("/mis-tramites/").unwrap();
        let list_path = sign_in[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        let list = format!("{list_path}{q}");
        page("my requests, link", &h.send(Event::get(&list)).await);
        page(
            "my requests, list",
            &h.send(Event::post_form(&list, &[])).await,
        );
        page(
            "my requests, link used",
            &h.send(Event::post_form(&list, &[])).await,
        );
        page(
            "my requests, used link opened",
            &h.send(Event::get(&list)).await,
        );
        let found = h
            .send(Event::post_form(
                &format!("/estado{q}"),
                &[
                    ("email", "maria@example.com"),
                    ("number", "MDT-QUE-2025-00002"),
                ],
            ))
            .await;
        assert!(
            found.text().contains("id=\"answer-by-link\""),
            "{}",
            found.text()
        );
        page("status page found by address", &found);
        for (i, mail) in mails.iter().enumerate() {
            seen.push((format!("mail {i}"), mail_text(mail)));
        }

        // The agencies' names are theirs, in Spanish; what was typed is the citizen's; the
        // other language's name is the switch to it.
        let own: Vec<&str> = vec![
            subject,
            description,
            "Ministerio del Trabajo",
            "Ministerio de Telecomunicaciones y de la Sociedad de la Información",
            "María José Pérez Quishpe",
            // A country's own name, in English too.
            "El Salvador",
            if lang == "es" { "English" } else { "Español" },
        ];
        for (name, text) in &seen {
            let found = foreign(text, lang, &own);
            if !found.is_empty() {
                problems.push(format!("{lang} {name}: {found:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "words of the other language:\n{}",
        problems.join("\n")
    );
}
