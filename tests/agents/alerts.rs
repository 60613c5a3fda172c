//! Alerts by mail on the embedded default (SQLite, the outbox): who is told of what, as each
//! agent chose; never the agent who did it, never another agency's; at most an hour's cap,
//! then a summary; and what an agent's answer by mail may do.

use std::sync::Arc;

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;
use ventanilla_tests::{body_text, header, unique};

use super::Office;

fn outbox(office: &Office) -> Vec<String> {
    office.outbox()
}

/// A mail's subject, decoded.
fn subject(raw: &str) -> String {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or_default()
}

fn to(office: &Office, address: &str) -> Vec<String> {
    outbox(office)
        .into_iter()
        .filter(|raw| header(raw, "To").unwrap_or_default().contains(address))
        .collect()
}

/// An agent of `agency` with `role` and an address; their token and address.
async fn with_address(office: &Office, agency: &str, role: Role) -> (String, String) {
    let token = office.agent(agency, role).await;
    let me = office
        .call(Some(&token), "GET", "/api/v1/agent/me", None)
        .await;
    let id = me.body["id"].as_str().unwrap().to_owned();
    let email = format!("{id}@{}.example.gob.ec", agency.to_lowercase());
    let set = office
        .call(
            Some(&token),
            "PUT",
            &format!("/api/v1/agent/agents/{id}/email"),
            Some(json!({ "email": email })),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["pending_email"], email.as_str());
    confirm_address(office, &token, &email).await;
    (token, email)
}

/// Types the code mailed to `email` (and takes that mail out of the outbox).
pub async fn confirm_address(office: &Office, token: &str, email: &str) {
    let dir = office.dir.path().join("outbox");
    let (path, raw) = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read_to_string(p).unwrap()))
        .find(|(_, raw)| header(raw, "To").unwrap_or_default().contains(email))
        .expect("the code's mail");
    let code = body_text(&raw)
        .split_whitespace()
        .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code")
        .to_owned();
    std::fs::remove_file(path).unwrap();
    let confirmed = office
        .call(
            Some(token),
            "POST",
            "/api/v1/agent/me/email/confirm",
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["email"], email);
}

