//! `POST /api/v1/tickets/follow-ups`: a citizen answers on the status page, as they would by
//! mail, and the answer is attacked (someone else's page, twice at once, a thousand times,
//! forged files, oversized fields).

use serde_json::json;
use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail_queue::Notice;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{Clock, MailQueue, ThreadQuery, TicketStore};
use ventanilla_domain::{MessageKind, Status, TicketChange, TicketNumber};

use crate::harness::{Answer, Event, Harness, PNG, ticket_json};

/// Opens a ticket for `email` and returns its number and its status page's path.
async fn open(h: &Harness, email: &str) -> (String, String) {
    let answer = h
        .send(Event::post_json("/api/v1/tickets", &ticket_json(email)))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = answer.json();
    let url = body["access_url"].as_str().unwrap();
    (
        body["number"].as_str().unwrap().to_owned(),
        url.strip_prefix(crate::harness::PUBLIC_URL)
            .unwrap()
            .to_owned(),
    )
}

/// The value of the hidden field `name` in a page's answer form.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page: {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The status page's answer form, sent as the browser sends it.
fn answer_form(page: &str, text: &str, files: &[(&str, &[u8])]) -> Event {
    let access = hidden(page, "access");
    let key = hidden(page, "idempotency_token");
    let mut fields = vec![
        ("access", access.as_str()),
        ("idempotency_token", key.as_str()),
        ("text", text),
    ];
    let back = page.contains("name=\"back\"").then(|| hidden(page, "back"));
    if let Some(back) = &back {
        fields.push(("back", back.as_str()));
    }
    Event::post_files(
        "/api/v1/tickets/follow-ups?lang=es",
        &fields,
        "attachments",
        files,
    )
}

