//! Issue 24, satisfaction: the mail of the reply that finishes a ticket carries five rating
//! links; opening one records nothing, sending its form records the rating once per ticket,
//! whatever link, retry or race comes after; the dashboard, the ticket's view and the public
//! statistics show the results. Attacked: forged, swapped and other kinds of tokens, bad
//! scores and comments, ten ratings at once, a flood from one source.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::TicketStore;
use ventanilla_domain::{Category, TicketNumber};

use super::figures::answer;
use super::{Office, mdt_ticket, office_at};

/// An answer as a browser or a program reads it: status and body.
struct Page {
    status: u16,
    body: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(router: &Router, request: Request<Body>) -> Page {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn open_link(office: &Office, path: &str) -> Page {
    let request = Request::get(path).body(Body::empty()).unwrap();
    send(&office.intake, request).await
}

/// The rating form sent as a browser sends it (`json`: asking for JSON, as a program).
async fn rate(office: &Office, path: &str, fields: &[(&str, &str)], json: bool) -> Page {
    let body: String = fields
        .iter()
        .map(|(name, value)| {
            let value: String = value
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let path = path.split('?').next().unwrap();
    let request = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "accept",
            if json {
                "application/json"
            } else {
                "text/html"
            },
        )
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    send(&office.intake, request).await
}

/// The text of every mail about `number` in the outbox, decoded.
fn mails_about(office: &Office, number: &TicketNumber) -> Vec<String> {
    office
        .outbox()
        .iter()
        .filter_map(|raw| {
            let mail = mail_parser::MessageParser::default().parse(raw.as_bytes())?;
            let subject = mail.subject().unwrap_or_default().to_owned();
            subject
                .contains(number.as_str())
                .then(|| mail.body_text(0).unwrap_or_default().into_owned())
        })
        .collect()
}

/// The rating links of the mail about `number` that has them: (score, path), 5 first.
fn rating_links(office: &Office, number: &TicketNumber) -> Vec<(String, String)> {
    let mails: Vec<String> = mails_about(office, number)
        .into_iter()
        .filter(|text| text.contains("/valorar/"))
        .collect();
    assert_eq!(mails.len(), 1, "one mail asks for a rating: {mails:?}");
    mails[0]
        .lines()
        .filter_map(|line| {
            let at = line.find("/valorar/")?;
            Some((line[..1].to_owned(), line[at..].trim().to_owned()))
        })
        .collect()
}

async fn rating_of(office: &Office, number: &TicketNumber) -> Option<(u8, Option<String>)> {
    let ticket = office.store.ticket(number).await.unwrap();
    ticket.rating.map(|r| (r.score, r.comment))
}

#[tokio::test]
async fn the_finishing_mail_rates_the_ticket_once_and_the_figures_show_it() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let agent = office.agent("MDT", Role::Agent).await;
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(mdt_ticket(&office, &clock, Category::Queja).await);
    }
    let waiting = mdt_ticket(&office, &clock, Category::Queja).await;
    clock.advance(chrono::Duration::days(1));
    // A reply that does not finish the ticket asks for nothing.
    answer(&office, &agent, waiting.as_str(), "waiting_on_citizen").await;
    let asked = mails_about(&office, &waiting);
    assert_eq!(asked.len(), 1);
    assert!(!asked[0].contains("/valorar/"), "{}", asked[0]);
    for number in &numbers {
        answer(&office, &agent, number.as_str(), "resolved").await;
    }
    let first = &numbers[0];
    let links = rating_links(&office, first);
    let scores: Vec<&str> = links.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(scores, ["5", "4", "3", "2", "1"], "{links:?}");
    let mail = &mails_about(&office, first)[0];
    assert!(mail.contains("¿Cómo le atendimos?"), "{mail}");
    assert!(mail.contains("4 - Buena: http://127.0.0.1:3000/valorar/"));
    let link_four = &links[1].1;
    assert!(link_four.ends_with("?nota=4"), "{link_four}");

    // Opening the links (a mail scanner opens them all) records nothing; the page has the
    // link's score chosen.
    for (_, link) in &links {
        let page = open_link(&office, link).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    let page = open_link(&office, link_four).await;
    assert!(page.body.contains(first.as_str()), "{}", page.body);
    assert!(
        page.body
            .contains(r#"id="score-4" name="score" value="4" required checked"#),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"value="5" required checked"#));
    assert_eq!(rating_of(&office, first).await, None);

    // Forged, swapped, someone else's or another kind of token: not found.
    let token = link_four
        .trim_start_matches("/valorar/")
        .split('?')
        .next()
        .unwrap();
    let swapped = format!(
        "{}.{}",
        numbers[1],
        token.split_once('.').unwrap().1 // first's expiry and signature on second's number
    );
    let mut flipped = token.to_owned();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let access = mails_about(&office, first)[0]
        .split("/estado/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    for bad in [
        swapped.as_str(),
        flipped.as_str(),
        access.as_str(),
        "x",
        "MDT-QUE-2026-00001.99999999999.AAAA",
    ] {
        let page = open_link(&office, &format!("/valorar/{bad}")).await;
        assert_eq!(page.status, 404, "{bad}: {}", page.body);
        assert!(page.body.contains("caducó o no es válido"), "{}", page.body);
        let sent = rate(&office, &format!("/valorar/{bad}"), &[("score", "5")], true).await;
        assert_eq!(sent.status, 404, "{bad}: {}", sent.body);
    }
    assert_eq!(rating_of(&office, &numbers[1]).await, None);

    // Bad input: the form again, saying what is wrong; a program gets the fields named.
    let bad = rate(
        &office,
        link_four,
        &[("score", "9"), ("comment", "Hola")],
        false,
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains(r#"id="rating-error""#), "{}", bad.body);
    assert!(
        bad.body.contains(">Hola</textarea>"),
        "what was typed stays"
    );
    let long = "x".repeat(1001);
    for (fields, field) in [
        (vec![("comment", "Sin nota")], "score"),
        (vec![("score", "0")], "score"),
        (vec![("score", "4"), ("comment", long.as_str())], "comment"),
        (vec![("score", "4"), ("comment", "a\u{7}b")], "comment"),
    ] {
        let sent = rate(&office, link_four, &fields, true).await;
        assert_eq!(sent.status, 422, "{}", sent.body);
        assert_eq!(sent.json()["errors"][0]["field"], field, "{}", sent.body);
    }
    assert_eq!(rating_of(&office, first).await, None);

    // Recorded once: the thanks, then whatever comes after keeps the first.
    let thanks = rate(
        &office,
        link_four,
        &[("score", "4"), ("comment", "Me atendieron con paciencia.")],
        false,
    )
    .await;
    assert_eq!(thanks.status, 200, "{}", thanks.body);
    assert!(thanks.body.contains("Su valoración quedó registrada"));
    assert!(thanks.body.contains("4 · Buena"), "{}", thanks.body);
    let again = rate(&office, &links[4].1, &[("score", "1")], false).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("ya fue valorada"), "{}", again.body);
    let program = rate(&office, &links[0].1, &[("score", "5")], true).await;
    assert_eq!(program.status, 200);
    assert_eq!(
        program.json(),
        json!({"number": first.as_str(), "score": 4, "recorded": false})
    );
    let reopened = open_link(&office, &links[0].1).await;
    assert!(reopened.body.contains("ya fue valorada"));
    assert!(!reopened.body.contains("rating-form"), "no form once rated");
    assert_eq!(
        rating_of(&office, first).await,
        Some((4, Some("Me atendieron con paciencia.".into())))
    );

    // The others rated 5, 3, 4, 5: five ratings, a mean of 4.2.
    for (number, score) in numbers[1..].iter().zip(["5", "3", "4", "5"]) {
        let links = rating_links(&office, number);
        let sent = rate(&office, &links[0].1, &[("score", score)], true).await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        assert_eq!(sent.json()["recorded"], true);
    }

    // The agent sees the rating on the ticket; the supervisor on the dashboard.
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{first}"),
            None,
        )
        .await;
    assert_eq!(shown.body["rating"]["score"], 4, "{}", shown.body);
    assert_eq!(
        shown.body["rating"]["comment"],
        "Me atendieron con paciencia."
    );
    let dashboard = office
        .call(
            Some(&supervisor),
            "GET",
            "/api/v1/agent/dashboard?period=mes",
            None,
        )
        .await;
    let totals = &dashboard.body["totals"];
    assert_eq!(
        (
            &totals["rating.5"],
            &totals["rating.4"],
            &totals["rating.3"]
        ),
        (&json!(2), &json!(2), &json!(1)),
        "{totals}"
    );
    let request = Request::get("/api/v1/agent/dashboard?period=mes")
        .header("accept", "text/html")
        .header("authorization", format!("Bearer {supervisor}"))
        .body(Body::empty())
        .unwrap();
    let charts = send(&office.router, request).await;
    assert_eq!(charts.status, 200);
    assert!(charts.body.contains("Valoraciones de los ciudadanos"));
    assert!(
        charts.body.contains("4,2 (5 valoraciones)"),
        "{}",
        charts.body
    );

    // The public statistics: five ratings and their mean, nothing else of them.
    let (status, stats) = office.raw_get("/api/v1/stats?year=2026").await;
    assert_eq!(status, 200, "{stats}");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    let mdt = stats["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"] == "MDT")
        .unwrap();
    let march = mdt["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == "2026-03")
        .unwrap();
    assert_eq!(
        (&march["rated"], &march["rating_average"]),
        (&json!(5), &json!(4.2))
    );
    assert!(
        !stats.to_string().contains("paciencia"),
        "no comment is public"
    );
    let (_, page) = office.raw_get("/estadisticas?year=2026&lang=es").await;
    assert!(page.contains("Valoración media"), "{page}");
    assert!(page.contains("4,2"));
}

#[tokio::test]
async fn ten_ratings_at_once_record_one_and_a_flood_is_stopped() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let agent = office.agent("MDT", Role::Agent).await;
    let number = mdt_ticket(&office, &clock, Category::Queja).await;
    let other = mdt_ticket(&office, &clock, Category::Queja).await;
    clock.advance(chrono::Duration::days(1));
    answer(&office, &agent, number.as_str(), "closed").await;
    answer(&office, &agent, other.as_str(), "resolved").await;
    let links = rating_links(&office, &number);
    let tries = (0..10).map(|i| {
        let (_, link) = &links[i % 5];
        let score = (5 - i % 5).to_string();
        // Each its own: the same rating sent twice in the same millisecond is one, and both
        // are told it was recorded.
        let comment = format!("intento {i}");
        let office = &office;
        async move {
            let fields = [("score", score.as_str()), ("comment", comment.as_str())];
            rate(office, link, &fields, true).await
        }
    });
    let answers = futures::future::join_all(tries).await;
    let recorded: Vec<Value> = answers
        .iter()
        .map(|a| {
            assert!(a.status == 200 || a.status == 201, "{}", a.body);
            a.json()
        })
        .filter(|body| body["recorded"] == true)
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let (score, _) = rating_of(&office, &number).await.unwrap();
    assert_eq!(recorded[0]["score"], score);
    assert!(answers.iter().all(|a| a.json()["score"] == score));
    let ticket = office.store.ticket(&number).await.unwrap();
    let figures = ventanilla_app::stats_check::check(&office.store)
        .await
        .unwrap();
    assert!(figures.differences.is_empty(), "{:?}", figures.differences);
    assert_eq!(
        ticket.status,
        ventanilla_domain::Status::Closed,
        "a rating changes no status"
    );

    // One source may send 30 ratings an hour: past them, 429, and nothing is recorded.
    let other_link = &rating_links(&office, &other)[0].1;
    let mut last = 0;
    for _ in 0..25 {
        last = rate(&office, &links[0].1, &[("score", "1")], true)
            .await
            .status;
    }
    assert_eq!(last, 429);
    let stopped = rate(&office, other_link, &[("score", "5")], true).await;
    assert_eq!(stopped.status, 429, "{}", stopped.body);
    assert_eq!(rating_of(&office, &other).await, None);
}

#[tokio::test]
async fn a_reply_quoting_the_finishing_mail_shows_the_agents_no_rating_link() {
    let (office, clock) = office_at("2026-03-16T15:00:00Z");
    let agent = office.agent("MDT", Role::Agent).await;
    let number = mdt_ticket(&office, &clock, Category::Queja).await;
    clock.advance(chrono::Duration::days(1));
    answer(&office, &agent, number.as_str(), "resolved").await;
    let links = rating_links(&office, &number);
    let token = links[0]
        .1
        .trim_start_matches("/valorar/")
        .split('.')
        .nth(2)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let finishing = office
        .outbox()
        .into_iter()
        .find(|raw| raw.contains("/valorar/"))
        .unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(finishing.as_bytes())
        .unwrap();
    let id = format!("<{}>", parsed.message_id().unwrap());
    let quoted: String = parsed
        .body_text(0)
        .unwrap()
        .lines()
        .map(|line| format!("> {line}\r\n"))
        .collect();
    let raw = format!(
        "From: Ciudadana <ciudadana@example.com>\r\n\
         To: soporte@ventanilla.example.gob.ec\r\n\
         Subject: Re: {}\r\n\
         Message-ID: <{}@example.com>\r\nIn-Reply-To: {id}\r\nReferences: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Gracias, ya funciona.\r\n\r\nEl lunes, Ventanilla escribió:\r\n{quoted}",
        parsed.subject().unwrap(),
        ventanilla_tests::unique("gracias")
    );
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(outcome.ticket(), Some(&number), "{outcome:?}");
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            None,
        )
        .await;
    let thanks = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"].as_str().unwrap_or_default().contains("Gracias"))
        .unwrap_or_else(|| panic!("{}", shown.body));
    let seen = thanks.to_string();
    assert!(seen.contains("/valorar/…"), "{seen}");
    assert!(
        !seen.contains(&token),
        "no signature reaches the agents: {seen}"
    );
    // The citizen's own link still rates.
    let sent = rate(&office, &links[1].1, &[("score", "4")], true).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
}
