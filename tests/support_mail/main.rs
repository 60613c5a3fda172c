//! The support address end to end against the stand-ins (DynamoDB, S3, SES v2): each mail is
//! stored in S3 as the receipt rule's S3 action does and handed to the function as the SES
//! Lambda-action event (the shared fixture, with its id replaced); what the citizen sees is
//! read from the mail SES sent and from the status API.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use inbound_mail::ses::Handled;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_adapters::dynamodb::DynamoStore;
use ventanilla_adapters::s3::S3Blobs;
use ventanilla_adapters::ses::SesMailer;
use ventanilla_app::Desk;
use ventanilla_domain::ports::TicketStore;
use ventanilla_domain::{MessageKind, TicketNumber};
use ventanilla_tests::{body_text, header, ses_receipt_event, unique};

struct Stack {
    desk: Desk<DynamoStore, S3Blobs, SesMailer>,
    status: Router,
    aws: ventanilla_tests::AwsStandIn,
}

impl Stack {
    async fn new() -> Self {
        // Each function with its own credentials: the stand-in judges its calls by its
        // policy in template.yaml.
        let aws = ventanilla_tests::AwsStandIn::new(true).await;
        let ports = aws.ports("ticket-status");
        let status = ticket_status::router(Arc::new(Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
            mailer: (),
        }));
        let ports = aws.ports("inbound-mail");
        let desk = Desk {
            site: aws.site.clone(),
            store: ports.store,
            blobs: ports.blobs,
            mailer: ports.mailer,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
        };
        Stack { desk, status, aws }
    }

    /// What SES does with a received mail: the S3 action stores it under the prefix and SES's
    /// id, then the Lambda action invokes the function with an event that has no body.
    async fn receive(&self, ses_id: &str, raw: &str) -> Vec<Handled> {
        self.aws.store_received_mail(ses_id, raw).await;
        let handled =
            inbound_mail::ses::handle_ses_event(&self.desk, ses_receipt_event(ses_id)).await;
        self.aws.assert_no_denials().await;
        handled.unwrap()
    }

    async fn sent(&self) -> Vec<(String, String)> {
        self.aws.sent().await
    }

    /// The status API, as the citizen's browser calls it.
    async fn lookup(&self, email: &str, number: &str) -> Value {
        let request = Request::post("/api/v1/tickets/lookup")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": email, "number": number}).to_string(),
            ))
            .unwrap();
        let response = self.status.clone().oneshot(request).await.unwrap();
        self.aws.assert_no_denials().await;
        assert_eq!(response.status(), 200);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn a_citizen_writes_replies_and_is_not_confused_with_robots_or_strangers() {
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("ciudadano"));
    let support = format!("soporte@{}", stack.aws.domain);

    // 1. A mail to the support address opens a ticket and gets an acknowledgement.
    let first = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: No puedo ingresar al sistema\r\n\
         Message-ID: <primero.{citizen}>\r\nDate: Mon, 2 Jun 2025 09:00:00 -0500\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Buenos días, el sistema me dice que mi contraseña caducó.\r\nRosa\r\n"
    );
    let first_ses_id = unique("ses");
    let handled = stack.receive(&first_ses_id, &first).await;
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].outcome, "new-ticket");
    let number = handled[0].ticket.clone().unwrap();
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 1, "exactly one acknowledgement");
    let (ack_ses_id, ack) = &sent[0];
    assert!(header(ack, "To").unwrap().contains(&citizen));
    assert!(
        header(ack, "Subject")
            .unwrap()
            .contains(&format!("[{number}]"))
    );
    assert_eq!(
        header(ack, "In-Reply-To").unwrap(),
        format!("<primero.{citizen}>"),
        "the acknowledgement is threaded to the citizen's mail"
    );
    assert_eq!(header(ack, "Auto-Submitted").unwrap(), "auto-replied");
    assert!(body_text(ack).contains(&number));

    // The same SES event delivered twice stores nothing twice and answers once.
    let ticket_number = TicketNumber::parse(&number).unwrap();
    let again = inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&first_ses_id))
        .await
        .unwrap();
    assert_eq!(again[0].outcome, "duplicate");
    assert_eq!(stack.sent().await.len(), 1);
    // An event whose mail is not in S3 fails, so that Lambda retries it; nothing is dropped.
    let missing =
        inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&unique("ses"))).await;
    assert!(missing.is_err(), "{missing:?}");

    // 2. The citizen answers the acknowledgement from their mail client: SES delivered it with
    //    SES's own Message-ID, which the client quotes in In-Reply-To.
    let ses_message_id = format!("<{ack_ses_id}@email.amazonses.com>");
    let quoted: String = body_text(ack)
        .lines()
        .map(|line| format!("> {line}\r\n"))
        .collect();
    let reply = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\n\
         Subject: RE: {subject}\r\nMessage-ID: <respuesta.{citizen}>\r\n\
         In-Reply-To: {ses_message_id}\r\nReferences: {ses_message_id}\r\n\
         Date: Mon, 2 Jun 2025 10:00:00 -0500\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Adjunto más datos: mi usuario es rquishpe.\r\n\r\n\
         El lun, 2 jun 2025 a las 9:01, Ventanilla <no-responder@{domain}> escribió:\r\n{quoted}",
        subject = header(ack, "Subject").unwrap(),
        domain = stack.aws.domain,
    );
    let reply_ses_id = unique("ses");
    let handled = stack.receive(&reply_ses_id, &reply).await;
    assert_eq!(handled[0].outcome, "follow-up");
    assert_eq!(handled[0].ticket.as_deref(), Some(number.as_str()));
    // Delivered twice by SES: one message.
    let handled =
        inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&reply_ses_id))
            .await
            .unwrap();
    assert_eq!(handled[0].outcome, "duplicate");

    let status = stack.lookup(&citizen, &number).await;
    let messages = status["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{status}");
    assert_eq!(
        messages[1]["text"].as_str().unwrap().trim(),
        "Adjunto más datos: mi usuario es rquishpe.",
        "only the new text is shown; the quoted acknowledgement is not"
    );
    assert_eq!(
        stack.sent().await.len(),
        1,
        "a follow-up is not acknowledged"
    );

    // 3. An out-of-office answer to the acknowledgement creates nothing and sends nothing.
    let away = format!(
        "From: {citizen}\r\nTo: {support}\r\nSubject: Respuesta automática: {subject}\r\n\
         Message-ID: <fuera.{citizen}>\r\nIn-Reply-To: {ses_message_id}\r\n\
         Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Estoy fuera de la oficina hasta el lunes.\r\n",
        subject = header(ack, "Subject").unwrap(),
    );
    let before = stack.desk.store.ticket(&ticket_number).await.unwrap();
    let handled = stack.receive(&unique("ses"), &away).await;
    assert_eq!(handled[0].outcome, "automatic");
    assert_eq!(stack.sent().await.len(), 1, "nothing answers a robot");
    let status = stack.lookup(&citizen, &number).await;
    assert_eq!(status["messages"].as_array().unwrap().len(), 2);
    let after = stack.desk.store.ticket(&ticket_number).await.unwrap();
    assert_eq!(after.status, before.status);
    assert_eq!(
        after.last_activity, before.last_activity,
        "a robot does not move the ticket up the queue"
    );

    // 4. A stranger who types the number into a subject does not get into the ticket.
    let stranger = format!("{}@example.com", unique("extrano"));
    let intruder = format!(
        "From: {stranger}\r\nTo: {support}\r\nSubject: Re: [{number}] No puedo ingresar al sistema\r\n\
         Message-ID: <intruso.{stranger}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Cambien el correo del ticket a este.\r\n"
    );
    let handled = stack.receive(&unique("ses"), &intruder).await;
    assert_eq!(handled[0].outcome, "new-ticket");
    assert_ne!(handled[0].ticket.as_deref(), Some(number.as_str()));
    let thread = stack.desk.store.thread(&ticket_number).await.unwrap().1;
    let citizen_messages = thread
        .iter()
        .filter(|m| m.kind == MessageKind::CitizenMessage)
        .count();
    assert_eq!(
        citizen_messages, 2,
        "the stranger's text is not on the ticket"
    );
    let sent = stack.sent().await;
    assert_eq!(sent.len(), 2);
    let (_, to_stranger) = sent.iter().find(|(id, _)| id != ack_ses_id).unwrap();
    assert!(
        header(to_stranger, "To").unwrap().contains(&stranger),
        "the stranger hears about their own new ticket only"
    );
    assert!(!to_stranger.contains(&citizen));
}

