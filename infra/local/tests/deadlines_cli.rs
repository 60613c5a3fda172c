//! `ventanilla-local deadlines backfill`: a data folder with a ticket opened before due dates
//! were kept, run through the binary; the ticket gets its term once.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::open_ticket::{NewTicket, open};
use ventanilla_domain::ports::TicketStore;
use ventanilla_domain::{
    AgencyCode, Body, Category, Email, PersonName, QueueName, Requester, Subject,
};

fn backfill(data: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
        .args(["deadlines", "backfill", "--data-dir", data])
        .env_remove("VENTANILLA_CONFIG")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_ticket_opened_before_terms_gets_one_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ventanilla.sqlite3")).unwrap();
    let ticket = open(
        &store,
        &SystemClock,
        &UuidV7,
        NewTicket {
            agency: AgencyCode::parse("MDT").unwrap(),
            queue: QueueName::parse("atencion-ciudadana").unwrap(),
            category: Category::Queja,
            requester: Requester {
                name: PersonName::parse("Rosa Quishpe").unwrap(),
                email: Some(Email::parse("rosa@example.com").unwrap()),
                id_document: None,
                phone: None,
                nationality: None,
                gender: None,
                user_type: None,
            },
            subject: Subject::parse("Sin respuesta").unwrap(),
            description: Body::parse("Nadie me atendió.").unwrap(),
            attachments: Vec::new(),
            mail: None,
            idempotency_key: None,
            linked_to: None,
            channel: ventanilla_domain::Channel::Formulario,
            acknowledgement: None,
            alert: None,
            term: None,
        },
    )
    .await
    .unwrap()
    .into_ticket();
    assert_eq!(ticket.due_on, None);
    drop(store);
    let data = dir.path().to_str().unwrap();
    assert_eq!(
        backfill(data),
        "1 unfinished tickets written again; 1 of them got a term and a due date.\n"
    );
    assert_eq!(
        backfill(data),
        "1 unfinished tickets written again; 0 of them got a term and a due date.\n"
    );
    let store = SqliteStore::open(&dir.path().join("ventanilla.sqlite3")).unwrap();
    let read = store.ticket(&ticket.number).await.unwrap();
    assert!(read.due_on.is_some());
    assert_eq!(
        read.term.unwrap().basis,
        "COA, art. 207 (silencio administrativo)"
    );
}
