//! `/estado`, `/estado/<token>` and `POST /api/v1/tickets/lookup`.

use serde_json::json;
use ventanilla_adapters::system::UuidV7;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{IdSource, TicketStore};
use ventanilla_domain::{
    AgentId, AgentRef, Author, Body, Message, MessageKind, TicketChange, TicketNumber,
};

use crate::harness::{Event, Harness, ticket_json};

async fn open(h: &Harness, email: &str) -> (String, String) {
    let answer = h
        .send(Event::post_json("/api/v1/tickets", &ticket_json(email)))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = answer.json();
    (
        body["number"].as_str().unwrap().to_owned(),
        body["access_url"].as_str().unwrap().to_owned(),
    )
}

fn lookup(email: &str, number: &str) -> Event {
    Event::post_json(
        "/api/v1/tickets/lookup",
        &json!({"email": email, "number": number}),
    )
}

async fn add(h: &Harness, number: &str, kind: MessageKind, text: &str) {
    let number = TicketNumber::parse(number).unwrap();
    let ticket = h.store.ticket(&number).await.unwrap();
    h.clock.advance(chrono::Duration::minutes(30));
    use ventanilla_domain::ports::Clock;
    let message = Message {
        id: UuidV7.message_id(),
        at: h.clock.now(),
        kind,
        author: Author::Agent(AgentRef {
            id: AgentId::parse("agente-1").unwrap(),
            name: "Agente".into(),
        }),
        body: Body::parse(text).unwrap(),
        attachments: Vec::new(),
        mail: None,
    };
    h.store
        .update(TicketUpdate {
            number: number.clone(),
            expected_version: ticket.version,
            change: TicketChange::default(),
            message: Some(message),
            mails: Vec::new(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lookup_shows_the_public_thread_oldest_first_and_never_internal_notes() {
    let h = Harness::new();
    let (number, _) = open(&h, "Maria.Perez@Example.com").await;
    add(
        &h,
        &number,
        MessageKind::InternalNote,
        "Nota interna: revisar con talento humano",
    )
    .await;
    add(
        &h,
        &number,
        MessageKind::PublicReply,
        "Estimada María, su trámite fue reasignado.",
    )
    .await;

    let answer = h
        .send(lookup("maria.perez@example.com", &number.to_lowercase()))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["number"], number);
    assert_eq!(body["status"], "new");
    assert_eq!(body["category"], "queja");
    assert_eq!(body["subject"], "Demora en la atención del trámite");
    assert_eq!(body["created_at"], "2025-03-03T14:00:00.000Z");
    assert_eq!(body["updated_at"], "2025-03-03T15:00:00.000Z");
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["author"], "citizen");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains("tres semanas")
    );
    assert_eq!(messages[1]["author"], "agency");
    assert_eq!(messages[1]["at"], "2025-03-03T15:00:00.000Z");
    assert!(!answer.text().contains("Nota interna"));
}

#[tokio::test]
async fn an_unknown_number_and_a_wrong_email_get_the_same_answer() {
    let h = Harness::new();
    let (number, _) = open(&h, "ana@example.com").await;
    let wrong_email = h.send(lookup("otra@example.com", &number)).await;
    let unknown = h
        .send(lookup("ana@example.com", "MDT-QUE-2025-09999"))
        .await;
    assert_eq!(wrong_email.status, 404);
    assert_eq!(unknown.status, 404);
    assert_eq!(wrong_email.body, unknown.body, "byte for byte");
    assert_eq!(
        wrong_email.headers.get("content-type"),
        unknown.headers.get("content-type")
    );
    let malformed = h.send(lookup("ana@example.com", "MDT-2025-1")).await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.json()["errors"][0]["field"], "number");
}

#[tokio::test]
async fn repeated_misses_are_throttled_per_number_and_per_source() {
    let h = Harness::with_limits(|limits| {
        limits.lookup_misses_per_number_per_hour = 3;
        limits.lookup_misses_per_source_per_hour = 5;
    });
    let (number, _) = open(&h, "ana@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            h.send(lookup("guess@example.com", &number)).await.status,
            404
        );
    }
    // The number is being guessed at: every further wrong guess waits...
    let blocked = h.send(lookup("guess@example.com", &number)).await;
    assert_eq!(blocked.status, 429);
    assert!(blocked.header("retry-after").is_some());
    // ...but the misses cost the guesser, not the owner (issue 18, point 10): the right
    // e-mail and the access link still open the ticket.
    assert_eq!(h.send(lookup("ana@example.com", &number)).await.status, 200);
    // From another source, other numbers: the per-source limit.
    for i in 0..5 {
        let miss = h
            .send(lookup("x@example.com", &format!("MDT-QUE-2025-0100{i}")).sent_from("181.39.0.1"))
            .await;
        assert_eq!(miss.status, 404);
    }
    let source_blocked = h
        .send(lookup("x@example.com", "MDT-QUE-2025-02000").sent_from("181.39.0.1"))
        .await;
    assert_eq!(source_blocked.status, 429);
    h.clock.advance(chrono::Duration::hours(1));
    assert_eq!(h.send(lookup("ana@example.com", &number)).await.status, 200);
}

