//! `GET /` and `POST /api/v1/tickets`.

use mail_parser::{HeaderValue, MessageParser};
use serde_json::json;
use ventanilla_domain::Choice;

use crate::harness::{Event, Harness, PNG, ticket_form, ticket_json};

fn form_fields(email: &str) -> Vec<(String, String)> {
    ticket_form(email)
}

fn as_refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn the_form_is_spanish_by_default_and_english_on_request() {
    let h = Harness::new();
    let es = h.send(Event::get("/")).await;
    assert_eq!(es.status, 200);
    assert!(es.header("content-type").unwrap().starts_with("text/html"));
    let page = es.text();
    assert!(page.contains("<html lang=\"es\">"));
    assert!(page.contains("Abrir un nuevo ticket"));
    for field in [
        "agency",
        "category",
        "nationality",
        "id_type",
        "id_number",
        "full_name",
        "email",
        "gender",
        "phone",
        "user_type",
        "subject",
        "description",
        "screenshots",
    ] {
        assert!(page.contains(&format!("id=\"{field}\"")), "{field} missing");
        assert!(
            page.contains(&format!("for=\"{field}\"")),
            "{field} has no label"
        );
    }
    assert!(page.contains("enctype=\"multipart/form-data\""));
    assert!(page.contains("name=\"idempotency_token\""));
    assert!(page.contains("<option value=\"problema_tecnico\">Problema técnico</option>"));

    let en = h.send(Event::get("/?lang=en")).await;
    assert!(en.text().contains("<html lang=\"en\">"));
    assert!(en.text().contains("Open a new ticket"));
    let negotiated = h
        .send(Event::get("/").header("accept-language", "en-US,en;q=0.9,es;q=0.5"))
        .await;
    assert!(negotiated.text().contains("<html lang=\"en\">"));
}

