//! `ventanilla-local export`: a data folder's tickets of a year, and its LOTAIP report, written
//! to a file through the binary.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::open_ticket::{NewTicket, open};
use ventanilla_domain::ports::Clock;
use ventanilla_domain::{
    AgencyCode, Body, Category, Email, PersonName, QueueName, Requester, Subject,
};

fn export(data: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
        .args(["export", "--agency", "MDT", "--data-dir", data])
        .args(args)
        .output()
        .unwrap()
}

async fn ticket(store: &SqliteStore, category: Category, subject: &str) -> String {
    open(
        store,
        &SystemClock,
        &UuidV7,
        NewTicket {
            agency: AgencyCode::parse("MDT").unwrap(),
            queue: QueueName::parse("atencion-ciudadana").unwrap(),
            category,
            requester: Requester {
                name: PersonName::parse("Rosa Quishpe").unwrap(),
                email: Some(Email::parse("rosa@example.com").unwrap()),
                id_document: None,
                phone: None,
                nationality: None,
                gender: None,
                user_type: None,
            },
            subject: Subject::parse(subject).unwrap(),
            description: Body::parse("Solicito la información.").unwrap(),
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
    .into_ticket()
    .number
    .to_string()
}

#[tokio::test]
async fn a_years_tickets_and_its_lotaip_report_are_written_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ventanilla.sqlite3")).unwrap();
    let request = ticket(&store, Category::AccesoInformacion, "Presupuesto 2025").await;
    let complaint = ticket(&store, Category::Queja, "Sin respuesta").await;
    drop(store);
    let data = dir.path().to_str().unwrap();
    let year = ventanilla_domain::rules::deadline::day_in_ecuador(SystemClock.now())
        .format("%Y")
        .to_string();

    let report = dir.path().join("lotaip.csv");
    let output = export(
        data,
        &[
            "--year",
            &year,
            "--report",
            "lotaip",
            "--personal",
            "--output",
            report.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("1 tickets written to "));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("Tipo de solicitante,Canal"), "{text}");
    assert!(text.contains("Asunto,Motivo,Nombre"), "{text}");
    assert!(
        text.contains(&request) && text.contains("Presupuesto 2025"),
        "{text}"
    );
    assert!(
        text.contains("sin registrar"),
        "no answer recorded yet: {text}"
    );
    assert!(
        !text.contains(&complaint),
        "only requests for information: {text}"
    );

    let all = dir.path().join("tickets.xlsx");
    let output = export(data, &["--year", &year, "--output", all.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("2 tickets written to "));
    assert!(std::fs::read(&all).unwrap().starts_with(b"PK"));

    // A file of another kind, and days the wrong way round, are refused.
    for output in ["informe.pdf", "informe", ".csv"] {
        let refused = export(data, &["--year", &year, "--output", output]);
        assert!(!refused.status.success(), "{output}");
    }
    let refused = export(data, &["--year", "1999", "--output", "x.csv"]);
    assert!(!refused.status.success());
    let refused = export(
        data,
        &["--year", &year, "--lang", "fr", "--output", "x.csv"],
    );
    assert!(!refused.status.success());
    let output = export(
        data,
        &[
            "--from",
            "2026-03-10",
            "--to",
            "2026-03-01",
            "--output",
            "x.csv",
        ],
    );
    assert!(!output.status.success());
}
