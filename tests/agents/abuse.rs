//! Hostile input by mail: script and HTML in a mail's name, subject and body, line breaks
//! smuggled into encoded words to add headers, and more and larger files than the limits.
//! What the mail says is stored as text, shown inert on the citizen's status page, and never
//! becomes a header of the mails we send; files past the limits stay in the raw mail only.

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use ventanilla_domain::model::agents::Role;

use super::Office;

/// Every header name of a raw mail, lower case.
fn header_names(raw: &[u8]) -> Vec<String> {
    let message = MessageParser::default().parse(raw).unwrap();
    message
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect()
}

/// The mails in the office's outbox, oldest first.
fn outbox(office: &Office) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Our mails are plain text only: whatever a citizen or an agent wrote cannot run in a mail
/// client, and no header came from what they typed.
fn assert_plain_and_uninjected(raw: &[u8], recipient: &str) {
    let names = header_names(raw);
    for injected in ["bcc", "cc", "x-injected"] {
        assert!(
            !names.iter().any(|n| n == injected),
            "{injected}: {names:?}"
        );
    }
    let message = MessageParser::default().parse(raw).unwrap();
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, [recipient]);
    for part in message.parts.iter() {
        let kind = part.content_type().map(|c| c.ctype().to_owned());
        assert_ne!(kind.as_deref(), Some("text/html"), "an HTML part");
    }
    let subject = message.subject().unwrap_or_default();
    assert!(
        !subject.contains('\n') && !subject.contains('\r'),
        "{subject:?}"
    );
}

#[tokio::test]
async fn a_hostile_mail_is_kept_as_text_shown_inert_and_injects_no_header() {
    let office = Office::new();
    let citizen = format!("{}@example.com", ventanilla_tests::unique("ana."));
    // Encoded words may carry CR LF once decoded: the display name and the subject try to
    // add a Bcc header to every mail that quotes them.
    let raw = format!(
        "From: =?UTF-8?Q?Ana=0D=0ABcc:_victima@example.net?= <{citizen}>\r\n\
         To: soporte@ventanilla.example.gob.ec\r\n\
         Subject: =?UTF-8?Q?Hola=0D=0ABcc:_victima@example.net=0D=0AX-Injected:_1?= <script>alert(1)</script>\r\n\
         Message-ID: <{}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         <script>alert(2)</script><img src=x onerror=alert(3)> Necesito ayuda.\r\n",
        ventanilla_tests::unique("hostil")
    );
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(outcome.as_str(), "new-ticket", "{outcome:?}");
    let number = outcome.ticket().unwrap().clone();

    // The acknowledgement.
    let sent = outbox(&office);
    assert_eq!(sent.len(), 1);
    assert_plain_and_uninjected(&sent[0], &citizen);
    // The status page its link opens: the text is there, escaped.
    let ack = String::from_utf8_lossy(&sent[0]).into_owned();
    let body = ventanilla_tests::body_text(&ack);
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/estado/"))
        .unwrap_or_else(|| panic!("no access link in {body}"));
    let path = &link[link.find("/estado/").unwrap()..];
    let page = office.raw_get(path).await;
    assert_eq!(page.0, 200, "{}", page.1);
    let html = page.1;
    for live in ["<script>alert", "<img src=x", "onerror=alert(3)>"] {
        assert!(!html.contains(live), "{live} is live on the status page");
    }
    assert!(html.contains("alert(2)"), "the text is shown: {html}");

    // The agent's reply, with markup of its own, goes out as plain text to the citizen.
    let agent = office.agent("MDT", Role::Agent).await;
    let reply = office
        .call(
            Some(&agent),
            "POST",
            &format!("/api/v1/agent/tickets/{number}/replies"),
            Some(json!({ "text": "<b>Hola</b>\r\nBcc: victima@example.net" })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let sent = outbox(&office);
    assert_eq!(sent.len(), 2);
    assert_plain_and_uninjected(&sent[1], &citizen);
}

/// A mail with more files than the limits allow (20, 10 MB each, in the default
/// configuration) stores those within them; the rest stay in the raw mail, which is kept
/// whole, and the message says which.
#[tokio::test]
async fn attachments_beyond_the_limits_stay_in_the_raw_mail_only() {
    use base64::Engine;
    let office = Office::new();
    let citizen = format!("{}@example.com", ventanilla_tests::unique("ana."));
    let part = |name: &str, bytes: &[u8]| {
        let mut encoded = String::new();
        for line in base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes()
            .chunks(76)
        {
            encoded.push_str(std::str::from_utf8(line).unwrap());
            encoded.push_str("\r\n");
        }
        format!(
            "--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        )
    };
    let mut raw = format!(
        "From: {citizen}\r\nTo: soporte@ventanilla.example.gob.ec\r\nSubject: Muchos archivos\r\n\
         Message-ID: <{}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto los documentos.\r\n",
        ventanilla_tests::unique("archivos")
    );
    raw.push_str(&part("grande.bin", &vec![7; 10 * 1024 * 1024 + 1]));
    for n in 1..=21 {
        raw.push_str(&part(
            &format!("hoja-{n:02}.txt"),
            format!("hoja {n}").as_bytes(),
        ));
    }
    raw.push_str("--b--\r\n");
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    let number = outcome.ticket().unwrap().clone();
    let (_, thread) = ventanilla_domain::ports::TicketStore::thread(&office.store, &number)
        .await
        .unwrap();
    let names: Vec<&str> = thread[0]
        .attachments
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    assert_eq!(names[0], "hoja-01.txt");
    assert_eq!(names[19], "hoja-20.txt");
    let text = thread[0].body.as_str();
    assert!(
        text.contains("grande.bin") && text.contains("hoja-21.txt"),
        "{text}"
    );
    let raw_key = thread[0].mail.as_ref().unwrap().raw.as_ref().unwrap();
    let kept = std::fs::metadata(office.dir.path().join("blobs").join(raw_key.as_str())).unwrap();
    assert!(kept.len() > 10 * 1024 * 1024, "the raw mail is kept whole");
}
