//! Canned responses: an agency's admins write them, its agents get them filled in for the
//! ticket they answer; nobody else reads or writes them.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;

use super::Office;

#[tokio::test]
async fn admins_write_canned_responses_and_agents_get_them_filled_in_for_a_ticket() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let stranger = office.agent("MINTEL", Role::Admin).await;
    let number = office.ticket("MDT").await;
    let text = "Estimada/o {nombre}: su trámite {numero} se responderá hasta el {fecha_limite}.";
    let save = |token: String, id: &str, body: Value| {
        let office = &office;
        let path = format!("/api/v1/agent/canned-responses/{id}");
        async move { office.call(Some(&token), "PUT", &path, Some(body)).await }
    };
    let saved = save(
        admin.clone(),
        "recibido",
        json!({"title": "Recibido", "text": text}),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["text"], text);

    // Only an admin of the agency writes them; what is wrong is named.
    let by_agent = save(agent.clone(), "otro", json!({"title": "x", "text": "y"})).await;
    assert_eq!(by_agent.status, 403);
    let misspelt = save(
        admin.clone(),
        "mal",
        json!({"title": "Mal", "text": "Hola {nobre}"}),
    )
    .await;
    assert_eq!(misspelt.status, 422);
    assert!(
        misspelt.body.to_string().contains("\"text\""),
        "{}",
        misspelt.body
    );
    let bad_id = save(
        admin.clone(),
        "Con%20Espacio",
        json!({"title": "T", "text": "x"}),
    )
    .await;
    assert_eq!(bad_id.status, 422);
    assert!(
        bad_id.body.to_string().contains("\"id\""),
        "{}",
        bad_id.body
    );
    let huge = save(
        admin.clone(),
        "larga",
        json!({"title": "T", "text": "x".repeat(5_001)}),
    )
    .await;
    assert_eq!(huge.status, 422);
    let elsewhere = save(
        stranger.clone(),
        "ajena",
        json!({"agency": "MDT", "title": "T", "text": "x"}),
    )
    .await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);

    // The agent answering the ticket gets it filled in for that ticket.
    let path = format!("/api/v1/agent/tickets/{number}/canned-responses");
    let filled = office.call(Some(&agent), "GET", &path, None).await;
    assert_eq!(filled.status, 200, "{}", filled.body);
    let list = filled.body["canned_responses"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let filled_text = list[0]["text"].as_str().unwrap();
    assert!(
        filled_text.starts_with("Estimada/o María José Ñáñez: su trámite "),
        "{filled_text}"
    );
    assert!(filled_text.contains(number.as_str()));
    assert!(!filled_text.contains('{'), "{filled_text}");
    // Another agency's staff neither fill nor read them.
    let theirs = office.call(Some(&stranger), "GET", &path, None).await;
    assert_eq!(theirs.status, 404);
    let listed = office
        .call(
            Some(&stranger),
            "GET",
            "/api/v1/agent/canned-responses?agency=MDT",
            None,
        )
        .await;
    assert_eq!(listed.status, 403);
    let own = office
        .call(Some(&agent), "GET", "/api/v1/agent/canned-responses", None)
        .await;
    assert_eq!(own.body["canned_responses"][0]["id"], "recibido");

    // At most 100 per agency; writing one over itself is not one more.
    for index in 1..100 {
        let body = json!({"title": format!("R{index}"), "text": "Gracias."});
        assert_eq!(
            save(admin.clone(), &format!("r{index}"), body).await.status,
            200
        );
    }
    let over = save(admin.clone(), "r100", json!({"title": "R", "text": "x"})).await;
    assert_eq!(over.status, 422, "{}", over.body);
    assert!(over.body.to_string().contains("too_many"), "{}", over.body);
    let again = save(
        admin.clone(),
        "recibido",
        json!({"title": "Recibido", "text": "Hola {nombre}."}),
    )
    .await;
    assert_eq!(again.status, 200);

    let removed = office
        .call(
            Some(&admin),
            "DELETE",
            "/api/v1/agent/canned-responses/recibido",
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["removed"]["text"], "Hola {nombre}.");
    let gone = office
        .call(
            Some(&admin),
            "DELETE",
            "/api/v1/agent/canned-responses/recibido",
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
}