/// The nationality choices as the page lists them: (code, name), in order.
fn nationalities(page: &str) -> Vec<(String, String)> {
    let select = page
        .split("<select id=\"nationality\"")
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .expect("the nationality list");
    select
        .split("<option value=\"")
        .skip(1)
        .filter_map(|option| {
            let (code, rest) = option.split_once('"')?;
            let name = rest.split_once('>')?.1.split("</option>").next()?;
            (!code.is_empty()).then(|| (code.to_owned(), name.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn countries_are_named_and_sorted_in_the_readers_language_ecuador_first() {
    let h = Harness::new();
    let spanish = nationalities(&h.send(Event::get("/")).await.text());
    let english = nationalities(&h.send(Event::get("/?lang=en")).await.text());
    assert!(spanish.len() >= 249, "{}", spanish.len());
    assert_eq!(spanish.len(), english.len());
    assert_eq!(spanish[0], ("EC".into(), "Ecuador".into()));
    assert_eq!(english[0], ("EC".into(), "Ecuador".into()));
    let at = |list: &[(String, String)], name: &str| {
        list.iter()
            .position(|(_, n)| n == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(at(&spanish, "Alemania") < at(&spanish, "Bélgica"));
    // The Spanish way: accents ignored (by bytes "Bélgica" would follow "Belice").
    assert!(at(&spanish, "Bélgica") < at(&spanish, "Belice"));
    assert!(
        !spanish
            .iter()
            .any(|(_, n)| n == "Germany" || n == "United States")
    );
    assert!(at(&english, "Germany") < at(&english, "Peru"));
    assert!(!english.iter().any(|(_, n)| n == "Alemania"));
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let h = Harness::new();
    let page = h.send(Event::get("/")).await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    // The one script is a file of our own (the screenshots' limits), never inline.
    let text = page.text();
    let scripts: Vec<&str> = text.split("<script").skip(1).collect();
    assert!(
        scripts
            .iter()
            .all(|s| s.starts_with(" src=\"/static/form.js\" defer></script>")),
        "no inline script: {scripts:?}"
    );
    assert!(!page.text().contains("style="), "no inline style");
    let css = h.send(Event::get("/static/site.css")).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let script = h.send(Event::get("/static/form.js")).await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().contains("setCustomValidity"));
}

#[tokio::test]
async fn json_opens_a_ticket_and_the_citizen_gets_an_acknowledgement() {
    let h = Harness::new();
    let answer = h
        .send(Event::post_json(
            "/api/v1/tickets",
            &ticket_json("maria.perez@example.com"),
        ))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["number"], "MDT-QUE-2025-00001");
    assert_eq!(body["status"], "new");
    assert_eq!(body["created_at"], "2025-03-03T14:00:00.000Z");
    let access_url = body["access_url"].as_str().unwrap();
    assert!(access_url.starts_with("https://ventanilla.example.gob.ec/estado/MDT-QUE-2025-00001."));

    let outbox = h.outbox();
    assert_eq!(outbox.len(), 1);
    let mail = MessageParser::default().parse(&outbox[0]).unwrap();
    let subject = mail.subject().unwrap();
    assert!(
        subject.starts_with("[MDT-QUE-2025-00001] Recibimos su solicitud"),
        "{subject}"
    );
    assert_eq!(
        mail.from().unwrap().first().unwrap().address(),
        Some("no-responder@ventanilla.example.gob.ec")
    );
    assert_eq!(
        mail.reply_to().unwrap().first().unwrap().address(),
        Some("soporte@ventanilla.example.gob.ec")
    );
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("maria.perez@example.com")
    );
    assert_eq!(
        mail.header("Auto-Submitted").and_then(|v| v.as_text()),
        Some("auto-replied")
    );
    let references = match mail.header("References") {
        Some(HeaderValue::Text(id)) => vec![id.to_string()],
        Some(HeaderValue::TextList(ids)) => ids.iter().map(|s| s.to_string()).collect(),
        other => panic!("References: {other:?}"),
    };
    assert!(
        references.contains(&"ticket.mdt-que-2025-00001@ventanilla.example.gob.ec".to_string())
    );
    let text = mail.body_text(0).unwrap();
    assert!(text.contains(access_url), "the access link is in the mail");
    // A queja: the COA's 30 business days from Carnival 2025 (docs/DEADLINES.md).
    assert!(
        text.contains("Le responderemos hasta el miércoles 16 de abril de 2025."),
        "{text}"
    );
    // Anyone can type any address into the form: the acknowledgement carries nothing typed
    // (issue 18, point 11), neither the text, nor the subject, nor the name.
    assert!(!text.contains("mi trámite lleva tres semanas"), "{text}");
    assert!(!text.contains("María"), "{text}");
    assert!(!subject.contains("Demora"), "{subject}");
    assert_eq!(mail.to().unwrap().first().unwrap().name(), None);

    // The mail's Message-ID finds the ticket, so a reply to it threads.
    let own_id =
        ventanilla_domain::model::mail::MailMessageId::parse(mail.message_id().unwrap()).unwrap();
    use ventanilla_domain::ports::TicketStore;
    assert_eq!(
        h.store
            .find_by_mail_ids(std::slice::from_ref(&own_id))
            .await
            .unwrap()[0]
            .clone()
            .unwrap()
            .as_str(),
        "MDT-QUE-2025-00001"
    );
}

#[tokio::test]
async fn the_form_with_a_screenshot_opens_a_ticket_and_shows_its_number() {
    let h = Harness::new();
    let mut fields = form_fields("ana@example.com");
    fields.push(("idempotency_token".into(), "form-token-1234".into()));
    let answer = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &as_refs(&fields),
            &[("pantalla.png", PNG)],
        ))
        .await;
    // Sent on to the confirmation's own address (reloading it sends nothing again).
    let location = answer.header("location").unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/estado/MDT-QUE-2025-00001.")
            && location.contains("/recibido?lang=es"),
        "{location}"
    );
    let confirmation = h.follow(&answer).await;
    assert_eq!(confirmation.status, 200, "{}", confirmation.text());
    let page = confirmation.text();
    assert!(page.contains("<strong id=\"ticket-number\">MDT-QUE-2025-00001</strong>"));
    assert!(page.contains("href=\"https://ventanilla.example.gob.ec/estado/MDT-QUE-2025-00001."));

    // The screenshot is stored and listed with a download link.
    let lookup = h
        .send(Event::post_json(
            "/api/v1/tickets/lookup",
            &json!({"email": "ana@example.com", "number": "MDT-QUE-2025-00001"}),
        ))
        .await;
    let attachment = &lookup.json()["messages"][0]["attachments"][0];
    assert_eq!(attachment["name"], "pantalla.png");
    assert_eq!(attachment["size"], PNG.len());
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .starts_with("https://ventanilla.example.gob.ec/blobs/attachments/")
    );
    use ventanilla_domain::BlobKey;
    use ventanilla_domain::ports::{BlobStore, TicketStore};
    let number = ventanilla_domain::TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
    let thread = h.store.thread(&number).await.unwrap().1;
    let key: &BlobKey = &thread[0].attachments[0].blob;
    let blob = h.blobs.get(key).await.unwrap();
    assert_eq!(blob.bytes, PNG);
    assert_eq!(blob.content_type, "image/png");

    // The same form sent again (a double click, a reload) gives the same ticket.
    let again = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &as_refs(&fields),
            &[("pantalla.png", PNG)],
        ))
        .await;
    assert_eq!(again.status, 303);
    assert!(h.follow(&again).await.text().contains("MDT-QUE-2025-00001"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(h.outbox().len(), 1, "one acknowledgement only");
}

/// A problem's (field, code) pairs, sorted.
fn field_codes(problem: &serde_json::Value) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().into(),
                e["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn bad_fields_are_named_in_problem_json() {
    let h = Harness::new();
    let mut request = ticket_json("no-es-un-correo");
    request["id_number"] = "1710034066".into();
    request["category"] = "otra".into();
    request["subject"] = "".into();
    request["nationality"] = "XX".into();
    let answer = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let problem = answer.json();
    assert_eq!(problem["status"], 422);
    let fields = field_codes(&problem);
    assert_eq!(
        fields,
        [
            ("category", "unknown_value"),
            ("email", "invalid_format"),
            ("id_number", "invalid_check_digit"),
            ("nationality", "unknown_value"),
            ("subject", "required"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(' ')
    );

    let english = h
        .send(Event::post_json("/api/v1/tickets?lang=en", &request))
        .await;
    assert_eq!(english.header("content-language"), Some("en"));
    assert_eq!(english.json()["title"], "Some fields are not valid");
    assert!(h.outbox().is_empty());
}

/// The form's check says of each field what an opening would, in the page's language, and
/// stores nothing; a body that is not JSON or is too large is refused.
#[tokio::test]
async fn the_field_check_says_what_an_opening_would_and_opens_nothing() {
    let h = Harness::new();
    let mut request = ticket_json("no-es-un-correo");
    request["id_number"] = "1710034066".into();
    let checked = h
        .send(Event::post_json("/api/v1/tickets/check", &request))
        .await;
    assert_eq!(checked.status, 200);
    let errors = checked.json()["errors"].clone();
    let fields: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id_number", "email"]);
    let opened = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    let problem = opened.json();
    for error in problem["errors"].as_array().unwrap() {
        let said = errors
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == error["field"])
            .unwrap();
        assert_eq!(said["detail"], error["detail"], "the same words");
    }
    let english = h
        .send(Event::post_json("/api/v1/tickets/check?lang=en", &request))
        .await;
    assert_ne!(english.json()["errors"][0]["detail"], errors[0]["detail"]);
    let fine = h
        .send(Event::post_json(
            "/api/v1/tickets/check",
            &ticket_json("bien@example.com"),
        ))
        .await;
    assert_eq!(fine.json()["errors"], json!([]));
    // Absent fields are empty; a number is not a field's text.
    let sparse = h
        .send(Event::post_json(
            "/api/v1/tickets/check",
            &json!({"id_type": "cedula", "id_number": 1710034065_u64}),
        ))
        .await;
    assert_eq!(sparse.status, 200);
    let sparse_fields = sparse.json()["errors"].to_string();
    assert!(sparse_fields.contains("\"id_number\""), "{sparse_fields}");
    let huge = json!({ "description": "x".repeat(300_000) });
    let refused = h
        .send(Event::post_json("/api/v1/tickets/check", &huge))
        .await;
    assert_eq!(refused.status, 413);
    let broken = h
        .send(Event::post_json("/api/v1/tickets/check", &json!({})).with_body("{no"))
        .await;
    assert_eq!(broken.status, 400);
    assert!(h.outbox().is_empty(), "nothing opened");
}

/// A line break in a one-line field is how a header would be smuggled into the
/// acknowledgement (the name and the subject go into its headers): refused, nothing sent.
#[tokio::test]
async fn line_breaks_in_the_name_or_subject_are_refused_before_any_mail() {
    let h = Harness::new();
    let mut request = ticket_json("ana@example.com");
    request["full_name"] = "Ana Pérez\r\nBcc: victima@example.net".into();
    request["subject"] = "Consulta\nBcc: victima@example.net".into();
    let answer = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let fields = field_codes(&answer.json());
    assert_eq!(
        fields,
        [
            ("full_name", "control_characters"),
            ("subject", "control_characters")
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    assert!(h.outbox().is_empty());
}

#[tokio::test]
async fn a_failed_form_comes_back_with_the_values_kept_and_each_error_at_its_field() {
    let h = Harness::new();
    let mut fields = form_fields("ana@example.com");
    for (name, value) in &mut fields {
        match name.as_str() {
            "full_name" => *value = "<script>alert('x')</script> Ana".into(),
            "id_number" => *value = "9910034065".into(),
            _ => {}
        }
    }
    let answer = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &as_refs(&fields),
            &[],
        ))
        .await;
    assert_eq!(answer.status, 422);
    let page = answer.text();
    // What the citizen typed is back in the form, escaped.
    assert!(
        page.contains("value=\"&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; Ana\"")
            || page.contains("value=\"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Ana\""),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("value=\"Demora en la atención del trámite\""));
    assert!(page.contains("<option value=\"queja\" selected>"));
    // The error sits at its field and in the summary.
    assert!(page.contains("id=\"id_number-error\""));
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(page.contains("href=\"#id_number\""));
    assert!(page.contains("provincia"));
}

#[tokio::test]
async fn screenshots_are_checked_by_their_bytes_count_and_size() {
    let h = Harness::new();
    let fields = form_fields("ana@example.com");
    let fields = as_refs(&fields);
    let disguised = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &fields,
            &[("captura.png", b"<html>hola</html>")],
        ))
        .await;
    assert_eq!(disguised.status, 422);
    assert!(disguised.text().contains("id=\"screenshots-error\""));
    assert!(disguised.text().contains("PNG, JPEG o WebP"));

    let four = [
        ("a.png", PNG),
        ("b.png", PNG),
        ("c.png", PNG),
        ("d.png", PNG),
    ];
    let too_many = h
        .send(
            Event::post_multipart("/api/v1/tickets", &fields, &four)
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(too_many.status, 422);
    assert_eq!(too_many.json()["errors"][0]["field"], "screenshots");
    assert_eq!(too_many.json()["errors"][0]["code"], "too_many_files");

    let mut big = PNG.to_vec();
    big.resize(3 * 1024 * 1024, 0);
    let too_big = h
        .send(
            Event::post_multipart(
                "/api/v1/tickets",
                &fields,
                &[("a.png", &big), ("b.png", &big)],
            )
            .header("accept", "application/json"),
        )
        .await;
    assert_eq!(too_big.status, 413, "{}", too_big.text());
    assert_eq!(
        too_big.header("content-type"),
        Some("application/problem+json")
    );
    let too_big_form = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &fields,
            &[("a.png", &big), ("b.png", &big)],
        ))
        .await;
    assert_eq!(too_big_form.status, 413);
    assert!(too_big_form.text().contains("4 MB"));
    assert!(h.outbox().is_empty(), "nothing was opened");
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_ticket_for_the_same_requester_only() {
    let h = Harness::new();
    let send = |email: &str| {
        Event::post_json("/api/v1/tickets", &ticket_json(email))
            .header("idempotency-key", "3f1c2a9e-key")
    };
    let first = h.send(send("a@example.com")).await;
    let second = h.send(send("a@example.com")).await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(first.json()["number"], second.json()["number"]);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let someone_else = h.send(send("b@example.com")).await;
    assert_eq!(someone_else.json()["number"], "MDT-QUE-2025-00002");
    assert_eq!(h.outbox().len(), 2);

    let bad_key = h
        .send(
            Event::post_json("/api/v1/tickets", &ticket_json("a@example.com"))
                .header("idempotency-key", "short"),
        )
        .await;
    assert_eq!(bad_key.status, 422);
    assert_eq!(bad_key.json()["errors"][0]["field"], "idempotency_key");
}