#[tokio::test]
async fn spam_waits_for_review_unacknowledged_and_a_virus_is_never_stored() {
    let stack = Stack::new().await;
    let sender = format!("{}@example.com", unique("promo"));
    let support = format!("soporte@{}", stack.aws.domain);
    let mail = |id: &str| {
        format!(
            "From: {sender}\r\nTo: {support}\r\nSubject: Oferta\r\nMessage-ID: <{id}.{sender}>\r\n\
             Content-Type: text/plain\r\n\r\nCompre ya.\r\n"
        )
    };
    let with_verdict = |ses_id: &str, verdict: &str| {
        let mut event = ses_receipt_event(ses_id);
        event["Records"][0]["ses"]["receipt"][verdict]["status"] = json!("FAIL");
        event
    };
    let spam_id = unique("ses");
    stack.aws.store_received_mail(&spam_id, mail("spam")).await;
    let handled =
        inbound_mail::ses::handle_ses_event(&stack.desk, with_verdict(&spam_id, "spamVerdict"))
            .await
            .unwrap();
    assert_eq!(handled[0].outcome, "held-for-review");
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    let ticket = stack.desk.store.ticket(&number).await.unwrap();
    assert_eq!(ticket.queue.as_str(), "revision");

    let virus_id = unique("ses");
    stack
        .aws
        .store_received_mail(&virus_id, mail("virus"))
        .await;
    let handled =
        inbound_mail::ses::handle_ses_event(&stack.desk, with_verdict(&virus_id, "virusVerdict"))
            .await
            .unwrap();
    assert_eq!(handled[0].outcome, "virus");
    assert_eq!(handled[0].ticket, None);
    assert!(stack.sent().await.is_empty(), "neither is answered");
}

