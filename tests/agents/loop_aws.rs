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
    let (status, view) = stack
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            json!({"email": citizen, "number": number}),
        )
        .await;
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

    // The identity is fixed; the next time an agent lists the queue the reply goes out, once.
    stack.aws.verify().await;
    let (_, listed) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/tickets", json!({}))
        .await;
    assert_eq!(listed["tickets"][0]["undelivered_replies"], 0, "{listed}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0, "{shown}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0);
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1, "sent again exactly once");
    assert!(sent[0].1.contains("Ya lo revisamos."));
    assert!(header(&sent[0].1, "To").contains(&citizen));
}