#[tokio::test]
async fn the_status_form_works_without_javascript() {
    let h = Harness::new();
    let (number, _) = open(&h, "ana@example.com").await;
    let form = h.send(Event::get("/estado")).await;
    assert_eq!(form.status, 200);
    assert!(form.text().contains("action=\"/estado?lang=es\""));
    let found = h
        .send(Event::post_form(
            "/estado",
            &[("email", "ana@example.com"), ("number", &number)],
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    assert!(
        found
            .text()
            .contains(&format!("<span id=\"ticket-number\">{number}</span>"))
    );
    assert!(found.text().contains("<dd id=\"ticket-status\">Nuevo</dd>"));
    let missed = h
        .send(Event::post_form(
            "/estado?lang=en",
            &[("email", "otra@example.com"), ("number", &number)],
        ))
        .await;
    assert_eq!(missed.status, 404);
    assert!(missed.text().contains("We found no ticket"));
    assert!(
        missed.text().contains("value=\"otra@example.com\""),
        "values kept"
    );
    let invalid = h
        .send(Event::post_form(
            "/estado",
            &[("email", "x"), ("number", "")],
        ))
        .await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.text().contains("id=\"email-error\""));
    assert!(invalid.text().contains("id=\"number-error\""));
}

#[tokio::test]
async fn the_access_link_opens_the_ticket_until_it_expires() {
    let h = Harness::new();
    let (number, access_url) = open(&h, "ana@example.com").await;
    let path = access_url.strip_prefix(crate::harness::PUBLIC_URL).unwrap();
    let page = h.send(Event::get(path)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains(&number));
    assert!(page.text().contains("mi trámite lleva tres semanas"));

    let tampered = path.replace("00001", "00002");
    assert_eq!(h.send(Event::get(&tampered)).await.status, 404);
    let mut cut = path.to_owned();
    cut.pop();
    assert_eq!(h.send(Event::get(&cut)).await.status, 404);
    h.clock.advance(chrono::Duration::days(91));
    let expired = h.send(Event::get(path)).await;
    assert_eq!(expired.status, 404);
    assert!(expired.text().contains("No encontramos"));
}

#[tokio::test]
async fn what_a_citizen_typed_is_shown_as_text() {
    let h = Harness::new();
    let mut request = ticket_json("ana@example.com");
    request["subject"] = "<img src=x onerror=alert(1)>".into();
    request["description"] = "<script>alert(1)</script>".into();
    let answer = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    let access_url = answer.json()["access_url"].as_str().unwrap().to_owned();
    let path = access_url.strip_prefix(crate::harness::PUBLIC_URL).unwrap();
    let page = h.send(Event::get(path)).await.text();
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("alert(1)"));
}

/// Guesses at a number lock the guesser out, never the owner: after the number's misses
/// are used up, the right e-mail and the signed access link still open the ticket, and a
/// guess still gets 429 (issue 18, point 10).
#[tokio::test]
async fn guesses_at_a_number_never_lock_its_owner_out() {
    let h = Harness::new();
    let (number, access_url) = open(&h, "ana@example.com").await;
    for _ in 0..5 {
        let miss = h
            .send(lookup("guess@example.com", &number).sent_from("181.39.0.7"))
            .await;
        assert_eq!(miss.status, 404);
    }
    let guess = h
        .send(lookup("guess@example.com", &number).sent_from("181.39.0.7"))
        .await;
    assert_eq!(guess.status, 429);
    let path = access_url.strip_prefix(crate::harness::PUBLIC_URL).unwrap();
    assert_eq!(
        h.send(Event::get(path)).await.status,
        200,
        "the access link"
    );
    assert_eq!(
        h.send(lookup("ana@example.com", &number)).await.status,
        200,
        "the right e-mail"
    );
}

