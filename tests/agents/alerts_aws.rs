//! An agent's day from their mailbox, against the stand-ins (DynamoDB, S3, SES v2) and each
//! function's IAM policy: a new ticket and the citizen's follow-up reach the agents who watch
//! its queue, threaded per ticket; the agent's answer by mail reaches the citizen from the
//! support address, threaded into the citizen's conversation; a forged or forwarded answer
//! is refused and reaches nobody.

use serde_json::{Value, json};
use ventanilla_tests::{AwsStack as Stack, header, unique};

fn head(raw: &str, name: &str) -> String {
    header(raw, name).unwrap_or_default()
}

/// An agent of MDT made by `admin` through the API, with their address; their token.
async fn staff(stack: &Stack, admin: &str, role: &str, email: &str) -> String {
    let (status, made) = stack
        .call(
            Some(admin),
            "POST",
            "/api/v1/agent/agents",
            json!({"id": unique("agente-"), "name": format!("Agente {role}"), "role": role, "email": email}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    made["token"].as_str().unwrap().to_owned()
}

/// The mails sent to `to` so far.
async fn mails_to(stack: &Stack, to: &str) -> Vec<(String, String)> {
    stack
        .sent()
        .await
        .into_iter()
        .filter(|(_, raw)| head(raw, "To").contains(to))
        .collect()
}

/// SES's receipt event for a mail already in the bucket, with the sender checks as given.
fn event_with_verdicts(ses_id: &str, verdict: &str) -> Value {
    let mut event = ventanilla_tests::ses_receipt_event(ses_id);
    let receipt = &mut event["Records"][0]["ses"]["receipt"];
    for check in ["dkimVerdict", "spfVerdict", "dmarcVerdict"] {
        receipt[check] = json!({"status": verdict});
    }
    event
}

#[tokio::test]
async fn an_agent_is_told_by_mail_and_answers_the_citizen_from_their_mailbox() {
    let stack = Stack::new(true).await;
    let domain = stack.aws.domain.clone();
    let support = format!("soporte@{domain}");
    let admin = stack.admin().await;
    let supervisor = format!("{}@mdt.example.gob.ec", unique("supervisora"));
    let plain = format!("{}@mdt.example.gob.ec", unique("agente"));
    let supervisor_token = staff(&stack, &admin, "supervisor", &supervisor).await;
    staff(&stack, &admin, "agent", &plain).await;

    // 1. A citizen opens a ticket; the sweep tells the supervisor (who watches the whole
    //    agency by default), not the agent (who watches no queue until they choose one).
    let citizen = format!("{}@example.com", unique("carmen"));
    let number = stack.open_ticket(&citizen).await;
    stack.sweep_mail().await;
    let alerts = mails_to(&stack, &supervisor).await;
    assert_eq!(alerts.len(), 1, "one alert");
    assert!(mails_to(&stack, &plain).await.is_empty());
    let (alert_id, alert) = &alerts[0];
    let anchor = format!("<alerts.{}@{domain}>", number.to_lowercase());
    assert!(head(alert, "Subject").contains(&format!("[{number}]")));
    assert_eq!(head(alert, "Auto-Submitted"), "auto-generated");
    assert!(head(alert, "References").contains(&anchor), "{alert}");
    assert!(head(alert, "Reply-To").contains(&support));
    let text = ventanilla_tests::body_text(alert);
    assert!(
        text.starts_with(&format!("Nueva solicitud {number}")),
        "{text}"
    );
    assert!(text.contains("> El sistema da error al firmar."), "{text}");
    assert!(text.contains(&format!("/agente#{number}")));
    assert!(text.contains("#nota"), "how to answer by mail");
    // A second sweep sends nothing again.
    stack.sweep_mail().await;
    assert_eq!(mails_to(&stack, &supervisor).await.len(), 1);

    // 2. The supervisor answers from their mail client, quoting the alert.
    let own = stack
        .sent()
        .await
        .into_iter()
        .find(|(_, raw)| head(raw, "To").contains(&citizen))
        .expect("the citizen's acknowledgement");
    // SES gives the alert a Message-ID of its own, which the client answers; our anchor
    // stays in References.
    let provider_alert = format!("<{alert_id}@email.amazonses.com>");
    let answer = format!(
        "From: Supervisora <{supervisor}>\r\nTo: {support}\r\nSubject: Re: [{number}] Problema\r\n\
         Message-ID: <{}@mdt.example.gob.ec>\r\nIn-Reply-To: {provider_alert}\r\n\
         References: {anchor} {provider_alert}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Buenos días, pruebe con otro navegador.\r\n\r\n\
         El mar., 1 dic. 2026, Ventanilla escribió:\r\n> Nueva solicitud {number}\r\n> El sistema da error al firmar.\r\n",
        unique("respuesta")
    );
    let handled = stack.receive(&answer).await;
    assert_eq!(handled[0].outcome, "answered-by-agent", "{handled:?}");
    let to_citizen = mails_to(&stack, &citizen).await;
    assert_eq!(to_citizen.len(), 2, "the acknowledgement and the answer");
    let (_, reply) = to_citizen.iter().find(|(id, _)| id != &own.0).unwrap();
    assert!(head(reply, "From").contains(&support));
    assert!(
        head(reply, "References").contains(&format!("<ticket.{}@{domain}>", number.to_lowercase()))
    );
    let said = ventanilla_tests::body_text(reply);
    assert!(said.contains("pruebe con otro navegador"), "{said}");
    assert!(
        !said.contains("Nueva solicitud"),
        "the alert's quote stays out: {said}"
    );
    let (_, shown) = stack
        .call(
            Some(&supervisor_token),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            Value::Null,
        )
        .await;
    let last = shown["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "public_reply", "{last}");
    assert_eq!(last["author"], "Agente supervisor");
    // The same mail delivered again adds nothing.
    let again = stack.receive(&answer).await;
    assert_eq!(again[0].outcome, "duplicate");
    assert_eq!(mails_to(&stack, &citizen).await.len(), 2);

    // 3. The citizen writes again: the supervisor hears of it, in the same thread.
    let handled = stack
        .receive(&format!(
            "From: {citizen}\r\nTo: {support}\r\nSubject: Re: [{number}] Recibimos su solicitud\r\n\
             Message-ID: <{}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Sigue sin funcionar con Firefox.\r\n",
            unique("c2")
        ))
        .await;
    assert_eq!(handled[0].outcome, "follow-up");
    stack.sweep_mail().await;
    let alerts = mails_to(&stack, &supervisor).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let follow_up = alerts.iter().find(|(id, _)| id != alert_id).unwrap();
    let text = ventanilla_tests::body_text(&follow_up.1);
    assert!(text.starts_with("El ciudadano escribió de nuevo"), "{text}");
    assert!(text.contains("> Sigue sin funcionar con Firefox."));
    assert!(head(&follow_up.1, "References").contains(&anchor));
    assert_eq!(head(&follow_up.1, "Subject"), head(alert, "Subject"));

    // The supervisor finds the ticket by the citizen's words, under agent-api's policy.
    let (status, found) = stack
        .call(
            Some(&supervisor_token),
            "GET",
            "/api/v1/agent/search?q=Firefox%20funcionar",
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["tickets"][0]["number"], number.as_str(), "{found}");

    // 4. The same answer from an address SES could not authenticate: refused, nothing to
    //    the citizen, and no notice to an address that may be forged.
    let forged = answer.replace("Message-ID: <", "Message-ID: <forjado.");
    let id = unique("ses");
    stack.aws.store_received_mail(&id, forged.as_str()).await;
    let handled =
        inbound_mail::ses::handle_ses_event(&stack.mail, event_with_verdicts(&id, "FAIL"))
            .await
            .unwrap();
    stack.aws.assert_no_denials().await;
    assert_eq!(handled[0].outcome, "agent-mail-refused");
    assert_eq!(mails_to(&stack, &citizen).await.len(), 2);
    assert!(mails_to(&stack, &supervisor).await.len() == 2, "no notice");

    // A mail SES's scan flags as a virus is refused even from the agent, silently.
    let infected = answer.replace("Message-ID: <", "Message-ID: <virus.");
    let id = unique("ses");
    stack.aws.store_received_mail(&id, infected.as_str()).await;
    let mut event = event_with_verdicts(&id, "PASS");
    event["Records"][0]["ses"]["receipt"]["virusVerdict"] = json!({"status": "FAIL"});
    let handled = inbound_mail::ses::handle_ses_event(&stack.mail, event)
        .await
        .unwrap();
    stack.aws.assert_no_denials().await;
    assert_eq!(handled[0].outcome, "agent-mail-refused");
    assert_eq!(mails_to(&stack, &citizen).await.len(), 2);
    assert_eq!(mails_to(&stack, &supervisor).await.len(), 2, "no notice");

    // 5. A colleague who was forwarded the alert answers it from their own, authenticated
    //    address: refused, with a notice to them that says nothing of the ticket.
    let colleague = format!("{}@otra.example.org", unique("colega"));
    let forwarded = answer
        .replace(&supervisor, &colleague)
        .replace("Message-ID: <", "Message-ID: <reenviado.");
    let handled = stack.receive(&forwarded).await;
    assert_eq!(handled[0].outcome, "agent-mail-refused");
    assert_eq!(mails_to(&stack, &citizen).await.len(), 2);
    let notices = mails_to(&stack, &colleague).await;
    assert_eq!(notices.len(), 1);
    let notice = ventanilla_tests::body_text(&notices[0].1);
    assert!(notice.contains("no se agregó"), "{notice}");
    assert!(!notice.contains("Firefox") && !notice.contains("navegador"));
}