#[tokio::test]
async fn spam_is_stopped_by_the_honeypot_and_the_per_source_limit() {
    let h = Harness::with_limits(|limits| limits.openings_per_source_per_hour = 2);
    let mut robot = form_fields("robot@example.com");
    robot.push(("website".into(), "http://spam.example".into()));
    let caught = h
        .send(Event::post_multipart(
            "/api/v1/tickets",
            &as_refs(&robot),
            &[],
        ))
        .await;
    assert_eq!(caught.status, 422);

    // Refused forms do not count against the limit; opened tickets do.
    let mut bad = ticket_json("c@example.com");
    bad["email"] = "x".into();
    for _ in 0..3 {
        assert_eq!(
            h.send(Event::post_json("/api/v1/tickets", &bad))
                .await
                .status,
            422
        );
    }
    for _ in 0..2 {
        let ok = h
            .send(Event::post_json(
                "/api/v1/tickets",
                &ticket_json("c@example.com"),
            ))
            .await;
        assert_eq!(ok.status, 201);
    }
    let limited = h
        .send(Event::post_json(
            "/api/v1/tickets",
            &ticket_json("c@example.com"),
        ))
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("3600"));
    let other_source = h
        .send(
            Event::post_json("/api/v1/tickets", &ticket_json("d@example.com"))
                .sent_from("200.7.0.9"),
        )
        .await;
    assert_eq!(other_source.status, 201);
    // The next hour starts afresh.
    h.clock.advance(chrono::Duration::hours(1));
    let later = h
        .send(Event::post_json(
            "/api/v1/tickets",
            &ticket_json("c@example.com"),
        ))
        .await;
    assert_eq!(later.status, 201);
}