/// Our anchor counts only under our own mail domain: strangers' auto-replies naming
/// `ticket.<number>@any.test`, delivered as SES events, land on no ticket and leave it
/// unmoved (issue 18, point 2).
#[tokio::test]
async fn strangers_automatic_mail_with_a_foreign_anchor_lands_on_no_ticket() {
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("ciudadano"));
    let support = format!("soporte@{}", stack.aws.domain);
    let first = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: No puedo ingresar\r\n\
         Message-ID: <primero.{citizen}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Mi contraseña caducó.\r\n"
    );
    let handled = stack.receive(&unique("ses"), &first).await;
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    let before = stack.desk.store.ticket(&number).await.unwrap();
    for n in 0..5 {
        let robot = format!(
            "From: robot{n}@spam.example\r\nTo: {support}\r\nSubject: Respuesta automática\r\n\
             Message-ID: <auto{n}.{citizen}>\r\nAuto-Submitted: auto-replied\r\n\
             In-Reply-To: <ticket.{}@any.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Fuera de la oficina.\r\n",
            number.as_str().to_lowercase()
        );
        let handled = stack.receive(&unique("ses"), &robot).await;
        assert_eq!(handled[0].outcome, "automatic");
        assert_eq!(handled[0].ticket, None);
    }
    let after = stack.desk.store.ticket(&number).await.unwrap();
    assert_eq!(after.version, before.version, "the ticket did not move");
}

impl Stack {
    /// A mail received with the receipt `adjust` makes of the fixture's (DMARC PASS).
    async fn receive_judged(&self, raw: &str, adjust: impl FnOnce(&mut Value)) -> Vec<Handled> {
        let ses_id = unique("ses");
        self.aws.store_received_mail(&ses_id, raw).await;
        let mut event = ses_receipt_event(&ses_id);
        adjust(&mut event["Records"][0]["ses"]);
        let handled = inbound_mail::ses::handle_ses_event(&self.desk, event).await;
        self.aws.assert_no_denials().await;
        handled.unwrap()
    }
}

