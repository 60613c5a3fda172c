//! A citizen's personal data: an admin exports it and erases it (both audited), and the
//! retention rule erases finished tickets past their time, through the agent API's router
//! and the inbound-mail function's entry point with EventBridge's scheduled event.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};
use ventanilla_adapters::system::UuidV7;
use ventanilla_app::open_ticket;
use ventanilla_domain::BlobKey;
use ventanilla_domain::fakes::ManualClock;
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::TicketStore;
use ventanilla_domain::rules::privacy::ERASED_TEXT;
use ventanilla_domain::{AgencyCode, Category, Email, TicketNumber, Timestamp};

use super::Office;

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// A citizen's mail to the support address, with a screenshot; the ticket it opened.
async fn mail_from(office: &Office, citizen: &str, text: &str) -> TicketNumber {
    let raw = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: soporte@ventanilla.example.gob.ec\r\n\
         Subject: Queja contra el funcionario Pérez\r\nMessage-ID: <{}@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
         --b\r\nContent-Type: image/png; name=\"cedula.png\"\r\n\
         Content-Disposition: attachment; filename=\"cedula.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n--b--\r\n",
        ventanilla_tests::unique("m")
    );
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(outcome.as_str(), "new-ticket", "{outcome:?}");
    outcome.ticket().unwrap().clone()
}

/// The blobs a ticket's thread refers to: attachments and raw mails.
async fn blobs_of(office: &Office, number: &TicketNumber) -> Vec<BlobKey> {
    let thread = office.store.thread(number).await.unwrap().1;
    thread
        .iter()
        .flat_map(|m| {
            m.attachments
                .iter()
                .map(|a| a.blob.clone())
                .chain(m.mail.as_ref().and_then(|mail| mail.raw.clone()))
        })
        .collect()
}

fn blob_exists(office: &Office, key: &BlobKey) -> bool {
    office.dir.path().join("blobs").join(key.as_str()).exists()
}

fn actions(audit: &Value) -> Vec<(String, String)> {
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["agent"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_admin_exports_then_erases_a_citizens_data_and_both_are_audited() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let admin_id = office
        .call(Some(&admin), "GET", "/api/v1/agent/me", None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let citizen = format!("{}@example.com", ventanilla_tests::unique("rosa."));
    let secret = "Mi cédula es 1710034065 y vivo en la calle Olmedo 123.";
    let own = mail_from(&office, &citizen, secret).await;
    let blobs = blobs_of(&office, &own).await;
    assert_eq!(blobs.len(), 2, "the screenshot and the raw mail");
    assert!(blobs.iter().all(|key| blob_exists(&office, key)));
    // The same citizen also wrote to another agency: MDT's admin touches none of it.
    let elsewhere = open_ticket::open(
        &office.store,
        &ventanilla_adapters::system::SystemClock,
        &UuidV7,
        ventanilla_tests::new_ticket(
            &AgencyCode::parse("MINTEL").unwrap(),
            Category::Queja,
            &citizen,
        ),
    )
    .await
    .unwrap()
    .into_ticket();

    let body = json!({ "email": citizen });
    for path in [
        "/api/v1/agent/privacy/export",
        "/api/v1/agent/privacy/erase",
    ] {
        let refused = office
            .call(Some(&supervisor), "POST", path, Some(body.clone()))
            .await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        let anonymous = office.call(None, "POST", path, Some(body.clone())).await;
        assert_eq!(anonymous.status, 401, "{path}");
        let bad = office
            .call(
                Some(&admin),
                "POST",
                path,
                Some(json!({ "email": "rosa@" })),
            )
            .await;
        assert_eq!(bad.status, 422, "{path}: {}", bad.body);
        assert_eq!(bad.body["errors"][0]["field"], "email", "{}", bad.body);
    }

    let export = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/export",
            Some(body.clone()),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    let tickets = export.body["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "MDT's ticket only: {}", export.body);
    assert_eq!(tickets[0]["number"], own.as_str());
    assert_eq!(tickets[0]["requester"]["email"], citizen.as_str());
    let exported = export.body.to_string();
    assert!(exported.contains("1710034065"), "{exported}");
    assert!(exported.contains("cedula.png"), "{exported}");

    let erase = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            Some(body.clone()),
        )
        .await;
    assert_eq!(erase.status, 200, "{}", erase.body);
    assert_eq!(erase.body["erased"], json!([own.as_str()]));

    // What an agent sees now.
    let shown = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{own}"),
            None,
        )
        .await;
    assert_eq!(shown.status, 200);
    let text = shown.body.to_string();
    for personal in [
        "Rosa",
        "Quishpe",
        &citizen,
        "1710034065",
        "Olmedo",
        "Pérez",
        "cedula.png",
    ] {
        assert!(!text.contains(personal), "{personal} still shown: {text}");
    }
    assert_eq!(shown.body["requester"]["name"], "Datos eliminados");
    assert_eq!(shown.body["status"], "new", "the ticket itself stays");
    for message in shown.body["messages"].as_array().unwrap() {
        assert_eq!(message["text"], ERASED_TEXT);
        assert_eq!(message["attachments"], json!([]));
    }
    // What the store keeps: no trace of the person, the files deleted.
    let stored = format!(
        "{:?}{:?}",
        office.store.ticket(&own).await.unwrap(),
        office.store.thread(&own).await.unwrap().1
    );
    for personal in ["Rosa", &citizen, "1710034065", "cedula.png"] {
        assert!(!stored.contains(personal), "{personal} stored: {stored}");
    }
    for key in &blobs {
        assert!(!blob_exists(&office, key), "{key} still stored");
    }
    // The citizen's lookup by address and number finds nothing any more.
    let lookup = office
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            Some(json!({ "email": citizen, "number": own.as_str() })),
        )
        .await;
    assert_eq!(lookup.status, 404, "{}", lookup.body);
    // The other agency's ticket is untouched.
    let kept = office.store.ticket(&elsewhere.number).await.unwrap();
    assert_eq!(kept.requester.email, Some(Email::parse(&citizen).unwrap()));
    assert!(kept.erased_at.is_none());

    // Both actions are in the audit trail, by the admin; asking again finds nothing.
    let audit = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{own}/audit"),
            None,
        )
        .await;
    let trail = actions(&audit.body);
    for action in ["export_personal_data", "erase_personal_data"] {
        assert!(
            trail.contains(&(action.to_owned(), admin_id.clone())),
            "{action}: {trail:?}"
        );
    }
    let again = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            Some(body),
        )
        .await;
    assert_eq!(again.body["erased"], json!([]), "{}", again.body);
}