#[tokio::test]
async fn unreadable_requests_get_a_clear_problem() {
    let h = Harness::new();
    let text = h
        .send(Event::post_json("/api/v1/tickets", &json!({})).header("content-type", "text/plain"))
        .await;
    assert_eq!(text.status, 415);
    assert_eq!(
        text.header("content-type"),
        Some("application/problem+json")
    );
    let mut broken = Event::post_json("/api/v1/tickets", &json!({}));
    broken = broken.header("content-type", "application/json");
    let broken_answer = h.send(broken).await;
    assert_eq!(
        broken_answer.status, 422,
        "an empty object names every required field"
    );
    assert!(broken_answer.json()["errors"].as_array().unwrap().len() >= 9);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let h = Harness::new();
    let answer = h.send(Event::get("/api/v1/openapi.json")).await;
    assert_eq!(answer.status, 200);
    let spec = answer.json();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/",
        "/api/v1/tickets",
        "/api/v1/tickets/lookup",
        "/estado",
        "/estado/{token}",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} undocumented");
    }
    // Every route API Gateway has is documented, with its method, and every documented
    // path has a route: a new page cannot be served locally and missing in production.
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let routes: Vec<(String, String)> = template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("RouteKey: "))
        .filter_map(|key| key.split_once(' '))
        .map(|(method, path)| (method.to_lowercase(), path.to_owned()))
        .collect();
    for (method, path) in &routes {
        if path.contains("{proxy+}") {
            continue;
        }
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} has a route but is undocumented"
        );
    }
    for path in paths.keys().filter(|p| !p.starts_with("/api/v1/agent/")) {
        assert!(
            routes.iter().any(|(_, route)| route == path),
            "{path} is documented but API Gateway has no route to it"
        );
    }
    // Every documented GET of these two functions answers (nothing documented is missing
    // from their routers); the agent function's paths are checked in tests/agents.
    let public =
        |p: &&String| !p.contains('{') && !p.starts_with("/api/v1/agent") && !p.contains("/agente");
    for path in paths.keys().filter(public) {
        if paths[path].get("get").is_some() {
            let answer = h.send(Event::get(path)).await;
            assert!(
                matches!(answer.status, 200 | 204),
                "{path}: {}",
                answer.status
            );
        }
    }
    let categories =
        &spec["components"]["schemas"]["TicketRequest"]["properties"]["category"]["enum"];
    let wire: Vec<&str> = ventanilla_domain::Category::ALL
        .iter()
        .map(|c| c.wire())
        .collect();
    assert_eq!(
        categories
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>(),
        wire
    );
    // Every problem code a field can have is one the document lists (API fuzzing found
    // `already_taken` missing).
    use ventanilla_domain::FieldProblem::*;
    let codes = &spec["components"]["schemas"]["Problem"]["properties"]["errors"]["items"]["properties"]
        ["code"]["enum"];
    for problem in [
        Required,
        TooShort { min: 1 },
        TooLong { max: 1 },
        InvalidFormat,
        InvalidCheckDigit,
        InvalidProvince,
        UnknownValue,
        ControlCharacters,
        TooManyFiles { max: 1 },
        FilesTooLarge { max_bytes: 1 },
        UnsupportedFileType,
        MustBeEmpty,
        AlreadyTaken,
    ] {
        let code = serde_json::to_value(&problem).unwrap()["code"].clone();
        assert!(
            codes.as_array().unwrap().contains(&code),
            "{code} is not in the document"
        );
    }
}