/// Issue 18, point 1: a mail that names a citizen as its sender joins the citizen's ticket
/// only when SES authenticated the From domain (DMARC PASS; where the domain publishes no
/// DMARC, an SPF or DKIM pass aligned with it). A forged one opens a ticket of its own,
/// marked for agents, and its acknowledgement carries none of the forger's words.
#[tokio::test]
async fn forged_sender_opens_its_own_ticket() {
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("rosa"));
    let support = format!("soporte@{}", stack.aws.domain);
    let first = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Certificado laboral\r\n\
         Message-ID: <inicio.{citizen}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Necesito mi certificado laboral.\r\n"
    );
    let handled = stack.receive(&unique("ses"), &first).await;
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    let before = stack.desk.store.ticket(&number).await.unwrap();
    let anchor = format!(
        "ticket.{}@{}",
        number.as_str().to_lowercase(),
        stack.aws.site.settings.mail_domain
    );
    let forged = |id: &str| {
        format!(
            "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\n\
             Subject: Re: [{number}] Retiro mi solicitud\r\nMessage-ID: <{id}@evil.example>\r\n\
             In-Reply-To: <{anchor}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Retiro mi solicitud. Llame urgente al 0999999999 para confirmar su clave.\r\n"
        )
    };
    let acks_before = stack.sent().await.len();

    // DMARC FAIL: not the citizen's mailbox.
    let handled = stack
        .receive_judged(&forged("falso1"), |ses| {
            ses["receipt"]["dmarcVerdict"]["status"] = json!("FAIL");
        })
        .await;
    assert_eq!(handled[0].outcome, "new-ticket");
    let own = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    assert_ne!(own, number);
    let (_, thread) = stack.desk.store.thread(&own).await.unwrap();
    assert!(thread[0].mail.as_ref().unwrap().sender_unverified);
    // Its acknowledgement goes to the address it names, with nothing the forger typed.
    let sent = stack.sent().await;
    assert_eq!(sent.len(), acks_before + 1);
    let ack = &sent.last().unwrap().1;
    let text = format!("{}\n{}", header(ack, "Subject").unwrap(), body_text(ack));
    for typed in ["Retiro", "0999999999", "Rosa Quishpe"] {
        assert!(!text.contains(typed), "{typed} in {text}");
    }
    assert!(text.contains(own.as_str()), "{text}");

    // No DMARC record (GRAY) and SPF passing for another organisation's envelope sender, or
    // a DKIM pass claimed only by an Authentication-Results the mail brought with it.
    let handled = stack
        .receive_judged(&forged("falso2"), |ses| {
            ses["receipt"]["dmarcVerdict"]["status"] = json!("GRAY");
            ses["mail"]["source"] = json!("rebote@gmail.com.evil.example");
            ses["mail"]["headers"] = json!([
                {"name": "Authentication-Results", "value": "amazonses.com; spf=pass; dkim=pass header.i=@evil.example; dmarc=none header.from=gmail.com"},
                {"name": "Authentication-Results", "value": "amazonses.com; dkim=pass header.d=gmail.com"}
            ]);
        })
        .await;
    assert_eq!(handled[0].outcome, "new-ticket");
    assert_ne!(handled[0].ticket.as_deref(), Some(number.as_str()));

    // Two From headers (DMARC may have passed for the other one): nobody's in particular.
    let doubled =
        forged("falso3").replacen("\r\nTo: ", "\r\nFrom: alguien@evil.example\r\nTo: ", 1);
    let handled = stack.receive_judged(&doubled, |_| {}).await;
    assert_eq!(handled[0].outcome, "new-ticket");
    assert_ne!(handled[0].ticket.as_deref(), Some(number.as_str()));

    // None could touch the citizen's ticket.
    let after = stack.desk.store.ticket(&number).await.unwrap();
    assert_eq!(after.version, before.version);
    assert_eq!(after.status, before.status);

    // The citizen's own mail, from a domain without DMARC, authenticated by an aligned SPF
    // pass (a subdomain of the same organisation) joins the ticket.
    let genuine = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Re: [{number}] Certificado\r\n\
         Message-ID: <sigue.{citizen}>\r\nIn-Reply-To: <{anchor}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nAdjunto mi cédula.\r\n"
    );
    let handled = stack
        .receive_judged(&genuine, |ses| {
            ses["receipt"]["dmarcVerdict"]["status"] = json!("GRAY");
            ses["mail"]["source"] = json!("rebotes@correo.gmail.com");
        })
        .await;
    assert_eq!(handled[0].outcome, "follow-up");
    assert_eq!(handled[0].ticket.as_deref(), Some(number.as_str()));
}

