//! The agents' search through the API: by number, by the requester's address, by the
//! document number and by words; only what the agent's agency may see.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;

use super::Office;

async fn search(office: &Office, token: &str, q: &str) -> super::Reply {
    let encoded: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let path = format!("/api/v1/agent/search?q={encoded}");
    office.call(Some(token), "GET", &path, None).await
}

fn numbers(reply: &super::Reply) -> Vec<String> {
    reply.body["tickets"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_owned())
        .collect()
}

async fn open(office: &Office, token: &str, subject: &str, email: &str) -> String {
    let opened = office
        .call(
            Some(token),
            "POST",
            "/api/v1/agent/tickets",
            Some(json!({
                "category": "requerimiento", "nationality": "EC", "id_type": "cedula",
                "id_number": "1710034065", "full_name": "Rosa Quishpe", "email": email,
                "user_type": "ciudadano", "channel": "presencial",
                "subject": subject, "description": "Pide la copia certificada del acta.",
            })),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    opened.body["number"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn agents_find_their_agencys_tickets_by_number_address_document_and_words() {
    let office = Office::new();
    let mdt = office.agent("MDT", Role::Agent).await;
    let mintel = office.agent("MINTEL", Role::Agent).await;
    let email = format!("{}@example.com", ventanilla_tests::unique("rosa"));
    let ours = open(&office, &mdt, "Copia del acta de finiquito", &email).await;
    let theirs = open(&office, &mintel, "Copia del acta de instalación", &email).await;

    let by_words = search(&office, &mdt, "acta finiquito").await;
    assert_eq!(by_words.status, 200, "{}", by_words.body);
    assert_eq!(by_words.body["by"], "words");
    assert_eq!(numbers(&by_words), vec![ours.clone()]);
    // Another agency's ticket with the same words is not there; nor by its number.
    assert_eq!(
        numbers(&search(&office, &mdt, "copia acta").await),
        vec![ours.clone()]
    );
    assert_eq!(
        numbers(&search(&office, &mintel, "copia acta").await),
        vec![theirs.clone()]
    );
    let by_number = search(&office, &mdt, &theirs.to_lowercase()).await;
    assert_eq!(
        (by_number.body["by"].clone(), numbers(&by_number)),
        (json!("number"), vec![])
    );
    assert_eq!(
        numbers(&search(&office, &mdt, &ours).await),
        vec![ours.clone()]
    );
    let by_address = search(&office, &mdt, &email.to_uppercase()).await;
    assert_eq!(by_address.body["by"], "requester");
    assert_eq!(numbers(&by_address), vec![ours.clone()]);
    assert_eq!(
        numbers(&search(&office, &mdt, "171003406-5").await),
        vec![ours.clone()]
    );
    assert_eq!(
        numbers(&search(&office, &mdt, "Quishpe").await),
        vec![ours.clone()]
    );

    // A reply's words join the ticket's.
    let replied = office
        .call(
            Some(&mdt),
            "POST",
            &format!("/api/v1/agent/tickets/{ours}/replies"),
            Some(json!({"text": "Retire la copia en la ventanilla de Latacunga."})),
        )
        .await;
    assert_eq!(replied.status, 201, "{}", replied.body);
    assert_eq!(
        numbers(&search(&office, &mdt, "latacunga").await),
        vec![ours.clone()]
    );

    // What cannot be searched is named.
    for (q, status) in [
        ("", 422),
        ("de la", 422),
        (&"x".repeat(201)[..], 422),
        ("a@b", 422),
    ] {
        let refused = search(&office, &mdt, q).await;
        assert_eq!(refused.status, status, "{q}: {}", refused.body);
        assert!(
            refused.body.to_string().contains("\"q\""),
            "{}",
            refused.body
        );
    }
    // Erased (the citizen's right): found by none of their words, their document or their
    // old address.
    let admin = office.agent("MDT", Role::Admin).await;
    let erased = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            Some(json!({ "email": email })),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    for q in [
        "Quishpe",
        "finiquito",
        "171003406-5",
        "latacunga",
        email.as_str(),
    ] {
        assert_eq!(
            numbers(&search(&office, &mdt, q).await),
            Vec::<String>::new(),
            "{q}"
        );
    }
    let none = search(&office, &mdt, "inexistente").await;
    assert_eq!(none.body["tickets"], Value::Array(vec![]));
    let anonymous = office
        .call(None, "GET", "/api/v1/agent/search?q=acta", None)
        .await;
    assert_eq!(anonymous.status, 401);
}

/// Issue 25: a data file of schema 12 (its word keys in a table with rowids) opens with the
/// keys moved to the table without rowids, every one of them, and its tickets are found by
/// their words as before.
#[tokio::test]
async fn words_written_before_schema_13_are_still_found() {
    let office = Office::new();
    let mdt = office.agent("MDT", Role::Agent).await;
    let email = format!("{}@example.com", ventanilla_tests::unique("rosa"));
    let ours = open(&office, &mdt, "Copia del acta de finiquito", &email).await;
    let path = office.dir.path().join("ventanilla.sqlite3");
    let old = rusqlite::Connection::open(&path).unwrap();
    let words_in = |connection: &rusqlite::Connection| -> i64 {
        connection
            .query_row("SELECT count(*) FROM search_words", [], |row| row.get(0))
            .unwrap()
    };
    let without_rowid = |connection: &rusqlite::Connection| -> bool {
        connection
            .query_row(
                "SELECT wr FROM pragma_table_list WHERE name = 'search_words'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    let written = words_in(&old);
    assert!(written > 5, "{written} word keys");
    assert!(
        without_rowid(&old),
        "a new file makes the table without rowids"
    );
    // Back to what schema 12 had.
    old.execute_batch(
        "CREATE TABLE words_12 (word TEXT NOT NULL, ticket TEXT NOT NULL,
             PRIMARY KEY (word, ticket));
         INSERT INTO words_12 SELECT word, ticket FROM search_words;
         DROP TABLE search_words;
         ALTER TABLE words_12 RENAME TO search_words;
         CREATE INDEX search_words_by_ticket ON search_words (ticket);
         PRAGMA user_version = 12;",
    )
    .unwrap();
    assert!(!without_rowid(&old));

    ventanilla_adapters::sqlite::SqliteStore::open(&path).unwrap();
    assert!(without_rowid(&old));
    assert_eq!(words_in(&old), written);
    drop(old);
    assert_eq!(
        numbers(&search(&office, &mdt, "acta finiquito").await),
        vec![ours]
    );
}