/// A ticket `token`'s agent opens for a caller with an address; its number.
async fn for_caller(office: &Office, token: &str, subject: &str) -> String {
    let opened = office
        .call(
            Some(token),
            "POST",
            "/api/v1/agent/tickets",
            Some(json!({
                "category": "requerimiento", "nationality": "EC", "id_type": "cedula",
                "id_number": "1714307103", "full_name": "Segundo Guamán",
                "email": format!("{}@example.com", unique("segundo")),
                "user_type": "ciudadano", "channel": "telefono",
                "subject": subject, "description": "Llamó por su certificado.",
            })),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    opened.body["number"].as_str().unwrap().to_owned()
}

async fn set_alerts(office: &Office, token: &str, body: Value) -> super::Reply {
    office
        .call(Some(token), "PUT", "/api/v1/agent/me/alerts", Some(body))
        .await
}

#[tokio::test]
async fn alerts_follow_each_agents_choices_and_never_reach_the_actor_or_another_agency() {
    let office = Office::new();
    let (first, first_email) = with_address(&office, "MDT", Role::Supervisor).await;
    let (second_token, second_email) = with_address(&office, "MDT", Role::Supervisor).await;
    let (agent, agent_email) = with_address(&office, "MDT", Role::Agent).await;
    let (_, other_email) = with_address(&office, "MINTEL", Role::Supervisor).await;

    let number = for_caller(&office, &first, "Certificado de no adeudar").await;
    office.mail.sweep_mail().await.unwrap();
    let told = to(&office, &second_email);
    assert_eq!(told.len(), 1, "the other supervisor is told");
    assert!(body_text(&told[0]).starts_with(&format!("Nueva solicitud {number}")));
    assert!(
        to(&office, &first_email).is_empty(),
        "not the one who opened it"
    );
    assert!(
        to(&office, &agent_email).is_empty(),
        "an agent watches no queue by default"
    );
    assert!(to(&office, &other_email).is_empty(), "nor another agency");

    // The agent chooses the agency's queues, and no follow-ups; the second supervisor
    // turns new tickets off.
    let me = office
        .call(Some(&agent), "GET", "/api/v1/agent/me", None)
        .await;
    assert_eq!(me.body["alerts"]["watches_by_role"], true);
    let queues = me.body["queues"].clone();
    let chosen = set_alerts(
        &office,
        &agent,
        json!({"queues": queues, "follow_up": "off"}),
    )
    .await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(chosen.body["events"]["follow_up"], "off");
    assert_eq!(chosen.body["events"]["new_ticket"], "immediately");
    let off = set_alerts(&office, &second_token, json!({"new_ticket": "off"})).await;
    assert_eq!(off.status, 200, "{}", off.body);

    let next = for_caller(&office, &first, "Consulta de contrato").await;
    office.mail.sweep_mail().await.unwrap();
    let alerts = to(&office, &agent_email);
    assert_eq!(alerts.len(), 1, "the agent now watches the queue");
    assert!(subject(&alerts[0]).contains(&format!("[{next}]")));
    assert_eq!(to(&office, &second_email).len(), 1, "turned off");

    // Bad choices are named, and change nothing.
    let bad = set_alerts(
        &office,
        &agent,
        json!({"new_ticket": "a veces", "queues": ["no-existe"]}),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let text = bad.body.to_string();
    assert!(
        text.contains("new_ticket") && text.contains("queues"),
        "{text}"
    );
    let me = office
        .call(Some(&agent), "GET", "/api/v1/agent/me", None)
        .await;
    assert_eq!(me.body["alerts"]["events"]["new_ticket"], "immediately");

    // A transfer tells the receiving agency's supervisor, and nobody of the sending one.
    let before = outbox(&office).len();
    let moved = office
        .call(
            Some(&first),
            "POST",
            &format!("/api/v1/agent/tickets/{number}/transfer"),
            Some(json!({"agency": "MINTEL", "note": "Es un problema de la plataforma."})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    office.mail.sweep_mail().await.unwrap();
    let transferred = to(&office, &other_email);
    assert_eq!(transferred.len(), 1);
    let text = body_text(&transferred[0]);
    assert!(text.contains("fue transferida"), "{text}");
    assert!(
        text.contains("> Es un problema de la plataforma."),
        "{text}"
    );
    assert_eq!(outbox(&office).len(), before + 1);
}

#[tokio::test]
async fn past_the_hourly_cap_an_agent_gets_one_summary_of_the_rest() {
    let clock = Arc::new(ventanilla_domain::fakes::ManualClock::new(
        ventanilla_domain::Timestamp::parse("2027-03-01T15:05:00Z").unwrap(),
    ));
    let office = Office::with_clock(clock.clone());
    let (opener, _) = with_address(&office, "MDT", Role::Supervisor).await;
    let (_, watcher) = with_address(&office, "MDT", Role::Supervisor).await;
    let cap = ventanilla_app::alerts::ALERTS_PER_HOUR as usize;
    for n in 0..cap + 3 {
        for_caller(&office, &opener, &format!("Consulta {n}")).await;
    }
    office.mail.sweep_mail().await.unwrap();
    assert_eq!(to(&office, &watcher).len(), cap);
    // The summary waits for the hour's end.
    clock.advance(chrono::Duration::minutes(56));
    office.mail.sweep_mail().await.unwrap();
    let mails = to(&office, &watcher);
    assert_eq!(mails.len(), cap + 1);
    let summary = mails
        .iter()
        .find(|raw| subject(raw).contains("avisos más"))
        .expect("the summary");
    assert!(
        body_text(summary).contains("hubo 3 avisos más"),
        "{summary}"
    );
    assert_eq!(header(summary, "Auto-Submitted").unwrap(), "auto-generated");
    // A new hour, a new allowance.
    for_caller(&office, &opener, "Otra consulta").await;
    office.mail.sweep_mail().await.unwrap();
    assert_eq!(to(&office, &watcher).len(), cap + 2);
}

#[tokio::test]
async fn a_daily_digest_lists_the_days_alerts_in_one_morning_mail_without_tickets_gone_elsewhere() {
    // 10:05 in Ecuador.
    let clock = Arc::new(ventanilla_domain::fakes::ManualClock::new(
        ventanilla_domain::Timestamp::parse("2027-03-01T15:05:00Z").unwrap(),
    ));
    let office = Office::with_clock(clock.clone());
    let (opener, _) = with_address(&office, "MDT", Role::Supervisor).await;
    let (reader, watcher) = with_address(&office, "MDT", Role::Supervisor).await;
    let chosen = set_alerts(&office, &reader, json!({"new_ticket": "daily"})).await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(chosen.body["events"]["new_ticket"], "daily");

    let kept = for_caller(&office, &opener, "Certificado de tiempo de servicio").await;
    let second = for_caller(&office, &opener, "Consulta de vacaciones").await;
    let moved = for_caller(&office, &opener, "Problema de la plataforma").await;
    office.mail.sweep_mail().await.unwrap();
    office.mail.sweep_mail().await.unwrap();
    assert!(to(&office, &watcher).is_empty(), "nothing one by one");
    let away = office
        .call(
            Some(&opener),
            "POST",
            &format!("/api/v1/agent/tickets/{moved}/transfer"),
            Some(json!({"agency": "MINTEL", "note": "Es de la plataforma."})),
        )
        .await;
    assert_eq!(away.status, 200, "{}", away.body);

    // Not before 08:00 in Ecuador the next day.
    clock.advance(chrono::Duration::hours(21));
    office.mail.sweep_mail().await.unwrap();
    assert!(to(&office, &watcher).is_empty(), "07:05: not yet");
    clock.advance(chrono::Duration::hours(1));
    office.mail.sweep_mail().await.unwrap();
    let mails = to(&office, &watcher);
    assert_eq!(mails.len(), 1, "one digest");
    assert_eq!(subject(&mails[0]), "Resumen diario de Ventanilla: 2 avisos");
    let text = body_text(&mails[0]);
    assert!(
        text.contains(&format!(
            "Nueva solicitud: {kept} «Certificado de tiempo de servicio»"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("/agente#{second}")), "{text}");
    assert!(
        !text.contains(moved.as_str()) && !text.contains("plataforma"),
        "a ticket now at another agency is not told of: {text}"
    );
    assert_eq!(
        header(&mails[0], "Auto-Submitted").unwrap(),
        "auto-generated"
    );

    // The next alert goes into the next morning's digest, not this one's.
    for_caller(&office, &opener, "Otra consulta").await;
    office.mail.sweep_mail().await.unwrap();
    assert_eq!(to(&office, &watcher).len(), 1);
    clock.advance(chrono::Duration::hours(24));
    office.mail.sweep_mail().await.unwrap();
    let mails = to(&office, &watcher);
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .any(|m| subject(m) == "Resumen diario de Ventanilla: 1 aviso"),
        "{mails:?}"
    );

    // Held for tomorrow's digest, then turned off: tomorrow brings nothing.
    for_caller(&office, &opener, "Una consulta más").await;
    office.mail.sweep_mail().await.unwrap();
    let off = set_alerts(&office, &reader, json!({"new_ticket": "off"})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    clock.advance(chrono::Duration::hours(24));
    office.mail.sweep_mail().await.unwrap();
    assert_eq!(to(&office, &watcher).len(), 2, "turned off before it went");
}

/// The agent's answer to the newest alert they got, as their mail client writes it.
fn answer(office: &Office, from: &str, first_line: &str) -> Vec<u8> {
    let alert = to(office, from)
        .into_iter()
        .filter(|raw| {
            header(raw, "Message-ID")
                .unwrap_or_default()
                .starts_with("<alert.")
        })
        .max_by_key(|raw| header(raw, "Date").unwrap_or_default())
        .expect("an alert");
    let id = header(&alert, "Message-ID").unwrap();
    let subject = header(&alert, "Subject").unwrap();
    format!(
        "From: {from}\r\nTo: soporte@ventanilla.example.gob.ec\r\nSubject: Re: {subject}\r\n\
         Message-ID: <{}@example.gob.ec>\r\nIn-Reply-To: {id}\r\nReferences: {id}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{first_line}\r\n\r\n\
         El lun., Ventanilla escribió:\r\n> Nueva solicitud\r\n",
        unique("respuesta")
    )
    .into_bytes()
}

#[tokio::test]
async fn an_answer_by_mail_may_be_a_note_or_close_the_ticket_and_a_disabled_agent_answers_nothing()
{
    let office = Office::new();
    let (opener, _) = with_address(&office, "MDT", Role::Supervisor).await;
    let (watcher, email) = with_address(&office, "MDT", Role::Supervisor).await;
    let number = for_caller(&office, &opener, "Certificado").await;
    office.mail.sweep_mail().await.unwrap();
    let before = outbox(&office).len();

    let note = answer(&office, &email, "#nota\nLlamar mañana al ciudadano.");
    let noted = office.mail.accept(note.clone()).await.unwrap();
    assert_eq!(noted.as_str(), "noted-by-agent", "{noted:?}");
    assert_eq!(outbox(&office).len(), before, "a note reaches nobody");
    let path = format!("/api/v1/agent/tickets/{number}");
    let shown = office.call(Some(&watcher), "GET", &path, None).await;
    let last = shown.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "internal_note");
    assert_eq!(last["text"], "Llamar mañana al ciudadano.");
    // Delivered again (SES retries an event that failed past the write): added once.
    let again = office.mail.accept(note).await.unwrap();
    assert_eq!(again.as_str(), "duplicate");
    let shown = office.call(Some(&watcher), "GET", &path, None).await;
    let notes = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "internal_note")
        .count();
    assert_eq!(notes, 1);
    // A client that sent the alert back unquoted: what it said never reaches the citizen.
    let unquoted = office
        .mail
        .accept(answer(
            &office,
            &email,
            "Listo.\nAviso de Ventanilla para agentes: no reenvíe este correo.\nSolicitante: Segundo",
        ))
        .await
        .unwrap();
    assert_eq!(unquoted.as_str(), "agent-mail-refused");
    assert_eq!(
        outbox(&office).len(),
        before + 1,
        "only the notice to the agent"
    );

    let closed = office
        .mail
        .accept(answer(
            &office,
            &email,
            "#cerrar\nSu certificado ya fue emitido.",
        ))
        .await
        .unwrap();
    assert_eq!(closed.as_str(), "answered-by-agent", "{closed:?}");
    let shown = office.call(Some(&watcher), "GET", &path, None).await;
    assert_eq!(shown.body["status"], "closed");
    let sent = outbox(&office);
    assert_eq!(sent.len(), before + 2, "the citizen's answer");
    assert!(sent.iter().any(
        |raw| body_text(raw).contains("Su certificado ya fue emitido.")
            && !body_text(raw).contains("#cerrar")
    ));

    // Disabled: the same address answers nothing any more, and is told so.
    let admin = office.agent("MDT", Role::Admin).await;
    let me = office
        .call(Some(&watcher), "GET", "/api/v1/agent/me", None)
        .await;
    let id = me.body["id"].as_str().unwrap();
    let disabled = office
        .call(
            Some(&admin),
            "POST",
            &format!("/api/v1/agent/agents/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(disabled.status, 200);
    let refused = office
        .mail
        .accept(answer(&office, &email, "Otra respuesta."))
        .await
        .unwrap();
    assert_eq!(refused.as_str(), "agent-mail-refused");
    let sent = outbox(&office);
    assert_eq!(sent.len(), before + 3, "only the notice");
    let notice = sent
        .iter()
        .find(|raw| subject(raw).contains("no se agregó"))
        .unwrap();
    assert!(
        !body_text(notice).contains("Certificado"),
        "nothing of the ticket"
    );
    // A thousand such mails: three notices a day at most.
    for _ in 0..5 {
        let refused = office
            .mail
            .accept(answer(&office, &email, "Otra."))
            .await
            .unwrap();
        assert_eq!(refused.as_str(), "agent-mail-refused");
    }
    let notices = outbox(&office)
        .into_iter()
        .filter(|raw| subject(raw).contains("no se agregó"))
        .count();
    assert_eq!(notices, 3, "three a day, the unquoted one's included");
}

#[tokio::test]
async fn an_answer_by_mail_to_an_alert_the_ticket_moved_past_never_crosses_the_newer_answer() {
    let clock = Arc::new(ventanilla_domain::fakes::ManualClock::new(
        ventanilla_domain::Timestamp::parse("2027-03-01T15:05:00Z").unwrap(),
    ));
    let office = Office::with_clock(clock.clone());
    let (opener, _) = with_address(&office, "MDT", Role::Supervisor).await;
    let (watcher, email) = with_address(&office, "MDT", Role::Supervisor).await;
    let number = for_caller(&office, &opener, "Certificado").await;
    office.mail.sweep_mail().await.unwrap();

    // The opener answers in the console after the watcher was told.
    clock.advance(chrono::Duration::minutes(2));
    let path = format!("/api/v1/agent/tickets/{number}");
    let replied = office
        .call(
            Some(&opener),
            "POST",
            &format!("{path}/replies"),
            Some(json!({"text": "Su certificado sale el lunes."})),
        )
        .await;
    assert_eq!(replied.status, 201, "{}", replied.body);
    let before = outbox(&office).len();

    clock.advance(chrono::Duration::minutes(2));
    let crossed = office
        .mail
        .accept(answer(&office, &email, "Su certificado no procede."))
        .await
        .unwrap();
    assert_eq!(crossed.as_str(), "agent-mail-refused", "{crossed:?}");
    let sent = outbox(&office);
    assert_eq!(sent.len(), before + 1, "only the notice to the agent");
    let notice = sent
        .iter()
        .find(|raw| {
            header(raw, "To").unwrap_or_default().contains(&email)
                && subject(raw).contains("cambió")
        })
        .expect("the notice");
    assert!(body_text(notice).contains("no deben cruzarse"), "{notice}");
    let shown = office.call(Some(&watcher), "GET", &path, None).await;
    assert!(
        !shown.body.to_string().contains("no procede"),
        "{}",
        shown.body
    );
    // A note crosses nobody.
    let noted = office
        .mail
        .accept(answer(&office, &email, "#nota\nRevisar si procede."))
        .await
        .unwrap();
    assert_eq!(noted.as_str(), "noted-by-agent", "{noted:?}");
}
