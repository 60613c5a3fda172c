//! The whole loop against the stand-ins (DynamoDB, S3, SES v2): a ticket opened by the form,
//! the citizen writing by mail, an agent's reply delivered as a mail threaded to the
//! citizen's, the citizen's answer to it landing on the same ticket, a note that reaches no
//! citizen; and a reply the provider refused, kept and sent again.

use serde_json::json;
use ventanilla_tests::unique;

use ventanilla_tests::AwsStack as Stack;

fn header(raw: &str, name: &str) -> String {
    ventanilla_tests::header(raw, name).unwrap_or_default()
}

#[tokio::test]
async fn an_agents_reply_reaches_the_citizen_in_the_same_conversation() {
    let stack = Stack::new(true).await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let support = format!("soporte@{}", stack.aws.domain);

    // 1. The form opens the ticket; the acknowledgement goes out.
    let number = stack.open_ticket(&citizen).await;
    assert_eq!(stack.sent().await.len(), 1);

    // 2. The citizen adds something by mail, answering the acknowledgement.
    let ack_id = stack.sent().await[0].0.clone();
    let handled = stack
        .receive(&format!(
            "From: {citizen}\r\nTo: {support}\r\nSubject: Re: [{number}] Recibimos su solicitud\r\n\
             Message-ID: <c1.{citizen}>\r\nIn-Reply-To: <{ack_id}@email.amazonses.com>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nAdjunto: uso Firefox.\r\n"
        ))
        .await;
    assert_eq!(handled[0].outcome, "follow-up");

    // 3. An agent notes and replies.
    let admin = stack.admin().await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let (status, _) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/notes"),
            json!({"text": "Ver con el proveedor de firma"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, replied) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            json!({"text": "Pruebe con otro navegador, por favor.", "status": "waiting_on_citizen"}),
        )
        .await;
    assert_eq!(status, 201, "{replied}");
    assert_eq!(replied["delivered"], true);
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 2);
    let (reply_id, reply) = sent.iter().find(|(id, _)| id != &ack_id).unwrap();
    assert!(
        header(reply, "From").contains(&support),
        "from the service desk"
    );
    assert!(header(reply, "To").contains(&citizen));
    assert!(header(reply, "Subject").contains(&format!("[{number}]")));
    assert_eq!(header(reply, "In-Reply-To"), format!("<c1.{citizen}>"));
    let references = header(reply, "References");
    assert!(references.contains(&format!("<c1.{citizen}>")));
    assert!(references.contains(&format!(
        "<ticket.{}@{}>",
        number.to_lowercase(),
        stack.aws.domain
    )));
    assert!(
        header(reply, "Auto-Submitted").is_empty(),
        "a person's reply is not automatic"
    );
    for (_, raw) in &sent {
        assert!(
            !raw.contains("proveedor de firma"),
            "a note never leaves in a mail"
        );
    }

    // Waiting on the citizen stops the term's clock; the agency's queue by due date (its own
    // index, read under agent-api's policy) says so.
    let (status, due_first) = stack
        .call(
            Some(&admin),
            "GET",
            "/api/v1/agent/tickets?order=due",
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{due_first}");
    let row = due_first["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == number.as_str())
        .unwrap_or_else(|| panic!("{number} is due and unfinished: {due_first}"));
    assert_eq!(row["status"], "waiting_on_citizen");
    assert!(row["suspended_since"].is_string(), "{row}");
    let (_, view) = stack.lookup(&citizen, &number).await;
    assert_eq!(view["suspended_since"], row["suspended_since"], "{view}");

    // The console says the admin has the ticket open (agent-api's VIEWING items).
    let (status, viewing) = stack
        .call(Some(&admin), "PUT", &format!("{base}/viewing"), json!(null))
        .await;
    assert_eq!(status, 200, "{viewing}");
    assert_eq!(viewing["others"], json!([]));
    let colleague = stack.agent().await;
    let (status, viewing) = stack
        .call(
            Some(&colleague),
            "PUT",
            &format!("{base}/viewing"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{viewing}");
    assert_eq!(
        viewing["others"].as_array().map(Vec::len),
        Some(1),
        "{viewing}"
    );

    // An admin's local holiday inside the term, under agent-api's policy (its item and the
    // recount of the ticket), then taken back: the due date moves and comes back.
    let today = ventanilla_domain::rules::deadline::day_in_ecuador(
        ventanilla_domain::ports::Clock::now(&ventanilla_adapters::system::SystemClock),
    );
    let national = ventanilla_domain::rules::calendar::Calendar::national(2025, 2030);
    let holiday = today
        .iter_days()
        .skip(3)
        .find(|day| national.is_business_day(*day))
        .unwrap()
        .to_string();
    let was_due = row["due_on"].clone();
    let (status, set) = stack
        .call(
            Some(&admin),
            "PUT",
            &format!("/api/v1/agent/calendar/days/{holiday}"),
            json!({"kind": "local_holiday", "name": "Feriado de prueba"}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert!(set["recount"]["moved"].as_u64().unwrap() >= 1, "{set}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!(null)).await;
    assert_ne!(shown["due_on"], was_due, "{shown}");
    let (status, removed) = stack
        .call(
            Some(&admin),
            "DELETE",
            &format!("/api/v1/agent/calendar/days/{holiday}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!(null)).await;
    assert_eq!(shown["due_on"], was_due, "{shown}");

    // 4. The citizen answers the reply from their client (SES's Message-ID in In-Reply-To).
    let handled = stack
        .receive(&format!(
            "From: {citizen}\r\nTo: {support}\r\nSubject: RE: {subject}\r\n\
             Message-ID: <c2.{citizen}>\r\nIn-Reply-To: <{reply_id}@email.amazonses.com>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nCon Chrome funcionó, gracias.\r\n\r\n\
             > Pruebe con otro navegador, por favor.\r\n",
            subject = header(reply, "Subject"),
        ))
        .await;
    assert_eq!(handled[0].outcome, "follow-up");
    assert_eq!(handled[0].ticket.as_deref(), Some(number.as_str()));

    // The citizen's status page: both sides of the conversation, no note.
    let (status, view) = stack.lookup(&citizen, &number).await;
    assert_eq!(status, 200);
    assert_eq!(
        view["status"], "open",
        "the citizen's answer puts it back in progress"
    );
    let texts: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().trim())
        .collect();
    assert_eq!(
        texts[1..],
        [
            "Adjunto: uso Firefox.",
            "Pruebe con otro navegador, por favor.",
            "Con Chrome funcionó, gracias."
        ]
    );
    assert!(!view.to_string().contains("proveedor de firma"));
    assert!(
        view.get("suspended_since").is_none(),
        "the clock runs again: {view}"
    );
}

#[tokio::test]
async fn a_reply_the_provider_refused_is_kept_and_sent_again() {
    let stack = Stack::new(false).await;
    let citizen = format!("{}@example.com", unique("jorge"));
    let (status, opened) = stack
        .call(
            None,
            "POST",
            "/api/v1/tickets",
            ventanilla_tests::form_json(&citizen),
        )
        .await;
    assert_eq!(
        status, 201,
        "the ticket opens even when the acknowledgement cannot go out"
    );
    let number = opened["number"].as_str().unwrap().to_owned();
    let admin = stack.admin().await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let (status, replied) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            json!({"text": "Ya lo revisamos."}),
        )
        .await;
    assert_eq!(status, 201, "{replied}");
    assert_eq!(replied["delivered"], false);
    assert_eq!(replied["ticket"]["undelivered_replies"], 1);
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    let reply = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "public_reply")
        .unwrap();
    assert_eq!(
        reply["delivered"], false,
        "visible in the thread as not delivered"
    );
    assert!(stack.sent().await.is_empty());

    // The provider refused it for good (an unverified sender): it is parked at once, and an
    // admin sees it beside the acknowledgement, with why.
    let (status, parked) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/mail/parked", json!({}))
        .await;
    assert_eq!(status, 200, "{parked}");
    let parked = parked["mails"].as_array().unwrap().clone();
    let notices: Vec<&str> = parked
        .iter()
        .map(|m| m["notice"].as_str().unwrap())
        .collect();
    assert!(
        notices.contains(&"agent-reply") && notices.contains(&"acknowledgement"),
        "{parked:?}"
    );
    let reply_mail = parked
        .iter()
        .find(|m| m["notice"] == "agent-reply")
        .unwrap();
    assert_eq!(reply_mail["ticket"], number.as_str());
    assert!(
        reply_mail["last_error"]
            .as_str()
            .unwrap()
            .contains("rejected"),
        "{reply_mail}"
    );
    assert!(
        !reply_mail.to_string().contains(&citizen),
        "no recipient in the list"
    );
    let id = reply_mail["id"].as_str().unwrap();
    // An agent may not see the list nor send one again.
    let agent = stack.agent().await;
    let (status, _) = stack
        .call(Some(&agent), "GET", "/api/v1/agent/mail/parked", json!({}))
        .await;
    assert_eq!(status, 403);
    let again = format!("/api/v1/agent/mail/{id}/send-again");
    let (status, _) = stack.call(Some(&agent), "POST", &again, json!({})).await;
    assert_eq!(status, 403);

    // The identity is fixed; the admin sends the reply again and the next sweep delivers it,
    // once; the acknowledgement stays parked until someone sends it again too.
    stack.aws.verify().await;
    let (status, requeued) = stack.call(Some(&admin), "POST", &again, json!({})).await;
    assert_eq!(
        (status, requeued["state"].as_str()),
        (200, Some("pending")),
        "{requeued}"
    );
    assert_eq!(stack.sweep_mail().await["sent"], 1);
    assert_eq!(stack.sweep_mail().await["sent"], 0);
    let (_, listed) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/tickets", json!({}))
        .await;
    assert_eq!(listed["tickets"][0]["undelivered_replies"], 0, "{listed}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0, "{shown}");
    let (_, parked) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/mail/parked", json!({}))
        .await;
    assert_eq!(parked["mails"].as_array().unwrap().len(), 1, "{parked}");
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1, "sent again exactly once");
    assert!(sent[0].1.contains("Ya lo revisamos."));
    assert!(header(&sent[0].1, "To").contains(&citizen));
}

/// Least privilege beyond actions: the citizen-facing functions may write the table, but
/// only their own kinds of item. An agent (and its token) or an agency written with their
/// credentials is refused by the policy's `dynamodb:LeadingKeys` condition; agent-api's
/// own credentials may write it.
#[tokio::test]
async fn citizen_facing_functions_cannot_write_agents_tokens_or_agencies() {
    use ventanilla_domain::model::agents::Role;
    use ventanilla_domain::ports::{AgencyDirectory, StoreError};
    use ventanilla_domain::{AgencyCode, AgentId};
    let aws = ventanilla_tests::AwsStandIn::new(true).await;
    let clock = ventanilla_adapters::system::SystemClock;
    for function in ["create-ticket", "ticket-status", "inbound-mail"] {
        let store = aws.ports(function).store;
        let forged = ventanilla_app::agents::create(
            &store,
            &clock,
            AgentId::parse(&unique("intruso-")).unwrap(),
            "Intruso".into(),
            AgencyCode::parse("MDT").unwrap(),
            Role::Admin,
            None,
        )
        .await;
        assert!(
            matches!(&forged, Err(StoreError::Unavailable(e)) if e.to_string().contains("AccessDenied")),
            "{function} wrote an agent and its token: {forged:?}"
        );
        let agencies = aws.site.settings.agencies.clone();
        let saved = store.save_agency(&agencies[0]).await;
        assert!(
            matches!(&saved, Err(StoreError::Unavailable(e)) if e.to_string().contains("AccessDenied")),
            "{function} wrote an agency: {saved:?}"
        );
    }
    let refused = ventanilla_tests::stack_denials(&aws.stack).await;
    assert_eq!(refused.len(), 6, "{refused:#?}");
    assert!(
        refused
            .iter()
            .all(|d| d["context"]["dynamodb:LeadingKeys"][0]
                .as_str()
                .is_some_and(|k| k.starts_with("AGENT#")
                    || k.starts_with("TOKEN#")
                    || k.starts_with("AGENCY#"))),
        "{refused:#?}"
    );
    let (agent, _) = ventanilla_app::agents::create(
        &aws.ports("agent-api").store,
        &clock,
        AgentId::parse(&unique("agente-")).unwrap(),
        "Ana".into(),
        AgencyCode::parse("MDT").unwrap(),
        Role::Agent,
        None,
    )
    .await
    .expect("agent-api may add agents");
    assert_eq!(agent.role, Role::Agent);
}

/// Files on the AWS stack, each under its function's policy: the form's screenshot stored
/// by create-ticket, downloaded by the citizen through ticket-status's presigned link; a
/// file an agent attaches to a reply stored by agent-api under `attachments/replies/` (the
/// grant the first template lacked) and mailed; a wrong guess at the lookup counted.
#[tokio::test]
async fn files_travel_under_each_functions_policy() {
    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let stack = Stack::new(true).await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let form = ventanilla_tests::form_json(&citizen);
    let fields: Vec<(&str, String)> = form
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_owned()))
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, opened) = stack
        .call_multipart(
            None,
            "/api/v1/tickets",
            &fields,
            &[("screenshots", "error.png", "image/png", PNG)],
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let number = opened["number"].as_str().unwrap().to_owned();

    // The citizen's lookup lists the screenshot with a presigned link that works.
    let (status, found) = stack.lookup(&citizen, &number).await;
    assert_eq!(status, 200, "{found}");
    let url = found["messages"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), 200, "{url}");
    assert_eq!(&download.bytes().await.unwrap()[..], PNG);
    stack.aws.assert_no_denials().await;

    // A wrong e-mail is a miss, counted against the guesser (ticket-status's UpdateItem).
    let (status, _) = stack.lookup(&format!("otra.{citizen}"), &number).await;
    assert_eq!(status, 404);

    // An agent answers with a file; it is stored and reaches the citizen with the reply.
    let admin = stack.admin().await;
    let (status, reply) = stack
        .call_multipart(
            Some(&admin),
            &format!("/api/v1/agent/tickets/{number}/replies"),
            &[("text", "Adjunto el formulario que debe llenar.")],
            &[(
                "attachments",
                "formulario.pdf",
                "application/pdf",
                b"%PDF-1.4 formulario",
            )],
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let sent = stack.sent().await;
    let (_, mailed) = sent
        .iter()
        .find(|(_, raw)| raw.contains("formulario.pdf"))
        .unwrap_or_else(|| panic!("no reply with the file among {} mails", sent.len()));
    assert!(header(mailed, "To").contains(&citizen));

    // The agent opens the ticket and downloads the citizen's screenshot (agent-api's GetObject).
    let (status, shown) = stack
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    let url = shown["messages"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), 200, "{url}");
    stack.aws.assert_no_denials().await;
}

/// Erasure on the AWS stack, each step under its function's policy: an admin's erasure
/// (agent-api) and the retention rule's daily run (inbound-mail, EventBridge's event, on a
/// clock moved five years) delete the raw mails under `inbound/` and the attachments under
/// `attachments/` of the tickets they erase; the bucket keeps nothing of either citizen.
#[tokio::test]
async fn erasure_and_retention_delete_their_files_under_each_functions_policy() {
    use std::sync::Arc;
    use ventanilla_domain::Timestamp;
    use ventanilla_domain::fakes::ManualClock;
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2020-01-06T10:00:00Z").unwrap(),
    ));
    let mut aws = ventanilla_tests::AwsStandIn::new(true).await;
    aws.site.clock = clock.clone() as Arc<dyn ventanilla_domain::ports::Clock>;
    let stack = Stack::on(aws);
    let support = format!("soporte@{}", stack.aws.domain);
    let mail = |citizen: &str| {
        format!(
            "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\n\
             Subject: Queja contra el funcionario\r\nMessage-ID: <{}@example.com>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto mi cédula.\r\n\
             --b\r\nContent-Type: image/png; name=\"cedula.png\"\r\n\
             Content-Disposition: attachment; filename=\"cedula.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n--b--\r\n",
            unique("m")
        )
    };
    let objects = || stack.aws.blob_keys();
    let admin = stack.admin().await;

    // An old ticket, finished; the retention rule will erase it.
    let old_citizen = format!("{}@example.com", unique("rosa"));
    let handled = stack.receive(&mail(&old_citizen)).await;
    let old = handled[0].ticket.clone().unwrap();
    let (_, shown) = stack
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{old}"),
            json!(null),
        )
        .await;
    let (status, changed) = stack
        .call(
            Some(&admin),
            "PATCH",
            &format!("/api/v1/agent/tickets/{old}"),
            json!({"version": shown["version"], "status": "resolved"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(objects().await.len(), 2, "the raw mail and its attachment");

    // Five years and a day later, a citizen asks for erasure; the admin erases.
    clock.advance(chrono::Duration::days(1826));
    let citizen = format!("{}@example.com", unique("ana"));
    stack.receive(&mail(&citizen)).await;
    assert_eq!(objects().await.len(), 4);
    let (status, erased) = stack
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            json!({"email": citizen}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(objects().await.len(), 2, "{:?}", objects().await);

    // The retention rule's daily run erases the old ticket and its files.
    let schedule: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../infra/events/inbound-mail-retention-schedule.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let swept = inbound_mail::handle(&stack.mail, schedule).await.unwrap();
    stack.aws.assert_no_denials().await;
    assert_eq!(swept["erased"], json!([old]), "{swept}");
    assert_eq!(objects().await, Vec::<String>::new());
}

/// The writes only agent-api may make, made on the AWS stack under its policy: an agent
/// added and its token rotated (the old token item deleted in the same transaction), an
/// agency saved; and create-ticket's idempotency record, from the form's hidden token.
#[tokio::test]
async fn agents_agencies_and_idempotency_records_are_written_under_their_policies() {
    let stack = Stack::new(true).await;
    let admin = stack.admin().await;
    let id = unique("rosa.");
    let (status, added) = stack
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents",
            json!({"id": id, "name": "Rosa P.", "role": "agent"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let old = added["token"].as_str().unwrap().to_owned();
    let (status, rotated) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("/api/v1/agent/agents/{id}/token"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let fresh = rotated["token"].as_str().unwrap().to_owned();
    let (status, _) = stack
        .call(Some(&old), "GET", "/api/v1/agent/tickets", json!(null))
        .await;
    assert_eq!(status, 401, "the retired token opens nothing");
    let (status, _) = stack
        .call(Some(&fresh), "GET", "/api/v1/agent/tickets", json!(null))
        .await;
    assert_eq!(status, 200);

    let mineduc = json!({
        "name": "Ministerio de Educación", "response_days": 10, "default_queue": "atencion",
        "queues_by_category": {"problema_tecnico": "tecnologia"},
        "follow_ups": {"tecnologia": {"rule": "new-linked"}}
    });
    let operator = ventanilla_tests::mdt_agent(
        &stack.aws.store,
        ventanilla_domain::model::agents::Role::Operator,
    )
    .await;
    let (status, saved) = stack
        .call(
            Some(&operator),
            "PUT",
            "/api/v1/agent/agencies/MINEDUC",
            mineduc,
        )
        .await;
    assert_eq!(status, 200, "{saved}");

    // The form sent twice with its hidden token opens one ticket.
    let citizen = format!("{}@example.com", unique("carmen"));
    let form = ventanilla_tests::form_json(&citizen);
    let token = uuid::Uuid::new_v4().to_string();
    let mut fields: Vec<(&str, &str)> = form
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    fields.push(("idempotency_token", &token));
    let (first, opened) = stack
        .call_multipart(None, "/api/v1/tickets", &fields, &[])
        .await;
    let (again, replayed) = stack
        .call_multipart(None, "/api/v1/tickets", &fields, &[])
        .await;
    assert_eq!((first, again), (201, 201), "{opened} {replayed}");
    assert_eq!(opened["number"], replayed["number"]);
}

/// Issue 18, point 9, on DynamoDB: forty openings at once from one source that used 3 of its
/// 10 create exactly 7 tickets, each under create-ticket's policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_openings_from_one_source_stop_at_the_limit_on_dynamodb() {
    let stack = Stack::new(true).await;
    for at in 0..3 {
        stack.open_ticket(&format!("antes{at}@example.com")).await;
    }
    let answers = futures::future::join_all((0..40).map(|at| {
        let form = ventanilla_tests::form_json(&format!("rafaga{at}@example.com"));
        let stack = &stack;
        async move { stack.call(None, "POST", "/api/v1/tickets", form).await.0 }
    }))
    .await;
    let created = answers.iter().filter(|s| **s == 201).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!((created, refused), (7, 33), "{answers:?}");
}

/// Issue 18, point 11: one address gets at most `answers_per_sender_per_day` automatic mails
/// a day, the form's and the support address's together (a form typed a thousand times
/// with someone else's address mails them five times); and an address whose mail bounced
/// gets no more notices.
#[tokio::test]
async fn acknowledgements_are_capped_per_address_across_the_form_and_mail() {
    let stack = Stack::new(true).await;
    let limit = stack.aws.site.settings.mail.policy.acks_per_sender_per_day;
    let victim = format!("{}@gmail.com", unique("victima"));
    let to_victim = |sent: &[(String, String)]| {
        sent.iter()
            .filter(|(_, raw)| header(raw, "To").contains(&victim))
            .count() as u64
    };
    for _ in 0..4 {
        stack.open_ticket(&victim).await;
    }
    let support = format!("soporte@{}", stack.aws.domain);
    for n in 0..4 {
        let mail = format!(
            "From: {victim}\r\nTo: {support}\r\nSubject: Consulta {n}\r\n\
             Message-ID: <c{n}.{victim}>\r\nContent-Type: text/plain\r\n\r\nHola.\r\n"
        );
        let handled = stack.receive(&mail).await;
        assert_eq!(handled[0].outcome, "new-ticket");
    }
    assert_eq!(to_victim(&stack.sent().await), limit);

    // A bounce of our mail to an address (threaded by our anchor) stops the notices to it.
    let bouncing = format!("{}@example.com", unique("inexistente"));
    let number = stack.open_ticket(&bouncing).await;
    let anchor = format!(
        "ticket.{}@{}",
        number.to_lowercase(),
        stack.aws.site.settings.mail_domain
    );
    let bounce = |id: &str, about: &str| {
        format!(
            "From: MAILER-DAEMON@mx.example.com\r\nTo: {support}\r\n\
             Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}@mx.example.com>\r\n\
             In-Reply-To: <{anchor}>\r\nAuto-Submitted: auto-replied\r\n\
             Content-Type: text/plain\r\n\r\nThe mail system: <{about}>: user unknown\r\n"
        )
    };
    // A "bounce" that does not name the ticket's address silences nobody.
    let handled = stack.receive(&bounce("falso", "otra@example.com")).await;
    assert_eq!(handled[0].outcome, "automatic");
    let before = stack.sent().await.len();
    stack.open_ticket(&bouncing).await;
    assert_eq!(stack.sent().await.len(), before + 1);
    let handled = stack.receive(&bounce("rebote", &bouncing)).await;
    assert_eq!(handled[0].outcome, "automatic");
    let before = stack.sent().await.len();
    stack.open_ticket(&bouncing).await;
    assert_eq!(
        stack.sent().await.len(),
        before,
        "no notice to an address that bounced"
    );
}

/// Issue 18, point 12: every stored blob belongs to a ticket or is deleted at once, so that
/// erasing a requester leaves no file of theirs: the screenshots of a replayed form, the raw
/// copy and files of automatic mail that threads nowhere, a mail delivered again under a new
/// id. Afterwards the bucket is empty.
#[tokio::test]
async fn erasing_a_requester_leaves_no_blob_of_theirs() {
    use base64::Engine;
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let stack = Stack::new(true).await;
    let objects = || stack.aws.blob_keys();
    let citizen = format!("{}@gmail.com", unique("rosa"));
    let support = format!("soporte@{}", stack.aws.domain);

    // The form twice with one token and a screenshot each: one ticket, one screenshot kept.
    let form = ventanilla_tests::form_json(&citizen);
    let token = uuid::Uuid::new_v4().to_string();
    let mut fields: Vec<(&str, &str)> = form
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    fields.push(("idempotency_token", &token));
    let files = [("screenshots", "captura.png", "image/png", png.as_slice())];
    for _ in 0..2 {
        let (status, opened) = stack
            .call_multipart(None, "/api/v1/tickets", &fields, &files)
            .await;
        assert_eq!(status, 201, "{opened}");
    }
    assert_eq!(objects().await.len(), 1, "{:?}", objects().await);

    let with_file = |headers: &str, id: &str| {
        format!(
            "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Consulta\r\n{headers}\
             Message-ID: <{id}@gmail.com>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto mi cédula.\r\n\
             --b\r\nContent-Type: image/png; name=\"cedula.png\"\r\n\
             Content-Disposition: attachment; filename=\"cedula.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n--b--\r\n"
        )
    };
    // A mail with a file: its ticket owns the raw mail and the file.
    let first = with_file("", "primero");
    let handled = stack.receive(&first).await;
    assert_eq!(handled[0].outcome, "new-ticket");
    let number = handled[0].ticket.clone().unwrap();
    assert_eq!(objects().await.len(), 3);
    // The same mail again, as a new delivery: a duplicate, whose new raw copy is deleted.
    assert_eq!(stack.receive(&first).await[0].outcome, "duplicate");
    // Their auto-reply to our anchor: noted on the ticket, which owns its raw copy; its file
    // stays inside it. One that threads nowhere: nothing of it is kept.
    let anchor = format!(
        "ticket.{}@{}",
        number.to_lowercase(),
        stack.aws.site.settings.mail_domain
    );
    let threaded = with_file(
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{anchor}>\r\n"),
        "auto1",
    );
    assert_eq!(
        stack.receive(&threaded).await[0].ticket.as_deref(),
        Some(number.as_str())
    );
    let loose = with_file("Auto-Submitted: auto-replied\r\n", "auto2");
    assert_eq!(stack.receive(&loose).await[0].ticket, None);
    assert_eq!(objects().await.len(), 4, "{:?}", objects().await);

    let admin = stack.admin().await;
    let (status, erased) = stack
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/privacy/erase",
            json!({"email": citizen}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(objects().await, Vec::<String>::new());
}

/// Issue 18, paging under the policies: a thread longer than a page opens for the citizen
/// through ticket-status (which may only Query the table) and for the agent.
#[tokio::test]
async fn a_long_thread_opens_under_each_functions_policy() {
    use ventanilla_domain::ports::TicketStore;
    use ventanilla_domain::{TicketNumber, Timestamp};
    let stack = Stack::new(true).await;
    let citizen = format!("{}@example.com", unique("larga"));
    let number = stack.open_ticket(&citizen).await;
    let ticket = TicketNumber::parse(&number).unwrap();
    let start = Timestamp::parse("2031-01-01T00:00:00Z").unwrap();
    for n in 0..150 {
        let event = ventanilla_tests::generated_event(start, n);
        stack.aws.store.add_event(&ticket, &event).await.unwrap();
    }
    let (status, found) = stack.lookup(&citizen, &number).await;
    assert_eq!(status, 200, "{found}");
    let agent = stack.admin().await;
    let (status, shown) = stack
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["messages"].as_array().unwrap().len(), 100);
    assert!(shown["older"].is_string(), "{shown}");
    // Its erasure takes two transactions; the first holds a condition check on the ticket's
    // version (agent-api's one ConditionCheckItem since sent mail ids are indexed without one).
    let (status, erased) = stack
        .call(
            Some(&agent),
            "POST",
            "/api/v1/agent/privacy/erase",
            json!({"email": citizen}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    let (ticket, thread) = stack.aws.store.thread(&ticket).await.unwrap();
    assert!(ticket.erased_at.is_some());
    assert!(thread.len() > 150);
    assert!(!thread.iter().any(|m| m.body.as_str().contains(&citizen)));
}

/// A ticket an agent opens for a caller, on the stand-ins under agent-api's policy (its
/// counter, ticket, requester-less index keys and queued acknowledgement), acknowledged by
/// the sweeper under inbound-mail's; one without an address followed by number and cédula
/// under ticket-status's.
#[tokio::test]
async fn tickets_opened_for_callers_are_written_under_agent_apis_policy() {
    let stack = Stack::new(true).await;
    let agent = stack.agent().await;
    let citizen = format!("{}@example.com", unique("llamada"));
    let caller = |email: &str| {
        json!({
            "category": "requerimiento", "nationality": "EC", "id_type": "cedula",
            "id_number": "1714307103", "full_name": "Segundo Guamán", "email": email,
            "user_type": "ciudadano", "channel": "telefono",
            "subject": "Certificado", "description": "Lo pidió por teléfono.",
        })
    };
    let (status, with_address) = stack
        .call(
            Some(&agent),
            "POST",
            "/api/v1/agent/tickets",
            caller(&citizen),
        )
        .await;
    assert_eq!(status, 201, "{with_address}");
    assert_eq!(with_address["acknowledgement"], "pending");
    assert!(stack.sent().await.is_empty());
    let swept = stack.sweep_mail().await;
    assert!(swept.to_string().contains("\"sent\":1"), "{swept}");
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1);
    assert!(header(&sent[0].1, "To").contains(&citizen));

    let (status, without) = stack
        .call(Some(&agent), "POST", "/api/v1/agent/tickets", caller(""))
        .await;
    assert_eq!(status, 201, "{without}");
    let number = without["number"].as_str().unwrap();
    let (status, found) = stack
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            json!({"number": number, "id_number": "171430710-3"}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["number"], number);
}

/// Canned responses on the stand-ins under agent-api's policy: written, filled in for a
/// ticket, removed (its CANNED items).
#[tokio::test]
async fn canned_responses_are_written_and_removed_under_agent_apis_policy() {
    let stack = Stack::new(true).await;
    let admin = stack.admin().await;
    let citizen = format!("{}@example.com", unique("plantilla"));
    let number = stack.open_ticket(&citizen).await;
    let id = unique("saludo").to_lowercase().replace('_', "-");
    let path = format!("/api/v1/agent/canned-responses/{id}");
    let (status, saved) = stack
        .call(
            Some(&admin),
            "PUT",
            &path,
            json!({"title": "Saludo", "text": "Estimada/o {nombre}, sobre {numero}:"}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let (status, filled) = stack
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{number}/canned-responses"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200, "{filled}");
    assert!(
        filled.to_string().contains(&format!("sobre {number}:")),
        "{filled}"
    );
    let (status, removed) = stack.call(Some(&admin), "DELETE", &path, json!(null)).await;
    assert_eq!(status, 200, "{removed}");
}

/// Issue 24: the figures are written by each function's ticket writes and read by the
/// dashboard (agent-api) and the public statistics (ticket-status), under their policies.
#[tokio::test]
async fn figures_are_kept_and_read_under_each_functions_policy() {
    let stack = Stack::new(true).await;
    let admin = stack.admin().await;
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(
            stack
                .open_ticket(&format!("{}@example.com", unique("cifras")))
                .await,
        );
    }
    for number in &numbers[..2] {
        let (status, reply) = stack
            .call(
                Some(&admin),
                "POST",
                &format!("/api/v1/agent/tickets/{number}/replies"),
                json!({"text": "Atendido.", "status": "resolved"}),
            )
            .await;
        assert_eq!(status, 201, "{reply}");
    }
    // The citizen rates the first from the link of its finishing mail (create-ticket's
    // write of the ticket and its figures).
    let mails: Vec<String> = stack
        .sent()
        .await
        .into_iter()
        .map(|(_, raw)| ventanilla_tests::body_text(&raw))
        .filter(|text| text.contains(numbers[0].as_str()) && text.contains("/valorar/"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let link = mails[0]
        .lines()
        .find(|line| line.starts_with("4 - "))
        .and_then(|line| line.split_once("/valorar/"))
        .map(|(_, token)| format!("/valorar/{}", token.trim().split('?').next().unwrap()))
        .unwrap();
    let (status, rated) = stack.post_form(&link, "score=4&comment=Bien").await;
    assert_eq!(status, 201, "{rated}");
    let (status, rated) = stack.post_form(&link, "score=1").await;
    assert_eq!((status, &rated["score"]), (200, &json!(4)), "{rated}");
    let (status, dashboard) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/dashboard", json!(null))
        .await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(
        (
            &dashboard["totals"]["opened"],
            &dashboard["totals"]["finished"],
            &dashboard["totals"]["rating.4"]
        ),
        (&json!(5), &json!(2), &json!(1)),
        "{dashboard}"
    );
    let (status, stats) = stack.call(None, "GET", "/api/v1/stats", json!(null)).await;
    assert_eq!(status, 200, "{stats}");
    let mdt = stats["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"] == "MDT")
        .unwrap();
    let month = mdt["months"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&month["received"], &month["answered"]),
        (&json!(5), &json!("<5")),
        "{month}"
    );
    let found = ventanilla_app::stats_check::check(&stack.aws.store)
        .await
        .unwrap();
    assert!(found.differences.is_empty(), "{:?}", found.differences);

    // The export reads the tickets by number (BatchGetItem), writes the file under
    // exports/ and signs its link (agent-api's PutObject and GetObject).
    for format in ["csv", "xlsx"] {
        let (status, export) = stack
            .call(
                Some(&admin),
                "POST",
                "/api/v1/agent/exports",
                json!({"period": "anio", "format": format, "personal": true}),
            )
            .await;
        assert_eq!(status, 201, "{export}");
        let download = reqwest::get(export["url"].as_str().unwrap()).await.unwrap();
        assert_eq!(download.status(), 200, "{export}");
        let bytes = download.bytes().await.unwrap();
        if format == "csv" {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            for number in &numbers {
                assert!(text.contains(number.as_str()), "{number} in {text}");
            }
            assert!(text.contains("cifras"), "the addresses asked for: {text}");
        } else {
            assert!(bytes.starts_with(b"PK"), "a zip: {:?}", &bytes[..4]);
        }
        assert!(export["rows"].as_u64().unwrap() >= 5, "{export}");
    }
    stack.aws.assert_no_denials().await;
}