/// Issue 21: a ticket's due date, counted on Ecuador's calendar from its opening, is on its
/// status (JSON and page) and in its acknowledgement. A queja has the COA's 30 business
/// days; opened on Carnival Monday 2025 (a rest day, as is Tuesday), it counts as received
/// on Wednesday 5 March and its term starts on the 6th.
#[tokio::test]
async fn the_due_date_is_on_the_status_and_in_the_acknowledgement() {
    let h = Harness::new();
    let (number, access_url) = open(&h, "ana@example.com").await;
    let found = h.send(lookup("ana@example.com", &number)).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["due_on"], "2025-04-16", "{}", found.text());

    let path = access_url.strip_prefix(crate::harness::PUBLIC_URL).unwrap();
    let page = h.send(Event::get(path)).await.text();
    assert!(page.contains("Fecha límite de respuesta"), "{page}");
    assert!(page.contains("miércoles 16 de abril de 2025"), "{page}");

    let outbox = h.outbox();
    let mail = mail_parser::MessageParser::default()
        .parse(&outbox[0])
        .unwrap();
    let text = mail.body_text(0).unwrap();
    assert!(
        text.contains(
            "Le responderemos hasta el miércoles 16 de abril de 2025. \
             Base del plazo: COA, art. 207 (silencio administrativo)."
        ),
        "{text}"
    );

    // The agency asks the citizen to complete the request: the clock stops. If they never
    // answer it runs again after ten business days (Carnival rests on the 3rd and 4th: from
    // the 5th to Tuesday 18 March), and the due date moves ten business days: past Good
    // Friday (18 April) to Thursday 1 May, a working day in 2025 (its rest moved to Friday 2).
    let number = TicketNumber::parse(&number).unwrap();
    let waiting = ventanilla_tests::change_status(
        &h.store,
        h.clock.as_ref(),
        &UuidV7,
        &number,
        1,
        ventanilla_domain::Status::WaitingOnCitizen,
        ventanilla_tests::agent_ref(),
    )
    .await
    .unwrap();
    assert!(waiting.suspended.is_some());
    let found = h.send(lookup("ana@example.com", number.as_str())).await;
    let json = found.json();
    assert_eq!(
        (
            &json["due_on"],
            &json["suspended_since"],
            &json["resumes_on"]
        ),
        (
            &json!("2025-05-01"),
            &json!("2025-03-03"),
            &json!("2025-03-18")
        ),
        "{json}"
    );
    let page = h.send(Event::get(path)).await.text();
    for shown in [
        "Plazo suspendido mientras esperamos su respuesta",
        "lunes 3 de marzo de 2025",
        "martes 18 de marzo de 2025",
        "jueves 1 de mayo de 2025",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    // Once that day has passed the term runs again: no longer shown as suspended.
    h.clock.advance(chrono::Duration::days(16));
    let json = h
        .send(lookup("ana@example.com", number.as_str()))
        .await
        .json();
    assert_eq!(json["due_on"], "2025-05-01");
    assert!(json.get("suspended_since").is_none(), "{json}");
}

/// Issue 21: an information request under the LOTAIP goes only to an agency that takes them
/// (MDT does, MINTEL does not), and has that law's 10 days, counted here as calendar days: on
/// Carnival Monday 2025 it counts as received on Wednesday 5 March, day one is the 6th, day
/// ten Saturday 15 March, so it ends on Monday 17 March. The form offers the category.
#[tokio::test]
async fn an_information_request_goes_to_an_agency_that_takes_them_with_the_laws_term() {
    let h = Harness::new();
    let mut request = ticket_json("ana@example.com");
    request["category"] = json!("acceso_informacion");
    request["agency"] = json!("MINTEL");
    let refused = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json()["errors"][0]["field"], "category");

    request["agency"] = json!("MDT");
    let opened = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    assert_eq!(opened.status, 201, "{}", opened.text());
    let number = opened.json()["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("MDT-AIP-2025-"), "{number}");
    let found = h.send(lookup("ana@example.com", &number)).await.json();
    assert_eq!(found["due_on"], "2025-03-17", "{found}");
    let outbox = h.outbox();
    let mail = mail_parser::MessageParser::default()
        .parse(&outbox[0])
        .unwrap();
    let text = mail.body_text(0).unwrap();
    assert!(text.contains("Base del plazo: LOTAIP"), "{text}");

    let form = h.send(Event::get("/")).await.text();
    assert!(
        form.contains("Acceso a información pública (LOTAIP)"),
        "the form offers it"
    );
}
