//! Issue 24: exports of an agency's tickets for a period, as CSV and as a spreadsheet read
//! back by a real reader (openpyxl); personal data only for admins who ask, audited; other
//! agencies' tickets never in them.

use serde_json::{Value, json};
use ventanilla_domain::Category;
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::BlobStore;

use super::{Office, mdt_ticket, office_at};

/// The file behind an export's link, read from the blob folder the link serves.
async fn file(office: &Office, export: &Value) -> Vec<u8> {
    let url = export["url"].as_str().unwrap();
    let path = url
        .split_once("/blobs/")
        .unwrap()
        .1
        .split('?')
        .next()
        .unwrap();
    let key = ventanilla_domain::BlobKey::parse(path).unwrap();
    office.mail.blobs.get(&key).await.unwrap().bytes
}

async fn export(office: &Office, token: &str, body: Value) -> (u16, Value) {
    let reply = office
        .call(Some(token), "POST", "/api/v1/agent/exports", Some(body))
        .await;
    (reply.status, reply.body)
}

/// A spreadsheet's rows as openpyxl reads them.
fn spreadsheet_rows(bytes: &[u8]) -> Vec<Vec<Value>> {
    let python = std::env::var("VENTANILLA_PYTHON").unwrap_or_else(|_| {
        panic!("VENTANILLA_PYTHON is not set: run this through `infra/test.sh`, which installs openpyxl")
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys, openpyxl\n\
             sheet = openpyxl.load_workbook(sys.argv[1]).active\n\
             print(json.dumps({'title': sheet.title, 'rows': [list(r) for r in sheet.iter_rows(values_only=True)]}))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["title"], "Tickets");
    read["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn a_supervisor_exports_the_period_and_only_an_admin_gets_personal_data() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let admin = office.agent("MDT", Role::Admin).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let mintel = office.agent("MINTEL", Role::Supervisor).await;
    let first = mdt_ticket(&office, &clock, Category::Queja).await;
    let second = mdt_ticket(&office, &clock, Category::AccesoInformacion).await;
    clock.advance(chrono::Duration::days(1));
    let reply = office
        .call(
            Some(&agent),
            "POST",
            &format!("/api/v1/agent/tickets/{first}/replies"),
            Some(json!({"text": "Su queja fue atendida.", "status": "resolved"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    // Who may: supervisors and admins of the agency; personal data for admins only.
    assert_eq!(
        export(&office, &agent, json!({"format": "csv"})).await.0,
        403
    );
    assert_eq!(
        office
            .call(None, "POST", "/api/v1/agent/exports", Some(json!({})))
            .await
            .status,
        401
    );
    assert_eq!(
        export(&office, &supervisor, json!({"personal": true}))
            .await
            .0,
        403
    );
    assert_eq!(
        export(&office, &supervisor, json!({"agency": "MINTEL"}))
            .await
            .0,
        403
    );
    for (body, field) in [
        (json!({"format": "pdf"}), "format"),
        (json!({"period": "trimestre"}), "period"),
        (json!({"queue": "no-existe"}), "queue"),
        (
            json!({"period": "personalizado", "from": "2026-03-01"}),
            "to",
        ),
        (
            json!({"period": "personalizado", "from": "2025-01-01", "to": "2026-01-15"}),
            "to",
        ),
        // Dates past any arithmetic on them are refused, not computed on.
        (
            json!({"period": "personalizado", "from": "+262142-12-01", "to": "+262142-12-31"}),
            "from",
        ),
        (
            json!({"period": "personalizado", "from": "2026-01-01", "to": "65535-06-30"}),
            "to",
        ),
        (
            json!({"period": "personalizado", "from": "1900-01-01", "to": "1900-01-31"}),
            "from",
        ),
    ] {
        let (status, problem) = export(&office, &supervisor, body.clone()).await;
        assert_eq!(
            (status, &problem["errors"][0]["field"]),
            (422, &json!(field)),
            "{body}: {problem}"
        );
    }

    // The supervisor's CSV: a header in Spanish, a row per ticket, nothing personal.
    let (status, csv) = export(&office, &supervisor, json!({"format": "csv"})).await;
    assert_eq!(status, 201, "{csv}");
    assert_eq!((&csv["rows"], &csv["personal"]), (&json!(2), &json!(false)));
    assert_eq!(csv["file_name"], "MDT-tickets-2026-03-01-2026-03-17.csv");
    let text = String::from_utf8(file(&office, &csv).await).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for Excel");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("Número,Recibido,Categoría,Canal,Cola,Estado,Vence"),
        "{}",
        lines[0]
    );
    let answered = lines
        .iter()
        .find(|l| l.starts_with(first.as_str()))
        .unwrap();
    assert!(answered.contains("Queja"), "{answered}");
    assert!(answered.contains(",sí,"), "answered on time: {answered}");
    assert!(answered.contains("Agente de prueba"), "{answered}");
    assert!(
        lines.iter().any(|l| l.starts_with(second.as_str())),
        "{text}"
    );
    assert!(!text.contains("ciudadana@example.com"), "{text}");

    // An operator exports any agency's tickets, but no agency's requesters.
    let operator = office.agent("MINTEL", Role::Operator).await;
    assert_eq!(
        export(
            &office,
            &operator,
            json!({"agency": "MDT", "format": "csv"})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        export(
            &office,
            &operator,
            json!({"agency": "MDT", "personal": true})
        )
        .await
        .0,
        403
    );

    // Another agency's supervisor exports their own tickets: none of MDT's.
    let (status, theirs) = export(&office, &mintel, json!({"format": "csv"})).await;
    assert_eq!((status, &theirs["rows"]), (201, &json!(0)), "{theirs}");

    // The admin's spreadsheet with personal data, read by openpyxl, in English when asked.
    let reply = office
        .call_in(
            "en",
            Some(&admin),
            "POST",
            "/api/v1/agent/exports",
            Some(json!({"format": "xlsx", "personal": true})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let rows = spreadsheet_rows(&file(&office, &reply.body).await);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], "Number");
    assert_eq!(rows[0].last().unwrap(), "Phone");
    let row = rows.iter().find(|r| r[0] == first.as_str()).unwrap();
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    assert_eq!(row[column("E-mail")], "ciudadana@example.com");
    assert_eq!(row[column("Category")], "Complaint");
    assert_eq!(row[column("On time")], "yes");
    assert_eq!(
        row[column("Business days to finish")],
        json!(1),
        "a number a spreadsheet adds up"
    );

    // The personal export is in the audit log; the supervisor's is not.
    let audited: Vec<String> = {
        let db = rusqlite::Connection::open(office.dir.path().join("ventanilla.sqlite3")).unwrap();
        let mut statement = db
            .prepare("SELECT entry FROM audit WHERE ticket IS NULL")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let exports: Vec<&String> = audited
        .iter()
        .filter(|e| e.contains("export_personal_data"))
        .collect();
    assert_eq!(exports.len(), 1, "{audited:?}");
    assert!(
        exports[0].contains("2 filas con datos personales"),
        "{exports:?}"
    );
}

#[tokio::test]
async fn a_custom_period_exports_only_the_tickets_received_in_it() {
    let (office, clock) = office_at("2026-01-31T16:00:00Z");
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let january = mdt_ticket(&office, &clock, Category::Queja).await;
    // 23:30 in Ecuador on 28 February is already 1 March in UTC: still February's.
    clock.advance(chrono::Duration::days(28) + chrono::Duration::minutes(12 * 60 + 30));
    let february = mdt_ticket(&office, &clock, Category::Queja).await;
    clock.advance(chrono::Duration::hours(1));
    let march = mdt_ticket(&office, &clock, Category::Queja).await;
    let (status, exported) = export(
        &office,
        &supervisor,
        json!({"period": "personalizado", "from": "2026-02-01", "to": "2026-02-28", "format": "csv"}),
    )
    .await;
    assert_eq!(status, 201, "{exported}");
    let text = String::from_utf8(file(&office, &exported).await).unwrap();
    assert!(text.contains(february.as_str()), "{text}");
    assert!(!text.contains(january.as_str()), "{text}");
    assert!(!text.contains(march.as_str()), "{text}");
    assert_eq!(exported["rows"], 1);
}

#[tokio::test]
async fn the_lotaip_report_lists_each_request_for_information_with_its_answer() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let admin = office.agent("MDT", Role::Admin).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let request = mdt_ticket(&office, &clock, Category::AccesoInformacion).await;
    let complaint = mdt_ticket(&office, &clock, Category::Queja).await;
    let patch = |number: String, body: Value| {
        let office = &office;
        let agent = supervisor.clone();
        async move {
            let version = office
                .version(&ventanilla_domain::TicketNumber::parse(&number).unwrap())
                .await;
            let mut body = body;
            body["version"] = json!(version);
            office
                .call(
                    Some(&agent),
                    "PATCH",
                    &format!("/api/v1/agent/tickets/{number}"),
                    Some(body),
                )
                .await
        }
    };

    // Only a request for information has an answer, and a denial says why.
    let refused = patch(
        complaint.to_string(),
        json!({"information_answer": "granted"}),
    )
    .await;
    assert_eq!(
        (refused.status, &refused.body["errors"][0]["field"]),
        (422, &json!("information_answer")),
        "{}",
        refused.body
    );
    let refused = patch(request.to_string(), json!({"information_answer": "denied"})).await;
    assert_eq!(
        (refused.status, &refused.body["errors"][0]["field"]),
        (422, &json!("information_reason")),
        "{}",
        refused.body
    );
    let refused = patch(request.to_string(), json!({"information_answer": "quizas"})).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let refused = patch(
        request.to_string(),
        json!({"information_reason": "sin respuesta"}),
    )
    .await;
    assert_eq!(
        (refused.status, &refused.body["errors"][0]["field"]),
        (422, &json!("information_answer")),
        "{}",
        refused.body
    );
    // An agent who does not hold the ticket may not record its answer.
    let version = office.version(&request).await;
    let foreign = office
        .call(
            Some(&agent),
            "PATCH",
            &format!("/api/v1/agent/tickets/{request}"),
            Some(json!({"version": version, "information_answer": "granted"})),
        )
        .await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(refused.status, 422, "{}", refused.body);
    clock.advance(chrono::Duration::days(2));
    let answered = patch(
        request.to_string(),
        json!({"information_answer": "partly_granted", "information_reason": "Información reservada (art. 17)", "status": "resolved"}),
    )
    .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{request}"),
            None,
        )
        .await;
    assert_eq!(
        shown.body["information_answer"],
        json!({"outcome": "partly_granted", "reason": "Información reservada (art. 17)"})
    );

    // Without personal data, neither the subject nor the reason: they may name the requester.
    let (status, plain) = export(
        &office,
        &supervisor,
        json!({"report": "lotaip", "format": "csv"}),
    )
    .await;
    assert_eq!(status, 201, "{plain}");
    let text = String::from_utf8(file(&office, &plain).await).unwrap();
    assert!(text.contains("Entregada parcialmente"), "{text}");
    assert!(
        !text.contains("reservada") && !text.contains("Asunto"),
        "{text}"
    );
    let (status, report) = export(
        &office,
        &admin,
        json!({"report": "lotaip", "format": "xlsx", "personal": true}),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["file_name"], "MDT-lotaip-2026-03-01-2026-03-18.xlsx");
    let rows = spreadsheet_rows(&file(&office, &report).await);
    assert_eq!(rows.len(), 2, "the header and the one request: {rows:?}");
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let row = &rows[1];
    assert_eq!(row[0], request.as_str());
    assert_eq!(row[column("Respuesta")], "Entregada parcialmente");
    assert_eq!(row[column("Motivo")], "Información reservada (art. 17)");
    assert_eq!(row[column("Prórroga (días)")], json!(0));
    assert_eq!(row[column("Días hábiles hasta terminar")], json!(2));
    assert!(
        row[column("Asunto")].as_str().is_some(),
        "the subject is listed: {row:?}"
    );
    assert_eq!(
        export(&office, &supervisor, json!({"report": "anual"}))
            .await
            .0,
        422
    );
}
