//! Faults between the functions and AWS: a proxy in front of the stand-ins answers chosen
//! calls with DynamoDB throttling and cancelled transactions, S3 server errors and SES
//! throttling, past the SDK's own retries. Each function is driven through its entry point
//! (the HTTP routers, the inbound-mail event handler) and must lose nothing: a mail whose
//! delivery fails is retried by its event source and stored once; an agent's reply that
//! cannot be sent stays, marked, and goes out once later; what the caller cannot fix is a
//! `503` problem (never a `500`) or a Lambda error; nothing half-written stays visible.

#![allow(clippy::unwrap_used)]

mod proxy;

use proxy::{Call, Fault, FaultProxy};
use serde_json::json;
use ventanilla_domain::Email;
use ventanilla_domain::ports::TicketStore;
use ventanilla_tests::{AwsStack, AwsStandIn, form_json, ses_receipt_event, unique};

/// More failures in a row than the SDK's standard retry mode tries (3 attempts).
const PAST_THE_SDK: usize = 10;

async fn stack() -> (FaultProxy, AwsStack) {
    let proxy = FaultProxy::start().await;
    let config = ventanilla_tests::aws_config_at(&proxy.url).await;
    let stack = AwsStack::on(AwsStandIn::at(config, true).await);
    (proxy, stack)
}

/// A citizen's mail with a screenshot attached.
fn mail(citizen: &str, support: &str) -> String {
    format!(
        "From: Carmen Guamán <{citizen}>\r\nTo: {support}\r\n\
         Subject: No puedo firmar el contrato\r\nMessage-ID: <{}@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEl sistema da error al firmar.\r\n\
         --b\r\nContent-Type: image/png; name=\"error.png\"\r\n\
         Content-Disposition: attachment; filename=\"error.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n",
        unique("falla")
    )
}

#[tokio::test]
async fn a_mail_whose_delivery_fails_is_retried_by_its_event_source_and_stored_once() {
    let (proxy, stack) = stack().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let email = Email::parse(&citizen).unwrap();
    let ses_id = unique("ses");
    stack
        .aws
        .store_received_mail(
            &ses_id,
            mail(&citizen, &format!("soporte@{}", stack.aws.domain)),
        )
        .await;
    let event = ses_receipt_event(&ses_id);
    // Each step of a delivery fails in turn: reading the raw mail, storing its attachment,
    // the dedupe look-ups, the transaction that opens the ticket. Each time the invocation
    // fails, so that Lambda retries the event, and nothing of the mail is visible.
    for (call, fault) in [
        (Call::S3Get, Fault::ServerError),
        (Call::S3Put, Fault::Throttled),
        (Call::DynamoDb("GetItem"), Fault::ServerError),
        (Call::DynamoDb("TransactWriteItems"), Fault::Throttled),
    ] {
        proxy.fail(call.clone(), PAST_THE_SDK, fault);
        let failed = inbound_mail::handle(&stack.mail, event.clone()).await;
        assert!(failed.is_err(), "{call:?}: {failed:?}");
        proxy.heal();
        assert!(
            stack
                .aws
                .store
                .requester_tickets(&email)
                .await
                .unwrap()
                .is_empty(),
            "{call:?} left a ticket behind"
        );
        assert!(stack.sent().await.is_empty(), "{call:?}: a mail went out");
    }
    // The event source's next try, with the fault gone, delivers it; later tries find it.
    let handled = inbound_mail::handle(&stack.mail, event.clone())
        .await
        .unwrap();
    assert_eq!(handled[0]["outcome"], "new-ticket", "{handled}");
    for _ in 0..2 {
        let again = inbound_mail::handle(&stack.mail, event.clone())
            .await
            .unwrap();
        assert_eq!(again[0]["outcome"], "duplicate", "{again}");
    }
    let tickets = stack.aws.store.requester_tickets(&email).await.unwrap();
    assert_eq!(tickets.len(), 1);
    let thread = stack.aws.store.thread(&tickets[0].number).await.unwrap().1;
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert_eq!(thread[0].attachments.len(), 1);
    assert_eq!(stack.sent().await.len(), 1, "one acknowledgement");
    assert!(proxy.heal() >= 4 * 3, "every fault met every SDK attempt");
    // The injected faults were the only refusals: no call was outside its policy.
    stack.aws.assert_no_denials().await;
}

