//! The local support address: the real `ventanilla-local` binary takes mail over SMTP as a
//! mail client or `swaks` sends it, opens a ticket, writes the acknowledgement to the outbox,
//! and threads the citizen's reply to that acknowledgement into the same ticket.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    http: String,
    smtp: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--smtp-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut http, mut smtp) = (None, None);
    while http.is_none() || smtp.is_none() {
        let line = lines
            .next()
            .expect("the server prints its addresses")
            .unwrap();
        if let Some(url) = line.strip_prefix("Ventanilla listening on ") {
            http = Some(url.trim_start_matches("http://").to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("mail:") {
            let address = rest.trim().trim_start_matches("smtp://");
            smtp = Some(address.split_whitespace().next().unwrap().to_owned());
        }
    }
    // Keep reading what the server prints, so that it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        http: http.unwrap(),
        smtp: smtp.unwrap(),
    }
}

/// One SMTP conversation, as a mail client has it; returns the server's answer to the mail.
fn send_mail(smtp: &str, from: &str, to: &str, mail: &str) -> String {
    let stream = TcpStream::connect(smtp).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut expect = |code: &str| {
        // Multi-line answers (EHLO) end with "code SP".
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                return line;
            }
        }
    };
    expect("220");
    let mut say = |command: &str| writer.write_all(command.as_bytes()).unwrap();
    say("EHLO cliente.example.com\r\n");
    expect("250");
    say(&format!("MAIL FROM:<{from}>\r\n"));
    expect("250");
    say(&format!("RCPT TO:<{to}>\r\n"));
    expect("250");
    say("DATA\r\n");
    expect("354");
    // Dot-stuffing, as every client does it.
    let body: String = mail
        .split("\r\n")
        .map(|line| {
            if line.starts_with('.') {
                format!(".{line}\r\n")
            } else {
                format!("{line}\r\n")
            }
        })
        .collect();
    say(&body);
    say(".\r\n");
    let answer = expect("250");
    say("QUIT\r\n");
    expect("221");
    answer
}

fn lookup(http: &str, email: &str, number: &str) -> serde_json::Value {
    let body = serde_json::json!({"email": email, "number": number}).to_string();
    let mut stream = TcpStream::connect(http).unwrap();
    write!(
        stream,
        "POST /api/v1/tickets/lookup HTTP/1.1\r\nHost: {http}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, json) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(json).unwrap()
}

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