/// Issue 18, point 9: the per-source limit is taken before the work, atomically. Forty
/// openings at once from a source that already used 3 of its 10 create exactly 7 tickets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_openings_from_one_source_stop_at_the_limit() {
    let h = Harness::with_limits(|limits| limits.openings_per_source_per_hour = 10);
    for at in 0..3 {
        let email = format!("antes{at}@example.com");
        let ok = h
            .send(Event::post_json("/api/v1/tickets", &ticket_json(&email)))
            .await;
        assert_eq!(ok.status, 201);
    }
    let answers = futures::future::join_all((0..40).map(|at| {
        let email = format!("rafaga{at}@example.com");
        h.send(Event::post_json("/api/v1/tickets", &ticket_json(&email)))
    }))
    .await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((created, refused), (7, 33));
    // An idempotent replay gives its opening back: it opened nothing.
    h.clock.advance(chrono::Duration::hours(1));
    for _ in 0..12 {
        let answer = h
            .send(
                Event::post_json("/api/v1/tickets", &ticket_json("repite@example.com"))
                    .header("idempotency-key", "misma-clave-0001"),
            )
            .await;
        assert_eq!(answer.status, 201);
    }
    let fresh = h
        .send(Event::post_json(
            "/api/v1/tickets",
            &ticket_json("otro@example.com"),
        ))
        .await;
    assert_eq!(fresh.status, 201);
}

