//! Related tickets: an agent relates two of their agency's tickets; each lists the other and
//! says so in its thread; another agency's ticket is refused as an unknown one.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;

use super::Office;

async fn open(office: &Office, token: &str, subject: &str) -> String {
    let opened = office
        .call(
            Some(token),
            "POST",
            "/api/v1/agent/tickets",
            Some(json!({
                "category": "queja", "nationality": "EC", "id_type": "cedula",
                "id_number": "1710034065", "full_name": "Rosa Quishpe", "email": "",
                "user_type": "ciudadano", "channel": "oficio",
                "subject": subject, "description": "Reclama por la demora.",
            })),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    opened.body["number"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_agent_relates_two_tickets_of_their_agency_and_each_lists_the_other() {
    let office = Office::new();
    let mdt = office.agent("MDT", Role::Agent).await;
    let mintel = office.agent("MINTEL", Role::Agent).await;
    let first = open(&office, &mdt, "Demora en el trámite").await;
    let second = open(&office, &mdt, "Segunda queja por la demora").await;
    let theirs = open(&office, &mintel, "Otra institución").await;
    let relate = async |token: &str, on: &str, to: &str| {
        office
            .call(
                Some(token),
                "POST",
                &format!("/api/v1/agent/tickets/{on}/related"),
                Some(json!({ "number": to })),
            )
            .await
    };
    let related = relate(&mdt, &first, &second.to_lowercase()).await;
    assert_eq!(related.status, 200, "{}", related.body);
    assert_eq!(related.body["related"], json!([second]));
    let shown = office
        .call(
            Some(&mdt),
            "GET",
            &format!("/api/v1/agent/tickets/{second}"),
            None,
        )
        .await;
    assert_eq!(shown.body["related"], json!([first]));
    let lines = |body: &Value| {
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["text"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Relacionado con")
            })
            .count()
    };
    assert_eq!(lines(&shown.body), 1);
    // Again: nothing new.
    assert_eq!(relate(&mdt, &second, &first).await.status, 200);
    let shown = office
        .call(
            Some(&mdt),
            "GET",
            &format!("/api/v1/agent/tickets/{second}"),
            None,
        )
        .await;
    assert_eq!(
        (lines(&shown.body), shown.body["related"].clone()),
        (1, json!([first]))
    );

    // Another agency's ticket is unknown here, whichever side it is on; itself, or no
    // number, is named.
    for (on, to) in [
        (&first, &theirs),
        (&first, &first),
        (&first, &"MDT-1".to_owned()),
    ] {
        let refused = relate(&mdt, on, to).await;
        assert_eq!(refused.status, 422, "{to}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], "number");
    }
    assert_eq!(relate(&mintel, &first, &theirs).await.status, 404);
    let audit = office
        .call(
            Some(&office.agent("MDT", Role::Admin).await),
            "GET",
            &format!("/api/v1/agent/tickets/{first}/audit"),
            None,
        )
        .await;
    assert!(audit.body.to_string().contains("relate"), "{}", audit.body);
}