#[tokio::test]
async fn an_opening_that_fails_answers_503_leaves_no_ticket_and_no_gap_in_the_numbers() {
    let (proxy, stack) = stack().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let email = Email::parse(&citizen).unwrap();
    proxy.fail(
        Call::DynamoDb("TransactWriteItems"),
        PAST_THE_SDK,
        Fault::Throttled,
    );
    let (status, problem) = stack
        .call(None, "POST", "/api/v1/tickets", form_json(&citizen))
        .await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["status"], 503);
    assert!(
        !problem.to_string().contains("Throttling"),
        "no internals in answers: {problem}"
    );
    proxy.heal();
    assert!(
        stack
            .aws
            .store
            .requester_tickets(&email)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(stack.sent().await.is_empty());
    // Lost races for the number (the counter's condition fails) are the store's to retry.
    proxy.fail(
        Call::DynamoDb("TransactWriteItems"),
        3,
        Fault::ConditionFailed,
    );
    let mut numbers = Vec::new();
    for _ in 0..2 {
        numbers.push(stack.open_ticket(&citizen).await);
    }
    assert!(numbers[0].ends_with("-00001"), "{numbers:?}");
    assert!(numbers[1].ends_with("-00002"), "{numbers:?}");
    assert_eq!(
        proxy.heal(),
        3 + 3,
        "three SDK attempts at the throttled opening, three lost races"
    );
    // The injected faults were the only refusals: no call was outside its policy.
    stack.aws.assert_no_denials().await;
}

#[tokio::test]
async fn reads_that_fail_answer_503_problems_not_500s() {
    let (proxy, stack) = stack().await;
    let admin = stack.admin().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let number = stack.open_ticket(&citizen).await;
    let lookup = || {
        stack.call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            json!({ "email": citizen, "number": number }),
        )
    };
    // A lookup reads the throttle counts (BatchGetItem), then the ticket with its thread
    // (Query): either failing is a 503.
    let mut injected = 0;
    for (call, fault) in [
        ("BatchGetItem", Fault::ServerError),
        ("Query", Fault::Throttled),
    ] {
        proxy.fail(Call::DynamoDb(call), PAST_THE_SDK, fault);
        let (status, problem) = lookup().await;
        assert_eq!(status, 503, "{call}: {problem}");
        let so_far = proxy.heal();
        assert!(so_far > injected, "{call} was not called");
        injected = so_far;
    }
    proxy.fail(Call::DynamoDb("Query"), PAST_THE_SDK, Fault::Throttled);
    let (status, problem) = stack
        .call(Some(&admin), "GET", "/api/v1/agent/tickets", json!({}))
        .await;
    assert_eq!(status, 503, "{problem}");
    proxy.heal();
    assert_eq!(lookup().await.0, 200);
    // The injected faults were the only refusals: no call was outside its policy.
    stack.aws.assert_no_denials().await;
}

#[tokio::test]
async fn a_reply_that_cannot_be_sent_stays_marked_and_goes_out_once_later() {
    let (proxy, stack) = stack().await;
    let admin = stack.admin().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let number = stack.open_ticket(&citizen).await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let sent_before = stack.sent().await.len();

    // The store fails: the reply is refused with a 503 and nothing is mailed.
    proxy.fail(
        Call::DynamoDb("TransactWriteItems"),
        PAST_THE_SDK,
        Fault::Throttled,
    );
    let (status, problem) = stack
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            json!({ "text": "Primera respuesta." }),
        )
        .await;
    assert_eq!(status, 503, "{problem}");
    proxy.heal();
    assert_eq!(stack.sent().await.len(), sent_before);

    // SES keeps throttling: the reply (with a file) is stored and marked undelivered.
    proxy.fail(Call::SesSend, PAST_THE_SDK, Fault::Throttled);
    let (status, reply) = stack
        .call_multipart(
            Some(&admin),
            &format!("{base}/replies"),
            &[("text", "Estamos revisando su caso.")],
            &[(
                "attachments",
                "requisitos.pdf",
                "application/pdf",
                b"%PDF-1.4 requisitos",
            )],
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["delivered"], false, "{reply}");
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 1, "{shown}");
    assert_eq!(stack.sent().await.len(), sent_before);
    proxy.heal();

    // The mail queue tries it again a second later: the minute's sweep sends it, once, and
    // a second sweep (or another one racing it) finds nothing to send.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (first, second) = tokio::join!(stack.sweep_mail(), stack.sweep_mail());
    assert_eq!(
        first["sent"].as_u64().unwrap() + second["sent"].as_u64().unwrap(),
        1,
        "{first} {second}"
    );
    let (_, shown) = stack.call(Some(&admin), "GET", &base, json!({})).await;
    assert_eq!(shown["undelivered_replies"], 0, "{shown}");
    let sent = stack.sent().await;
    assert_eq!(sent.len(), sent_before + 1);
    // The sweeper (inbound-mail, under its own policy) attached the agent's file.
    let mailed = &sent.last().unwrap().1;
    assert!(ventanilla_tests::body_text(mailed).contains("Estamos revisando su caso."));
    assert!(mailed.contains("requisitos.pdf"), "{mailed}");
    let texts: Vec<String> = stack
        .aws
        .store
        .thread(&ventanilla_domain::TicketNumber::parse(&number).unwrap())
        .await
        .unwrap()
        .1
        .iter()
        .map(|m| m.body.as_str().to_owned())
        .collect();
    assert!(
        !texts.iter().any(|t| t == "Primera respuesta."),
        "the refused reply is not half-stored: {texts:?}"
    );
    // The injected faults were the only refusals: no call was outside its policy.
    stack.aws.assert_no_denials().await;
}