/// Issue 18, point 13: throttle and idempotency keys hold no e-mail or IP address, nor an
/// unkeyed hash of one (SHA-256 of an IPv4 address is undone by trying them all): only the
/// HMAC under the identifier secret. And windows that are over are swept from SQLite.
#[tokio::test]
async fn throttle_keys_hold_no_address_and_expired_windows_are_swept() {
    use sha2::Digest;
    let h = Harness::new();
    let ip = "200.7.0.9";
    let email = "rosa.quishpe@example.com";
    let opened = h
        .send(Event::post_json("/api/v1/tickets", &ticket_json(email)).sent_from(ip))
        .await;
    assert_eq!(opened.status, 201);
    let missed = h
        .send(
            Event::post_json(
                "/api/v1/tickets/lookup",
                &serde_json::json!({"email": email, "number": "MDT-QUE-2025-00099"}),
            )
            .sent_from(ip),
        )
        .await;
    assert_eq!(missed.status, 404);
    let keys = || -> Vec<String> {
        let db = rusqlite::Connection::open(h.dir.path().join("ventanilla.sqlite3")).unwrap();
        let mut query = db
            .prepare("SELECT key || ' @' || window_start FROM throttle")
            .unwrap();
        query
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let stored = keys();
    assert!(stored.len() >= 3, "{stored:?}");
    let unkeyed: String = sha2::Sha256::digest(ip.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for key in &stored {
        for personal in [ip, email, "rosa", unkeyed.as_str()] {
            assert!(!key.contains(personal), "{personal} in {key}");
        }
    }
    // Two days on, the next count sweeps every window that is over.
    h.clock.advance(chrono::Duration::days(2));
    let later = h
        .send(Event::post_json("/api/v1/tickets", &ticket_json("otra@example.com")).sent_from(ip))
        .await;
    assert_eq!(later.status, 201);
    let left = keys();
    assert!(!left.is_empty());
    assert!(
        left.iter().all(|window| !stored.contains(window)),
        "{stored:?} -> {left:?}"
    );
}