/// EventBridge's scheduled event, as `infra/events/` has it.
fn schedule() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/events/inbound-mail-retention-schedule.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_retention_rule_erases_finished_tickets_past_their_time_and_nothing_else() {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2020-01-06T10:00:00Z").unwrap(),
    ));
    let office = Office::with_clock(clock.clone());
    let admin = office.agent("MDT", Role::Admin).await;
    let citizen = |n: &str| format!("{}@example.com", ventanilla_tests::unique(n));
    let finish = |number: TicketNumber, statuses: &'static [&'static str]| {
        let office = &office;
        let admin = admin.clone();
        async move {
            for status in statuses {
                let version = office.version(&number).await;
                let changed = office
                    .call(
                        Some(&admin),
                        "PATCH",
                        &format!("/api/v1/agent/tickets/{number}"),
                        Some(json!({ "version": version, "status": status })),
                    )
                    .await;
                assert_eq!(changed.status, 200, "{}", changed.body);
            }
            number
        }
    };
    let closed = finish(
        mail_from(&office, &citizen("a."), "Caso cerrado hace años.").await,
        &["open", "resolved", "closed"],
    )
    .await;
    let resolved = finish(
        mail_from(&office, &citizen("b."), "Caso resuelto hace años.").await,
        &["resolved"],
    )
    .await;
    let still_open = mail_from(&office, &citizen("c."), "Caso abierto hace años.").await;
    // Five years (the configured 1825 days) and a day later.
    clock.advance(chrono::Duration::days(1826));
    let recent = finish(
        mail_from(&office, &citizen("d."), "Caso cerrado ayer.").await,
        &["closed"],
    )
    .await;
    let old_blobs = blobs_of(&office, &closed).await;

    let swept = inbound_mail::handle(&office.mail, schedule())
        .await
        .unwrap();
    let erased: BTreeSet<&str> = swept["erased"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        erased,
        BTreeSet::from([closed.as_str(), resolved.as_str()]),
        "{swept}"
    );
    for number in [&closed, &resolved] {
        let ticket = office.store.ticket(number).await.unwrap();
        assert!(ticket.erased_at.is_some(), "{number}");
        assert_eq!(ticket.requester.name.as_str(), "Datos eliminados");
        let thread = office.store.thread(number).await.unwrap().1;
        assert!(thread.iter().all(|m| m.body.as_str() == ERASED_TEXT));
    }
    for key in &old_blobs {
        assert!(!blob_exists(&office, key), "{key}");
    }
    for number in [&still_open, &recent] {
        let ticket = office.store.ticket(number).await.unwrap();
        assert!(ticket.erased_at.is_none(), "{number} erased");
        assert_ne!(ticket.requester.name.as_str(), "Datos eliminados");
    }
    let audit = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{closed}/audit"),
            None,
        )
        .await;
    assert!(
        actions(&audit.body).contains(&(
            "erase_personal_data".to_owned(),
            ventanilla_domain::model::agents::RETENTION_AGENT.to_owned()
        )),
        "{}",
        audit.body
    );
    // The next day's run finds them erased already.
    clock.advance(chrono::Duration::days(1));
    let next = inbound_mail::handle(&office.mail, schedule())
        .await
        .unwrap();
    assert_eq!(next["erased"], json!([]), "{next}");
    assert_eq!(next["examined"], 2, "{next}");
}

/// An erased ticket is no one's: a lookup with the placeholder address it was given answers
/// exactly as one for a number that does not exist (issue 18, point 14).
#[tokio::test]
async fn an_erased_ticket_answers_a_lookup_exactly_like_an_unknown_one() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let citizen = format!("{}@example.com", ventanilla_tests::unique("rosa."));
    let own = mail_from(&office, &citizen, "Borren mis datos, por favor.").await;
    let erased = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            Some(json!({ "email": citizen })),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let placeholder = office
        .store
        .ticket(&own)
        .await
        .unwrap()
        .requester
        .email
        .unwrap();
    assert!(
        placeholder.as_str().ends_with(".invalid"),
        "{placeholder:?}"
    );
    let lookup = |email: String, number: String| {
        let office = &office;
        async move {
            office
                .call(
                    None,
                    "POST",
                    "/api/v1/tickets/lookup",
                    Some(json!({ "email": email, "number": number })),
                )
                .await
        }
    };
    let of_erased = lookup(placeholder.as_str().to_owned(), own.as_str().to_owned()).await;
    let prefix = &own.as_str()[..own.as_str().len() - 5];
    let unknown = TicketNumber::parse(&format!("{prefix}99999")).unwrap();
    let of_unknown = lookup(citizen.clone(), unknown.as_str().to_owned()).await;
    assert_eq!(of_erased.status, 404, "{}", of_erased.body);
    assert_eq!(
        (of_erased.status, &of_erased.body),
        (of_unknown.status, &of_unknown.body)
    );
}