async fn page(h: &Harness, path: &str) -> String {
    let answer = h.send(Event::get(path)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text()
}

async fn citizen_messages(h: &Harness, number: &str) -> Vec<String> {
    let number = TicketNumber::parse(number).unwrap();
    let (_, thread) = h
        .store
        .thread_page(&number, &ThreadQuery::whole())
        .await
        .unwrap();
    thread
        .items
        .iter()
        .filter(|m| m.kind == MessageKind::CitizenMessage)
        .map(|m| m.body.as_str().to_owned())
        .collect()
}

async fn follow_up_alerts(h: &Harness, number: &str) -> usize {
    let far = h.clock.now().plus(chrono::Duration::days(2));
    (h.store.due_mail(far, 500).await.unwrap())
        .iter()
        .filter(|m| {
            m.ticket.as_str() == number
                && m.intent.notice
                    == Notice::AgentAlert {
                        event: AlertEvent::FollowUp,
                    }
        })
        .count()
}

async fn set_status(h: &Harness, number: &str, status: Status) {
    let number = TicketNumber::parse(number).unwrap();
    let ticket = h.store.ticket(&number).await.unwrap();
    h.store
        .update(TicketUpdate {
            number: number.clone(),
            expected_version: ticket.version,
            change: TicketChange::to_status(&ticket, Some(status), h.clock.now(), 60),
            message: None,
            mails: Vec::new(),
        })
        .await
        .unwrap();
}

fn location(answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer.header("location").unwrap().to_owned()
}

#[tokio::test]
async fn an_answer_with_a_file_joins_the_ticket_once_however_often_it_is_sent() {
    let h = Harness::new();
    let (number, status_path) = open(&h, "maria@example.com").await;
    set_status(&h, &number, Status::WaitingOnCitizen).await;
    let form = page(&h, &status_path).await;
    assert!(form.contains("id=\"answer-form\""), "{form}");

    let send = answer_form(
        &form,
        "Adjunto la captura que me pidieron.",
        &[("captura.png", PNG)],
    );
    let first = h.send(send.clone()).await;
    let shown = location(&first);
    assert!(shown.contains("respuesta=enviado"), "{shown}");
    // Pressed again (the same form, the same key), and again at once: one message.
    let (second, third) = tokio::join!(h.send(send.clone()), h.send(send.clone()));
    assert_eq!(location(&second), shown);
    assert_eq!(location(&third), shown);

    let after = page(&h, &shown).await;
    assert!(
        after.contains("Su mensaje se añadió a la solicitud."),
        "{after}"
    );
    assert!(after.contains("Adjunto la captura que me pidieron."));
    assert!(after.contains("captura.png"));
    assert_eq!(
        citizen_messages(&h, &number).await.len(),
        2,
        "the opening and one answer"
    );
    assert_eq!(follow_up_alerts(&h, &number).await, 1);
    // The page brought back by Back, with its key, and another text: a new answer, not lost.
    let other = h.send(answer_form(&form, "Y una cosa más.", &[])).await;
    location(&other);
    assert_eq!(citizen_messages(&h, &number).await.len(), 3);
    // Waiting on the citizen, the answer puts it back in progress.
    let ticket = h
        .store
        .ticket(&TicketNumber::parse(&number).unwrap())
        .await
        .unwrap();
    assert_eq!(ticket.status, Status::Open);
}

#[tokio::test]
async fn a_program_answers_with_json_and_a_finished_ticket_reopens_or_links_a_new_one() {
    let h = Harness::new();
    let (number, status_path) = open(&h, "maria@example.com").await;
    let access = hidden(&page(&h, &status_path).await, "access");
    set_status(&h, &number, Status::Resolved).await;
    let reopened = h
        .send(
            Event::post_json(
                "/api/v1/tickets/follow-ups",
                &json!({"access": access, "text": "Sigue sin resolverse."}),
            )
            .header("idempotency-key", "clave-uno-1"),
        )
        .await;
    assert_eq!(reopened.status, 201, "{}", reopened.text());
    assert_eq!(reopened.json()["number"], number.as_str());
    assert_eq!(reopened.json()["new_ticket"], false);
    assert_eq!(reopened.json()["status"], "open");

    // Past the queue's 30 days, a finished ticket's answer opens a new one linked to it (the
    // page is opened again: its form's token lasts two hours).
    set_status(&h, &number, Status::Resolved).await;
    h.clock.advance(chrono::Duration::days(31));
    let access = hidden(&page(&h, &status_path).await, "access");
    let linked = h
        .send(
            Event::post_json(
                "/api/v1/tickets/follow-ups",
                &json!({"access": access, "text": "Vuelvo a escribir."}),
            )
            .header("idempotency-key", "clave-dos-2"),
        )
        .await;
    assert_eq!(linked.status, 201, "{}", linked.text());
    let new_number = linked.json()["number"].as_str().unwrap().to_owned();
    assert_ne!(new_number, number);
    assert_eq!(linked.json()["new_ticket"], true);
    let new = h
        .store
        .ticket(&TicketNumber::parse(&new_number).unwrap())
        .await
        .unwrap();
    assert_eq!(
        new.linked_to.as_ref().map(|n| n.as_str()),
        Some(number.as_str())
    );
    assert_eq!(
        new.requester.email.as_ref().map(|e| e.as_str()),
        Some("maria@example.com")
    );
    // Acknowledged as any opening, with the new number.
    assert!(
        h.outbox()
            .iter()
            .any(|mail| String::from_utf8_lossy(mail).contains(&new_number))
    );
    assert_eq!(citizen_messages(&h, &number).await.len(), 2);
}

#[tokio::test]
async fn a_page_answers_only_its_own_ticket_for_its_own_requester() {
    let h = Harness::new();
    let (maria, maria_path) = open(&h, "maria@example.com").await;
    let (_, pedro_path) = open(&h, "pedro@example.com").await;
    let maria_page = page(&h, &maria_path).await;
    let pedro_access = hidden(&page(&h, &pedro_path).await, "access");
    let maria_access = hidden(&maria_page, "access");
    let maria_link = maria_path.trim_start_matches("/estado/").to_owned();

    // The form's token answers and opens nothing; the page's link opens and answers nothing.
    let opened = h.send(Event::get(&format!("/estado/{maria_access}"))).await;
    assert_eq!(opened.status, 404);
    let with_link = h
        .send(Event::post_json(
            "/api/v1/tickets/follow-ups",
            &json!({"access": maria_link, "text": "Con el enlace"}),
        ))
        .await;
    assert_eq!(with_link.status, 404, "{}", with_link.text());
    // Found by address and number (anyone who knows both), the page writes nothing: it says
    // to open the mailed link.
    let known = h
        .send(Event::post_form(
            "/estado",
            &[("email", "maria@example.com"), ("number", maria.as_str())],
        ))
        .await;
    assert_eq!(known.status, 200);
    assert!(known.text().contains("id=\"answer-by-link\""));
    assert!(!known.text().contains("name=\"access\""));
    // Every page of a ticket is kept by no cache.
    assert_eq!(known.header("cache-control"), Some("no-store"));

    // A token altered to another number, a forged one, an expired one: nothing is added.
    let moved = pedro_access.replacen(pedro_access.split('.').next().unwrap(), &maria, 1);
    for access in [
        moved.as_str(),
        "MDT-QUE-2025-00001.99999999999.AAAAAAAAAAAAAAAAAAAAAA",
        "",
    ] {
        let answer = h
            .send(
                Event::post_json(
                    "/api/v1/tickets/follow-ups",
                    &json!({"access": access, "text": "Intruso"}),
                )
                .header("accept-language", "es"),
            )
            .await;
        assert!(
            matches!(answer.status, 404 | 422),
            "{access}: {}",
            answer.text()
        );
    }
    // The form works two hours, though the link lasts 90 days.
    h.clock.advance(chrono::Duration::hours(3));
    let late = h.send(answer_form(&maria_page, "Tarde", &[])).await;
    assert_eq!(late.status, 404, "{}", late.text());
    assert!(late.text().contains("caducó"), "{}", late.text());
    assert_eq!(citizen_messages(&h, &maria).await.len(), 1);
}

#[tokio::test]
async fn bad_answers_are_refused_naming_the_field_and_a_flood_is_throttled() {
    let h = Harness::new();
    let (number, path) = open(&h, "maria@example.com").await;
    let form = page(&h, &path).await;
    let access = hidden(&form, "access");
    let send_json = |text: &str, key: &str| {
        Event::post_json(
            "/api/v1/tickets/follow-ups",
            &json!({"access": access, "text": text}),
        )
        .header("idempotency-key", key)
    };

    let empty = h.send(send_json("   ", "key-empty")).await;
    assert_eq!(empty.status, 422);
    assert_eq!(empty.json()["errors"][0]["field"], "text");
    let huge = h.send(send_json(&"a".repeat(60_000), "key-huge-1")).await;
    assert_eq!(huge.status, 422);
    assert_eq!(huge.json()["errors"][0]["field"], "text");

    // A text file named as a picture, and four files: refused by what they are.
    let fake = h
        .send(answer_form(
            &form,
            "Mire",
            &[("captura.png", b"not a picture at all")],
        ))
        .await;
    assert_eq!(fake.status, 422, "{}", fake.text());
    let four: Vec<(&str, &[u8])> = (0..4).map(|_| ("a.png", PNG)).collect();
    let many = h.send(answer_form(&form, "Mire", &four)).await;
    assert_eq!(many.status, 422, "{}", many.text());
    // Six megabytes: past the body limit, refused before it is read whole.
    let big = vec![0u8; 6 * 1024 * 1024];
    let too_big = h
        .send(answer_form(&form, "Mire", &[("grande.png", &big)]))
        .await;
    assert_eq!(too_big.status, 413, "{}", too_big.text());
    assert!(too_big.text().contains("4 MB"), "{}", too_big.text());
    assert_eq!(citizen_messages(&h, &number).await.len(), 1);

    // A ticket takes ten answers an hour, then 429 until the hour is over.
    for i in 0..10 {
        let answer = h.send(send_json("Otra vez", &format!("key-{i:04}"))).await;
        assert_eq!(answer.status, 201, "{i}: {}", answer.text());
    }
    let eleventh = h.send(send_json("Otra vez", "key-0010")).await;
    assert_eq!(eleventh.status, 429);
    assert!(eleventh.header("retry-after").is_some());
    h.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(h.send(send_json("Otra vez", "key-0011")).await.status, 201);
    assert_eq!(citizen_messages(&h, &number).await.len(), 12);
}