/// Issue 18, point 1: spam GRAY and a virus scan that failed are not clean; such mail waits
/// in the review queue, unacknowledged.
#[tokio::test]
async fn unclean_verdicts_wait_for_review() {
    let stack = Stack::new().await;
    let support = format!("soporte@{}", stack.aws.domain);
    for (verdict, status) in [
        ("spamVerdict", "GRAY"),
        ("spamVerdict", "PROCESSING_FAILED"),
        ("virusVerdict", "PROCESSING_FAILED"),
        ("virusVerdict", "GRAY"),
    ] {
        let sender = format!("{}@example.com", unique("duda"));
        let raw = format!(
            "From: {sender}\r\nTo: {support}\r\nSubject: Consulta\r\nMessage-ID: <m.{sender}>\r\n\
             Content-Type: text/plain\r\n\r\nHola.\r\n"
        );
        let handled = stack
            .receive_judged(&raw, |ses| {
                ses["receipt"][verdict]["status"] = json!(status);
            })
            .await;
        assert_eq!(handled[0].outcome, "held-for-review", "{verdict} {status}");
        let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
        let ticket = stack.desk.store.ticket(&number).await.unwrap();
        assert_eq!(ticket.queue.as_str(), "revision");
    }
    assert!(stack.sent().await.is_empty(), "none is answered");
}

/// Issue 18, point 2: automatic mail under our own anchor, from anyone, is noted on the
/// ticket without moving it (its version and last activity stay, so an agent's write never
/// conflicts with it), and at most AUTOMATIC_NOTES_PER_TICKET_PER_DAY times a day.
#[tokio::test]
async fn a_strangers_automatic_mail_never_moves_a_ticket_and_its_notes_are_capped() {
    use ventanilla_app::receive_mail::AUTOMATIC_NOTES_PER_TICKET_PER_DAY;
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("ciudadano"));
    let support = format!("soporte@{}", stack.aws.domain);
    let first = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: No puedo ingresar\r\n\
         Message-ID: <primero.{citizen}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Mi contraseña caducó.\r\n"
    );
    let handled = stack.receive(&unique("ses"), &first).await;
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    let before = stack.desk.store.ticket(&number).await.unwrap();
    let anchor = format!(
        "ticket.{}@{}",
        number.as_str().to_lowercase(),
        stack.aws.site.settings.mail_domain
    );
    for n in 0..15 {
        let robot = format!(
            "From: robot{n}@spam.example\r\nTo: {support}\r\nSubject: Respuesta automática\r\n\
             Message-ID: <auto{n}.{citizen}>\r\nAuto-Submitted: auto-replied\r\n\
             In-Reply-To: <{anchor}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Fuera de la oficina.\r\n"
        );
        let handled = stack.receive(&unique("ses"), &robot).await;
        assert_eq!(handled[0].outcome, "automatic");
        // Noted on the ticket until the day's notes are used up.
        let noted = (n as u64) < AUTOMATIC_NOTES_PER_TICKET_PER_DAY;
        assert_eq!(
            handled[0].ticket.as_deref(),
            noted.then_some(number.as_str()),
            "{n}"
        );
    }
    let (after, thread) = stack.desk.store.thread(&number).await.unwrap();
    assert_eq!(after.version, before.version, "the ticket did not move");
    assert_eq!(after.last_activity, before.last_activity);
    let notes = thread
        .iter()
        .filter(|m| m.kind == MessageKind::SystemEvent)
        .count();
    assert_eq!(notes as u64, AUTOMATIC_NOTES_PER_TICKET_PER_DAY);
    // The same automatic mail delivered again is a duplicate, not another note.
    let robot = format!(
        "From: robot0@spam.example\r\nTo: {support}\r\nSubject: Respuesta automática\r\n\
         Message-ID: <auto0.{citizen}>\r\nAuto-Submitted: auto-replied\r\n\
         In-Reply-To: <{anchor}>\r\nContent-Type: text/plain\r\n\r\nFuera.\r\n"
    );
    let handled = stack.receive(&unique("ses"), &robot).await;
    assert_eq!(handled[0].outcome, "duplicate");
}

