//! Tickets an agent opens for a citizen who phoned, came to the counter or wrote a letter:
//! with an address the citizen is acknowledged by mail; without one the agent gets a receipt
//! to print, and the citizen follows the ticket with its number and their ID document.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;

use super::Office;

fn outbox(office: &Office) -> Vec<String> {
    office.outbox()
}

fn caller(email: &str, channel: &str) -> Value {
    json!({
        "category": "requerimiento", "nationality": "EC", "id_type": "cedula",
        "id_number": "171430710-3", "full_name": "Segundo Guamán", "email": email,
        "user_type": "ciudadano", "channel": channel,
        "subject": "Certificado de no adeudar",
        "description": "Llamó para pedir el certificado; no tiene correo.",
    })
}

#[tokio::test]
async fn a_caller_without_an_address_gets_a_receipt_and_follows_with_their_document() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let opened = office
        .call(
            Some(&agent),
            "POST",
            "/api/v1/agent/tickets",
            Some(caller("", "telefono")),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let number = opened.body["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("MDT-REQ-"), "{number}");
    assert_eq!(
        opened.body["acknowledgement"],
        Value::Null,
        "no address, no mail"
    );
    let receipt = &opened.body["receipt"];
    assert_eq!(receipt["number"], number.as_str());
    assert!(receipt["due_on"].is_string(), "{receipt}");
    let follow = receipt["how_to_follow"].as_str().unwrap();
    assert!(
        follow.contains("/estado") && follow.contains("cédula o pasaporte"),
        "{follow}"
    );
    assert_eq!(office.mail.sweep_mail().await.unwrap().sent, 0);
    assert!(outbox(&office).is_empty(), "nothing was mailed");

    let path = format!("/api/v1/agent/tickets/{number}");
    let shown = office.call(Some(&agent), "GET", &path, None).await;
    assert_eq!(shown.body["channel"], "telefono");
    assert_eq!(shown.body["requester"]["email"], Value::Null);
    assert_eq!(shown.body["requester"]["id_number"], "1714307103");

    // The agent's answer is kept for the call back, not mailed, and not shown as failing.
    let replied = office
        .call(
            Some(&agent),
            "POST",
            &format!("{path}/replies"),
            Some(json!({"text": "Su certificado está listo en ventanilla."})),
        )
        .await;
    assert_eq!(replied.status, 201, "{}", replied.body);
    assert_eq!(replied.body["delivered"], Value::Null);
    assert!(outbox(&office).is_empty());
    let shown = office.call(Some(&agent), "GET", &path, None).await;
    let last = shown.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "public_reply");
    assert_eq!(last["delivered"], Value::Null, "{last}");

    // The citizen follows it with the number and their document, however they write it.
    let found = office
        .lookup(json!({"number": number, "id_number": "1714307103"}))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.to_string().contains("Su certificado está listo"));
    let spaced = office
        .lookup(json!({"number": number, "id_number": "171430710-3"}))
        .await;
    assert_eq!(spaced.status, 200);
    // A wrong document misses exactly as an unknown number does.
    let wrong = office
        .lookup(json!({"number": number, "id_number": "0102030405"}))
        .await;
    let unknown = office
        .lookup(json!({"number": "MDT-REQ-2020-99999", "id_number": "1714307103"}))
        .await;
    assert_eq!((wrong.status, unknown.status), (404, 404));
    assert_eq!(wrong.body, unknown.body);
    // A document number of a kilobyte is named, not searched.
    let long = office
        .lookup(json!({"number": number, "id_number": "9".repeat(1000)}))
        .await;
    assert_eq!(long.status, 422);
    assert!(long.body.to_string().contains("id_number"), "{}", long.body);
}

#[tokio::test]
async fn a_ticket_with_an_address_is_followed_by_it_and_never_by_a_document() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let opened = office
        .call(
            Some(&agent),
            "POST",
            "/api/v1/agent/tickets",
            Some(caller("segundo.guaman@example.com", "presencial")),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let number = opened.body["number"].as_str().unwrap().to_owned();
    // The agents' function does not hold the secret that counts an address's notices: the
    // acknowledgement waits in the queue for the sweeper, which sends it once.
    assert_eq!(opened.body["acknowledgement"], "pending");
    assert!(outbox(&office).is_empty());
    assert_eq!(office.mail.sweep_mail().await.unwrap().sent, 1);
    assert_eq!(office.mail.sweep_mail().await.unwrap().sent, 0);
    let follow = opened.body["receipt"]["how_to_follow"].as_str().unwrap();
    assert!(follow.contains("segundo.guaman@example.com"), "{follow}");
    let mails = outbox(&office);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("To: <segundo.guaman@example.com>"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&number));
    assert!(
        !mails[0].contains("Llamó para pedir"),
        "the acknowledgement carries nothing typed for the caller"
    );
    // Someone who knows the number and the (often public) cédula does not get in.
    let by_document = office
        .lookup(json!({"number": number, "id_number": "1714307103"}))
        .await;
    assert_eq!(by_document.status, 404);
    let by_mail = office
        .lookup(json!({"number": number, "email": "segundo.guaman@example.com"}))
        .await;
    assert_eq!(by_mail.status, 200);
    let admin = office.agent("MDT", Role::Admin).await;
    let audit = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{number}/audit"),
            None,
        )
        .await;
    assert!(
        audit.body.to_string().contains("open_for_caller"),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn a_callers_ticket_is_checked_like_the_form_and_stays_in_the_agents_agency() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let open = |body: Value| {
        let (office, agent) = (&office, &agent);
        async move {
            office
                .call(Some(agent), "POST", "/api/v1/agent/tickets", Some(body))
                .await
        }
    };
    let mut bad = caller("no es un correo", "paloma");
    bad["id_number"] = json!("1714307104");
    let refused = open(bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let named = refused.body.to_string();
    for field in ["email", "channel", "id_number"] {
        assert!(named.contains(&format!("\"{field}\"")), "{field}: {named}");
    }
    let form = open(caller("", "formulario")).await;
    assert_eq!(
        form.status, 422,
        "the form opens its own tickets: {}",
        form.body
    );
    let mut elsewhere = caller("", "oficio");
    elsewhere["agency"] = json!("MINTEL");
    assert_eq!(open(elsewhere).await.status, 403);
    let stranger = office
        .call(
            None,
            "POST",
            "/api/v1/agent/tickets",
            Some(caller("", "oficio")),
        )
        .await;
    assert_eq!(stranger.status, 401);
}

/// Numbers run in order and a cédula is easy to come by: one document tried on number after
/// number stops at the number's limit (5 misses an hour), and then even the right number is
/// refused for it, whatever the source.
#[tokio::test]
async fn one_document_tried_on_many_numbers_is_stopped() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let opened = office
        .call(
            Some(&agent),
            "POST",
            "/api/v1/agent/tickets",
            Some(caller("", "telefono")),
        )
        .await;
    let number = opened.body["number"].as_str().unwrap().to_owned();
    for guess in 1..=5 {
        let wrong = format!("MDT-QUE-2020-{guess:05}");
        let missed = office
            .lookup(json!({"number": wrong, "id_number": "1714307103"}))
            .await;
        assert_eq!(missed.status, 404, "{}", missed.body);
    }
    let right = office
        .lookup(json!({"number": number, "id_number": "1714307103"}))
        .await;
    assert_eq!(right.status, 429, "{}", right.body);
    // Another document on the same number is not held back by it.
    let other = office
        .lookup(json!({"number": number, "id_number": "0102030405"}))
        .await;
    assert_eq!(other.status, 404);
}