#[tokio::test]
async fn an_acknowledgement_that_cannot_be_sent_loses_no_mail() {
    let (proxy, stack) = stack().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let ses_id = unique("ses");
    stack
        .aws
        .store_received_mail(
            &ses_id,
            mail(&citizen, &format!("soporte@{}", stack.aws.domain)),
        )
        .await;
    proxy.fail(Call::SesSend, PAST_THE_SDK, Fault::Throttled);
    let handled = inbound_mail::handle(&stack.mail, ses_receipt_event(&ses_id))
        .await
        .unwrap();
    assert_eq!(handled[0]["outcome"], "new-ticket", "{handled}");
    proxy.heal();
    let again = inbound_mail::handle(&stack.mail, ses_receipt_event(&ses_id))
        .await
        .unwrap();
    assert_eq!(again[0]["outcome"], "duplicate", "{again}");
    let tickets = stack
        .aws
        .store
        .requester_tickets(&Email::parse(&citizen).unwrap())
        .await
        .unwrap();
    assert_eq!(tickets.len(), 1);
    assert!(stack.sent().await.is_empty(), "SES took nothing yet");

    // Queued with the ticket, it waits for its next try; the sweep then sends it, once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(stack.sweep_mail().await["sent"], 1);
    assert_eq!(stack.sweep_mail().await["sent"], 0);
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let header = |name| ventanilla_tests::header(&sent[0].1, name).unwrap_or_default();
    assert!(header("To").contains(&citizen));
    assert!(
        header("Subject").contains(tickets[0].number.as_str()),
        "{}",
        sent[0].1
    );
    // The injected faults were the only refusals: no call was outside its policy.
    stack.aws.assert_no_denials().await;
}

/// A change of the ticket alone is one conditional PutItem, outside any transaction (issue
/// 25). Two faults a transaction never met: a transaction in flight holding the ticket (one
/// recording a mail checks it), which the SDK does not retry, and an answer lost after the
/// write landed, which the SDK retries into the write's own condition. Neither is a conflict
/// for the agent; a change from a version really gone still is.
#[tokio::test]
async fn a_change_of_the_ticket_alone_outlives_a_held_item_and_a_lost_answer() {
    use ventanilla_domain::ports::StoreError;
    use ventanilla_domain::{Priority, TicketChange, TicketNumber, TicketUpdate};
    let (proxy, stack) = stack().await;
    let citizen = format!("{}@example.com", unique("carmen"));
    let number = TicketNumber::parse(&stack.open_ticket(&citizen).await).unwrap();
    let store = &stack.aws.store;
    let seen = store.ticket(&number).await.unwrap().version;
    let to = |priority, expected_version| TicketUpdate {
        number: number.clone(),
        expected_version,
        change: TicketChange {
            priority: Some(priority),
            ..Default::default()
        },
        message: None,
        mails: Vec::new(),
    };
    proxy.fail(Call::DynamoDb("PutItem"), 2, Fault::TransactionConflict);
    let changed = store.update(to(Priority::High, seen)).await.unwrap();
    assert_eq!(
        (changed.priority, changed.version),
        (Priority::High, seen + 1)
    );
    assert_eq!(proxy.heal(), 2, "two tries met the held item");

    proxy.fail(Call::DynamoDb("PutItem"), 1, Fault::AnswerLost);
    let changed = store.update(to(Priority::Urgent, seen + 1)).await.unwrap();
    assert_eq!(changed.version, seen + 2);
    proxy.heal();
    let stored = store.ticket(&number).await.unwrap();
    assert_eq!(stored, changed);

    assert!(matches!(
        store.update(to(Priority::Low, seen + 1)).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(store.ticket(&number).await.unwrap(), stored);
    stack.aws.assert_no_denials().await;
}