/// Issue 18, item size: twenty attachments with 25 KB names and content types would push
/// the message past DynamoDB's 400 KB item and fail on every retry; bounded, the mail is
/// stored, with every file.
#[tokio::test]
async fn a_mail_with_twenty_huge_file_names_is_stored() {
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("rosa"));
    let support = format!("soporte@{}", stack.aws.domain);
    let mut raw = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Documentos\r\n\
         Message-ID: <nombres.{citizen}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto mis documentos.\r\n"
    );
    for n in 0..20 {
        let name = format!("{n:02}-{}.pdf", "n".repeat(25_000));
        let kind = format!("application/{}", "x".repeat(25_000));
        raw.push_str(&format!(
            "--b\r\nContent-Type: {kind}\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let handled = stack.receive(&unique("ses"), &raw).await;
    assert_eq!(handled[0].outcome, "new-ticket");
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    let (_, thread) = stack.desk.store.thread(&number).await.unwrap();
    let files = &thread[0].attachments;
    assert_eq!(files.len(), 20);
    for file in files {
        assert!(file.name.chars().count() <= 200, "{}", file.name.len());
        assert!(file.name.ends_with(".pdf"));
        assert_eq!(file.content_type, "application/octet-stream");
    }
}

#[tokio::test]
async fn a_mail_without_a_message_id_delivered_twice_is_stored_once() {
    // Its dedupe rests on SES's id alone: a mail with a Message-ID is known by that id only.
    let stack = Stack::new().await;
    let citizen = format!("{}@gmail.com", unique("sinid"));
    let support = format!("soporte@{}", stack.aws.domain);
    let raw = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Sin identificador\r\n\
         Date: Mon, 2 Jun 2025 09:00:00 -0500\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Mi cliente de correo no pone Message-ID.\r\n"
    );
    let ses_id = unique("ses");
    let handled = stack.receive(&ses_id, &raw).await;
    assert_eq!(handled[0].outcome, "new-ticket");
    let number = TicketNumber::parse(handled[0].ticket.as_deref().unwrap()).unwrap();
    assert_eq!(stack.sent().await.len(), 1, "one acknowledgement");
    let again = inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&ses_id))
        .await
        .unwrap();
    stack.aws.assert_no_denials().await;
    assert_eq!(again[0].outcome, "duplicate");
    assert_eq!(again[0].ticket.as_deref(), Some(number.as_str()));
    assert_eq!(stack.sent().await.len(), 1, "acknowledged once");
    let (_, thread) = stack.desk.store.thread(&number).await.unwrap();
    assert_eq!(thread.len(), 1);
    // The same text under another SES id is another mail: nothing tells them apart.
    let other = stack.receive(&unique("ses"), &raw).await;
    assert_eq!(other[0].outcome, "new-ticket");
    assert_ne!(other[0].ticket.as_deref(), Some(number.as_str()));
}

/// Two deliveries of one mail at once (SES retrying while the first is still running), with
/// and without a Message-ID: one opens the ticket, the other finds it; one acknowledgement,
/// one message, and the number the loser's transaction did not take is not lost.
#[tokio::test]
async fn a_mail_delivered_twice_at_once_opens_one_ticket() {
    let stack = Stack::new().await;
    let support = format!("soporte@{}", stack.aws.domain);
    let sequence = |number: &str| -> u64 { number.rsplit('-').next().unwrap().parse().unwrap() };
    let mut last = None;
    for message_id in [
        None,
        Some(format!("<{}@mail.gmail.com>", unique("carrera"))),
    ] {
        let citizen = format!("{}@gmail.com", unique("carrera"));
        let header = message_id
            .as_ref()
            .map(|id| format!("Message-ID: {id}\r\n"))
            .unwrap_or_default();
        let raw = format!(
            "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Dos entregas\r\n\
             {header}Date: Mon, 2 Jun 2025 09:00:00 -0500\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nLlegó dos veces a la vez.\r\n"
        );
        let ses_id = unique("ses");
        stack.aws.store_received_mail(&ses_id, raw.as_str()).await;
        let sent_before = stack.sent().await.len();
        let (first, second) = tokio::join!(
            inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&ses_id)),
            inbound_mail::ses::handle_ses_event(&stack.desk, ses_receipt_event(&ses_id)),
        );
        stack.aws.assert_no_denials().await;
        let (first, second) = (first.unwrap(), second.unwrap());
        let mut outcomes = [first[0].outcome, second[0].outcome];
        outcomes.sort();
        assert_eq!(outcomes, ["duplicate", "new-ticket"], "{message_id:?}");
        assert_eq!(first[0].ticket, second[0].ticket, "both name one ticket");
        let number = TicketNumber::parse(first[0].ticket.as_deref().unwrap()).unwrap();
        let (_, thread) = stack.desk.store.thread(&number).await.unwrap();
        assert_eq!(thread.len(), 1, "{message_id:?}");
        let sent = stack.sent().await;
        assert_eq!(sent.len() - sent_before, 1, "acknowledged once");
        assert!(body_text(&sent.last().unwrap().1).contains(number.as_str()));
        // Gapless: the next ticket of the same queue takes the next number.
        if let Some(last) = last {
            assert_eq!(sequence(number.as_str()), last + 1, "{message_id:?}");
        }
        last = Some(sequence(number.as_str()));
    }
}
