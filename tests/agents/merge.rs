//! Merging a duplicate into the ticket that goes on: the survivor shows both conversations,
//! the duplicate is closed and takes no more work, and both numbers keep working for the
//! citizen, on the status page and by mail. Only tickets of the same requester, of the
//! agent's agency.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;
use ventanilla_tests::unique;

use super::Office;

/// A ticket opened for a caller with `email` and `id_number`; its number.
async fn open(office: &Office, token: &str, email: &str, id_number: &str, text: &str) -> String {
    let opened = office
        .call(
            Some(token),
            "POST",
            "/api/v1/agent/tickets",
            Some(json!({
                "category": "requerimiento", "nationality": "EC", "id_type": "cedula",
                "id_number": id_number, "full_name": "Rosa Quishpe", "email": email,
                "user_type": "ciudadano", "channel": "telefono",
                "subject": "Certificado de no adeudar", "description": text,
            })),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    opened.body["number"].as_str().unwrap().to_owned()
}

async fn merge(office: &Office, token: &str, duplicate: &str, into: &str) -> super::Reply {
    office
        .call(
            Some(token),
            "POST",
            &format!("/api/v1/agent/tickets/{duplicate}/merge"),
            Some(json!({ "into": into })),
        )
        .await
}

/// The status page a citizen gets from the form, with `number` and `email`.
async fn status_page(office: &Office, number: &str, email: &str) -> String {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let form = format!("number={number}&email={}", email.replace('@', "%40"));
    let request = axum::http::Request::post("/estado")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let response = office.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn texts(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_merged_duplicate_goes_on_in_the_survivor_for_the_agent_and_the_citizen() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let email = format!("{}@example.com", unique("rosa"));
    let survivor = open(
        &office,
        &agent,
        &email,
        "1710034065",
        "Pedí el certificado.",
    )
    .await;
    let duplicate = open(&office, &agent, &email, "1710034065", "Lo pido otra vez.").await;

    let merged = merge(&office, &agent, &duplicate, &survivor.to_lowercase()).await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["number"], survivor.as_str());
    assert_eq!(merged.body["merged"], json!([duplicate]));

    // The agent: the survivor shows both conversations, the duplicate points to it.
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{survivor}"),
            None,
        )
        .await;
    let thread = texts(&shown.body);
    assert!(
        thread.iter().any(|t| t == "Pedí el certificado."),
        "{thread:?}"
    );
    assert!(
        thread.iter().any(|t| t == "Lo pido otra vez."),
        "{thread:?}"
    );
    assert!(
        thread
            .iter()
            .any(|t| t.starts_with(&format!("Se unió el ticket {duplicate}")))
    );
    let from_duplicate = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "Lo pido otra vez.")
        .unwrap();
    assert_eq!(from_duplicate["merged_from"], duplicate.as_str());
    let gone = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{duplicate}"),
            None,
        )
        .await;
    assert_eq!(gone.body["merged_into"], survivor.as_str());
    assert_eq!(gone.body["status"], "closed");

    // The duplicate takes no more work: a reply, a note, a change, a second merge.
    let reply = office
        .call(
            Some(&agent),
            "POST",
            &format!("/api/v1/agent/tickets/{duplicate}/replies"),
            Some(json!({"text": "Ya está listo."})),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.to_string().contains("merged"), "{}", reply.body);
    let change = office
        .call(
            Some(&agent),
            "PATCH",
            &format!("/api/v1/agent/tickets/{duplicate}"),
            Some(json!({"status": "open", "version": gone.body["version"]})),
        )
        .await;
    assert_eq!(change.status, 403, "{}", change.body);
    // The same merge again is done already.
    let again = merge(&office, &agent, &duplicate, &survivor).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["merged"], json!([duplicate]));
    let third = open(&office, &agent, &email, "1710034065", "Una tercera vez.").await;
    assert_eq!(merge(&office, &agent, &duplicate, &third).await.status, 403);
    assert_eq!(
        merge(&office, &agent, &survivor, &third).await.status,
        403,
        "a ticket others were merged into stays"
    );

    // The citizen: the duplicate's number opens the survivor, with both conversations.
    let found = office
        .lookup(json!({"number": duplicate, "email": email}))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["number"], survivor.as_str());
    assert_eq!(found.body["merged_from"], duplicate.as_str());
    let public = texts(&found.body);
    assert!(
        public.contains(&"Lo pido otra vez.".to_owned()),
        "{public:?}"
    );
    assert!(
        !public.iter().any(|t| t.starts_with("Se unió")),
        "bookkeeping is not the citizen's: {public:?}"
    );
    let page = status_page(&office, &duplicate, &email).await;
    assert!(
        page.contains(&format!(
            "Su solicitud {duplicate} trataba lo mismo y se unió a esta"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("<span id=\"ticket-number\">{survivor}</span>")));
    // A wrong address still finds nothing through the duplicate's number.
    let stranger = office
        .lookup(json!({"number": duplicate, "email": "otra@example.com"}))
        .await;
    assert_eq!(stranger.status, 404);

    // A mail answering the duplicate joins the survivor.
    let raw = format!(
        "From: Rosa Quishpe <{email}>\r\nTo: soporte@ventanilla.example.gob.ec\r\n\
         Subject: Re: [{duplicate}] Certificado de no adeudar\r\nMessage-ID: <{}@example.com>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSigo esperando el certificado.\r\n",
        unique("sigue")
    );
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(outcome.as_str(), "follow-up", "{outcome:?}");
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{survivor}"),
            None,
        )
        .await;
    let mail = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "Sigo esperando el certificado.")
        .expect("the follow-up on the survivor");
    assert!(mail["merged_from"].is_null(), "{mail}");

    // Audited.
    let admin = office.agent("MDT", Role::Admin).await;
    let audit = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{duplicate}/audit"),
            None,
        )
        .await;
    assert!(
        audit.body.to_string().contains("merged into"),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn only_the_same_requesters_tickets_of_the_agents_agency_are_merged() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let mintel = office.agent("MINTEL", Role::Agent).await;
    let rosa = format!("{}@example.com", unique("rosa"));
    let first = open(&office, &agent, &rosa, "1710034065", "Primera.").await;
    let stranger = open(
        &office,
        &agent,
        "otra@example.com",
        "1714307103",
        "Otra persona.",
    )
    .await;
    let refused = merge(&office, &agent, &first, &stranger).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("same requester"),
        "{}",
        refused.body
    );

    // A caller without an address: the same ID document is the same requester.
    let counter = open(&office, &agent, "", "1710034065", "En ventanilla.").await;
    let merged = merge(&office, &agent, &counter, &first).await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    // A document number is easier to come by than a mailbox: merged by it, tickets with
    // different addresses each still open only for their own.
    let other_mail = format!("{}@example.com", unique("otra"));
    let claimed = open(&office, &agent, &other_mail, "1710034065", "Dice ser Rosa.").await;
    let merged = merge(&office, &agent, &claimed, &first).await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let found = office
        .lookup(json!({"number": claimed, "email": other_mail}))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["number"], claimed.as_str(), "not the survivor");
    assert!(found.body["merged_from"].is_null());
    assert!(
        !texts(&found.body).iter().any(|t| t == "Primera."),
        "{}",
        found.body
    );
    let raw = format!(
        "From: <{other_mail}>\r\nTo: soporte@ventanilla.example.gob.ec\r\n\
         Subject: Re: [{claimed}] Certificado\r\nMessage-ID: <{}@example.com>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nQuiero ver lo de Rosa.\r\n",
        unique("otra")
    );
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(
        outcome.as_str(),
        "new-ticket",
        "a merged duplicate is never reopened"
    );
    assert_ne!(
        outcome.ticket().map(|n| n.to_string()),
        Some(first.clone()),
        "{outcome:?}"
    );
    // Nor does the survivor's requester see the other address's conversation.
    let own = office.lookup(json!({"number": first, "email": rosa})).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let own = texts(&own.body);
    assert!(own.contains(&"Primera.".to_owned()), "{own:?}");
    assert!(!own.iter().any(|t| t.contains("Dice ser Rosa")), "{own:?}");

    // A merged duplicate is not related to anything: refused before either side changes.
    let spare = open(&office, &agent, &rosa, "1710034065", "Otra más.").await;
    let related = office
        .call(
            Some(&agent),
            "POST",
            &format!("/api/v1/agent/tickets/{spare}/related"),
            Some(json!({ "number": claimed })),
        )
        .await;
    assert_eq!(related.status, 403, "{}", related.body);
    let spare_view = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{spare}"),
            None,
        )
        .await;
    assert!(spare_view.body["related"].is_null(), "{}", spare_view.body);

    // Another agency's ticket is unknown, either way; bad numbers are named.
    let theirs = open(
        &office,
        &mintel,
        &rosa,
        "1710034065",
        "En otra institución.",
    )
    .await;
    let unknown = merge(&office, &agent, &first, &theirs).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(
        unknown.body.to_string().contains("into"),
        "{}",
        unknown.body
    );
    assert_eq!(merge(&office, &mintel, &first, &theirs).await.status, 404);
    for bad in ["", "no es un número", &first] {
        let named = merge(&office, &agent, &first, bad).await;
        assert_eq!(named.status, 422, "{bad}: {}", named.body);
    }
    let stranger_view = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{stranger}"),
            None,
        )
        .await;
    assert!(stranger_view.body["merged_into"].is_null());

    // Once the survivor goes to another agency, the duplicate's messages stay with the
    // agency that has it.
    let moved = office
        .call(
            Some(&office.agent("MDT", Role::Supervisor).await),
            "POST",
            &format!("/api/v1/agent/tickets/{first}/transfer"),
            Some(json!({"agency": "MINTEL", "note": "Corresponde a MINTEL."})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let theirs = office
        .call(
            Some(&mintel),
            "GET",
            &format!("/api/v1/agent/tickets/{first}"),
            None,
        )
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let seen = texts(&theirs.body);
    assert!(seen.contains(&"Primera.".to_owned()));
    assert!(!seen.iter().any(|t| t == "En ventanilla."), "{seen:?}");
}

#[tokio::test]
async fn two_tickets_merged_into_each_other_at_once_never_make_a_cycle() {
    let office = Office::new();
    let first_agent = office.agent("MDT", Role::Agent).await;
    let second_agent = office.agent("MDT", Role::Agent).await;
    for round in 0..5 {
        let email = format!("{}@example.com", unique("rosa"));
        let a = open(
            &office,
            &first_agent,
            &email,
            "1710034065",
            &format!("A {round}"),
        )
        .await;
        let b = open(
            &office,
            &first_agent,
            &email,
            "1710034065",
            &format!("B {round}"),
        )
        .await;
        let (one, two) = tokio::join!(
            merge(&office, &first_agent, &a, &b),
            merge(&office, &second_agent, &b, &a),
        );
        // Both press again at once, whatever they got.
        let (again_one, again_two) = tokio::join!(
            merge(&office, &first_agent, &a, &b),
            merge(&office, &second_agent, &b, &a),
        );
        assert!(
            [one.status, two.status, again_one.status, again_two.status].contains(&200),
            "one of them merged"
        );
        assert!(
            [one.status, two.status]
                .iter()
                .all(|s| *s == 200 || *s == 403),
            "{} {}",
            one.body,
            two.body
        );
        let path = |n: &str| format!("/api/v1/agent/tickets/{n}");
        let va = office
            .call(Some(&first_agent), "GET", &path(&a), None)
            .await
            .body;
        let vb = office
            .call(Some(&first_agent), "GET", &path(&b), None)
            .await
            .body;
        assert!(
            va["merged_into"].is_null() || vb["merged_into"].is_null(),
            "a cycle: {va} {vb}"
        );
        // Whichever goes on can still be worked.
        let survivor = if va["merged_into"].is_null() { &a } else { &b };
        let note = office
            .call(
                Some(&first_agent),
                "POST",
                &format!("{}/notes", path(survivor)),
                Some(json!({"text": "Sigue aquí."})),
            )
            .await;
        assert_eq!(note.status, 201, "{}", note.body);
    }
}
