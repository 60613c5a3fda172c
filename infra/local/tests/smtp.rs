//! The local support address: the real `ventanilla-local` binary takes mail over SMTP as a
//! mail client or `swaks` sends it, opens a ticket, writes the acknowledgement to the outbox,
//! and threads the citizen's reply to that acknowledgement into the same ticket.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{add_agent, agent_http, lookup, send_mail, start, start_with};

fn outbox(data_dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir.join("outbox"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

#[test]
fn a_mail_over_smtp_opens_a_ticket_and_its_reply_joins_it() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path());
    let citizen = "luis.tipan@example.com";
    let support = "soporte@ventanilla.example.gob.ec";

    let first = format!(
        "From: Luis Tipán <{citizen}>\r\nTo: {support}\r\n\
         Subject: =?UTF-8?Q?Solicitud_de_capacitaci=C3=B3n?=\r\n\
         Message-ID: <smtp-1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"limite\"\r\n\r\n\
         --limite\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Necesitamos una capacitación para 12 personas.\r\n.Una línea que empieza con punto.\r\n\
         --limite\r\nContent-Type: image/png; name=\"captura.png\"\r\n\
         Content-Disposition: attachment; filename=\"captura.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n\
         --limite--\r\n"
    );
    let answer = send_mail(&server.smtp, citizen, support, &first);
    assert!(answer.contains("new-ticket"), "{answer}");
    let number = answer.split_whitespace().last().unwrap().to_owned();

    let sent = outbox(data.path());
    assert_eq!(sent.len(), 1, "one acknowledgement");
    let ack = &sent[0];
    assert!(ack.contains(&format!("[{number}]")));
    assert!(ack.contains("In-Reply-To: <smtp-1@example.com>"), "{ack}");
    let ack_id = ack
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .trim()
        .to_owned();

    let reply = format!(
        "From: {citizen}\r\nTo: {support}\r\nSubject: Re: Recibimos su solicitud\r\n\
         Message-ID: <smtp-2@example.com>\r\nIn-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Serían los días martes.\r\n\r\n\
         On Mon, Jun 2, 2025 at 9:00 AM Ventanilla <no-responder@ventanilla.example.gob.ec> wrote:\r\n\
         > Recibimos su solicitud.\r\n"
    );
    let answer = send_mail(&server.smtp, citizen, support, &reply);
    assert!(answer.contains(&format!("follow-up {number}")), "{answer}");

    let status = lookup(&server.http, citizen, &number);
    assert_eq!(status["category"], "capacitacion");
    let messages = status["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{status}");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains(".Una línea que empieza con punto."),
        "dot-stuffing is undone: {status}"
    );
    let attachment = &messages[0]["attachments"][0];
    assert_eq!(attachment["name"], "captura.png", "{status}");
    assert_eq!(attachment["size"], 70);
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .contains("/blobs/attachments/mail/"),
        "{status}"
    );
    assert_eq!(
        messages[1]["text"].as_str().unwrap().trim(),
        "Serían los días martes."
    );
    assert_eq!(
        outbox(data.path()).len(),
        1,
        "a follow-up is not acknowledged"
    );
    // The raw mails are kept where SES would put them.
    let raw = std::fs::read_dir(data.path().join("blobs/inbound"))
        .unwrap()
        .count();
    assert_eq!(raw, 2);
}

/// The local listener has no SES verdicts: with `local_senders = "unverified"` (the visible
/// setting, issue 18 point 1) a mail naming a citizen as its sender, even threaded to their
/// ticket, opens a ticket of its own and its acknowledgement quotes nothing.
#[test]
fn with_unverified_local_senders_a_mail_never_joins_a_ticket_by_its_from() {
    let data = tempfile::tempdir().unwrap();
    let config = common::config_with(
        data.path(),
        &[(
            "local_senders = \"authenticated\"",
            "local_senders = \"unverified\"",
        )],
    );
    let server = start_with(
        &data.path().join("data"),
        &["--config".as_ref(), config.as_os_str()],
    );
    let citizen = "luis.tipan@example.com";
    let support = "soporte@ventanilla.example.gob.ec";
    let first = format!(
        "From: Luis Tipan <{citizen}>\r\nTo: {support}\r\nSubject: Consulta de pago\r\n\
         Message-ID: <local-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Texto que no se cita.\r\n"
    );
    let answer = send_mail(&server.smtp, citizen, support, &first);
    assert!(answer.contains("new-ticket"), "{answer}");
    let number = answer.split_whitespace().last().unwrap().to_owned();
    let ack = &outbox(&data.path().join("data"))[0];
    assert!(!ack.contains("Texto que no se cita"), "{ack}");
    assert!(!ack.contains("Consulta de pago"), "{ack}");
    let reply = format!(
        "From: {citizen}\r\nTo: {support}\r\nSubject: Re: [{number}] Consulta\r\n\
         Message-ID: <local-2@example.com>\r\nContent-Type: text/plain\r\n\r\nOtra cosa.\r\n"
    );
    let answer = send_mail(&server.smtp, citizen, support, &reply);
    assert!(answer.contains("new-ticket"), "{answer}");
    assert!(!answer.contains(&number), "{answer}");
}

/// A citizen who answers our questions inline, from a mail that opens a new ticket (its
/// thread is unknown here): the agent reads every answer with the question it answers, in
/// order, and the rest of the history collapsed under it; the citizen's status page shows
/// the same words.
#[test]
fn an_inline_answer_keeps_every_block_and_its_history_one_click_away() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path());
    let citizen = "rosa.quishpe@example.com";
    let support = "soporte@ventanilla.example.gob.ec";
    let mail = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: {support}\r\nSubject: Re: Datos de su trámite\r\n\
         Message-ID: <inline-1@example.com>\r\nIn-Reply-To: <desconocido@mdt.gob.ec>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Buenos días:\r\n\r\n\
         El 3 mar 2025, a las 10:00, Mesa de ayuda <ayuda@mdt.gob.ec> escribió:\r\n\r\n\
         > ¿Cuál es su número de cédula?\r\n\r\n\
         1710034065\r\n\r\n\
         > ¿En qué fecha hizo el trámite?\r\n\r\n\
         El 28 de febrero, en Quito.\r\n\r\n\
         > Saludos cordiales,\r\n> Mesa de ayuda del MDT\r\n"
    );
    let answer = send_mail(&server.smtp, citizen, support, &mail);
    assert!(answer.contains("new-ticket"), "{answer}");
    let number = answer.split_whitespace().last().unwrap().to_owned();

    let token = add_agent(data.path(), "MDT", "supervisor", "Ana Agente");
    let path = format!("/api/v1/agent/tickets/{number}");
    let (status, ticket) = agent_http(&server.http, &token, "GET", &path, None);
    assert_eq!(status, 200, "{ticket}");
    let first = &ticket["messages"][0];
    assert_eq!(
        first["text"],
        "Buenos días:\n\n> ¿Cuál es su número de cédula?\n\n1710034065\n\n\
         > ¿En qué fecha hizo el trámite?\n\nEl 28 de febrero, en Quito.",
        "{ticket}"
    );
    let quoted = first["quoted"].as_str().unwrap();
    assert!(quoted.starts_with("El 3 mar 2025, a las 10:00"), "{quoted}");
    assert!(quoted.ends_with("> Mesa de ayuda del MDT"), "{quoted}");

    let status = lookup(&server.http, citizen, &number);
    assert_eq!(status["messages"][0]["text"], first["text"], "{status}");
    assert!(status["messages"][0].get("quoted").is_none(), "{status}");
}
