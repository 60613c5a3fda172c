//! Issue 24: an agency's dashboard (supervisors, their agency only, JSON or charts with
//! tables) and the public statistics (every agency, small counts hidden, nothing personal).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_domain::Category;
use ventanilla_domain::model::agents::Role;

use ventanilla_adapters::system::UuidV7;
use ventanilla_app::open_ticket;
use ventanilla_domain::fakes::ManualClock;
use ventanilla_domain::{AgencyCode, QueueName};

use super::{Office, mdt_ticket, office_at};

/// A MINTEL ticket opened at the office's clock.
async fn mintel_ticket(office: &Office, clock: &ManualClock) {
    let mut new = ventanilla_tests::new_ticket(
        &AgencyCode::parse("MINTEL").unwrap(),
        Category::ProblemaTecnico,
        "otra@example.com",
    );
    new.queue = QueueName::parse("soporte-tecnico").unwrap();
    open_ticket::open(&office.store, clock, &UuidV7, new)
        .await
        .unwrap();
}

/// A GET with `accept`, as a browser or the console asks: status, content type, cache
/// control and body.
async fn get(
    office: &Office,
    token: Option<&str>,
    path: &str,
    accept: &str,
) -> (u16, String, String, String) {
    let mut request = Request::get(path).header("accept", accept);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = office
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (status, content_type, cache) = (
        response.status().as_u16(),
        header("content-type"),
        header("cache-control"),
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        cache,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

pub(super) async fn answer(office: &Office, token: &str, number: &str, status: &str) {
    let reply = office
        .call(
            Some(token),
            "POST",
            &format!("/api/v1/agent/tickets/{number}/replies"),
            Some(json!({"text": "Su trámite fue atendido.", "status": status})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn a_supervisor_reads_the_agencys_dashboard_and_no_one_else_does() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let operator = office.agent("MDT", Role::Operator).await;
    let mintel = office.agent("MINTEL", Role::Supervisor).await;
    let first = mdt_ticket(&office, &clock, Category::Queja).await;
    let second = mdt_ticket(&office, &clock, Category::Queja).await;
    let _third = mdt_ticket(&office, &clock, Category::AccesoInformacion).await;
    mintel_ticket(&office, &clock).await;
    clock.advance(chrono::Duration::days(1));
    answer(&office, &agent, first.as_str(), "resolved").await;
    answer(&office, &agent, second.as_str(), "waiting_on_citizen").await;

    let path = "/api/v1/agent/dashboard?period=mes";
    assert_eq!(
        office.call(Some(&agent), "GET", path, None).await.status,
        403
    );
    assert_eq!(office.call(None, "GET", path, None).await.status, 401);
    let seen = office.call(Some(&supervisor), "GET", path, None).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let totals = &seen.body["totals"];
    assert_eq!(
        (
            &totals["opened"],
            &totals["category.queja"],
            &totals["finished"],
            &totals["responded"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(2)),
        "{totals}"
    );
    assert_eq!(
        totals["finished_on_time"], 1,
        "answered the next business day"
    );
    assert_eq!(
        seen.body["period"],
        json!({"from": "2026-03-01", "to": "2026-03-17"})
    );
    let workload = seen.body["workload"].as_array().unwrap();
    assert!(
        workload
            .iter()
            .any(|w| w["finished"] == 1 && w["name"] == "Agente de prueba"),
        "{workload:?}"
    );
    assert!(seen.body["items_read"].as_u64().unwrap() >= 2);

    // Another agency's: operators only.
    let theirs = "/api/v1/agent/dashboard?agency=MINTEL";
    assert_eq!(
        office
            .call(Some(&supervisor), "GET", theirs, None)
            .await
            .status,
        403
    );
    let mintel_seen = office
        .call(Some(&mintel), "GET", "/api/v1/agent/dashboard", None)
        .await;
    assert_eq!(
        mintel_seen.body["totals"]["opened"], 1,
        "{}",
        mintel_seen.body
    );
    let operated = office.call(Some(&operator), "GET", theirs, None).await;
    assert_eq!(
        (operated.status, &operated.body["agency"]),
        (200, &json!("MINTEL"))
    );

    // Bad periods and queues are named.
    for (query, field) in [
        ("period=trimestre", "period"),
        ("period=personalizado&from=2026-03-10", "to"),
        ("period=personalizado&from=2026-03-10&to=2026-03-01", "to"),
        ("period=personalizado&from=2020-01-01&to=2026-03-01", "to"),
        (
            "period=personalizado&from=%2B262142-12-01&to=%2B262142-12-31",
            "from",
        ),
        ("period=personalizado&from=1999-12-01&to=1999-12-31", "from"),
        ("period=personalizado&from=10/03/2026&to=2026-03-11", "from"),
        ("queue=no-existe", "queue"),
    ] {
        let bad = office
            .call(
                Some(&supervisor),
                "GET",
                &format!("/api/v1/agent/dashboard?{query}"),
                None,
            )
            .await;
        assert_eq!(
            (bad.status, &bad.body["errors"][0]["field"]),
            (422, &json!(field)),
            "{query}: {}",
            bad.body
        );
    }
    let queue = office
        .call(
            Some(&supervisor),
            "GET",
            "/api/v1/agent/dashboard?queue=general",
            None,
        )
        .await;
    assert_eq!(
        queue.body["totals"].get("opened"),
        None,
        "MDT's tickets are in atencion-ciudadana"
    );

    // The console's fragment: a chart and a table per figure, in Spanish.
    let (status, content_type, _, html) = get(
        &office,
        Some(&supervisor),
        "/api/v1/agent/dashboard?period=anio",
        "text/html",
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(
        html.contains(r#"<svg role="img" aria-labelledby="categorias-t""#),
        "{html}"
    );
    assert!(
        html.contains("Recibidos por categoría") && html.contains("<th scope=\"row\">Queja</th>")
    );
    assert!(html.contains("Acceso a información pública (LOTAIP)"));
    assert!(
        !html.contains("<script"),
        "no script in what the console shows"
    );
    let (_, _, _, english) = get(
        &office,
        Some(&supervisor),
        "/api/v1/agent/dashboard?period=anio&lang=en",
        "text/html",
    )
    .await;
    assert!(english.contains("Received by category"), "{english}");
}

/// An agent's name is shown as text, in the chart and in the table.
#[tokio::test]
async fn names_in_the_dashboard_are_text() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let (_, token) = ventanilla_app::agents::create(
        &office.store,
        &*clock,
        ventanilla_domain::AgentId::parse("ana").unwrap(),
        "<img src=x onerror=alert(1)>".into(),
        AgencyCode::parse("MDT").unwrap(),
        Role::Agent,
        None,
    )
    .await
    .unwrap();
    let number = mdt_ticket(&office, &clock, Category::Queja).await;
    answer(&office, token.expose(), number.as_str(), "closed").await;
    let (_, _, _, html) = get(
        &office,
        Some(&supervisor),
        "/api/v1/agent/dashboard",
        "text/html",
    )
    .await;
    assert!(!html.contains("<img"), "{html}");
    // Escaped by the table's template and by plotters in the chart.
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62; (ana)"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt; (ana)"),
        "{html}"
    );
}

#[tokio::test]
async fn the_public_statistics_hide_small_counts_and_show_nothing_personal() {
    let (office, clock) = office_at("2026-02-10T15:00:00Z");
    let agent = office.agent("MDT", Role::Agent).await;
    let mut numbers = Vec::new();
    for _ in 0..6 {
        numbers.push(mdt_ticket(&office, &clock, Category::Queja).await);
    }
    numbers.push(mdt_ticket(&office, &clock, Category::Denuncia).await);
    mintel_ticket(&office, &clock).await;
    clock.advance(chrono::Duration::days(2));
    for number in &numbers[..5] {
        answer(&office, &agent, number.as_str(), "resolved").await;
    }
    let (status, content_type, cache, body) =
        get(&office, None, "/api/v1/stats?year=2026", "application/json").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json"),
        "{body}"
    );
    assert_eq!(cache, "public, max-age=600");
    let stats: Value = serde_json::from_str(&body).unwrap();
    let agency = |code: &str| {
        stats["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agency"] == code)
            .unwrap()
            .clone()
    };
    let mdt = agency("MDT");
    let february = &mdt["months"][1];
    assert_eq!(february["month"], "2026-02");
    assert_eq!(
        (&february["received"], &february["answered"]),
        (&json!(7), &json!(5))
    );
    assert_eq!(february["on_time_share"], 1.0);
    assert_eq!(february["median_days"], 2);
    // 7 received less 6 complaints would tell the one denuncia: the row's cells are hidden alike.
    assert_eq!(
        february["by_category"],
        json!([["queja", "*"], ["denuncia", "*"]])
    );
    assert_eq!(agency("MINTEL")["months"][1]["received"], "<5");
    assert_eq!(agency("MINTEL")["months"][1]["on_time_share"], Value::Null);
    assert!(
        !body.contains("example.com") && !body.contains("licencia"),
        "{body}"
    );

    let (status, content_type, _, html) =
        get(&office, None, "/estadisticas?year=2026", "text/html").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(
        html.contains("<svg role=\"img\"") && html.contains("febrero 2026"),
        "{html}"
    );
    assert!(html.contains("<td>&#60;5</td>"), "{html}");
    assert!(html.contains("Ministerio"), "agencies by name");
    let (status, _, _, _) = get(&office, None, "/api/v1/stats?year=1999", "application/json").await;
    assert_eq!(status, 422);
}
