//! Hostile input by mail: script and HTML in a mail's name, subject and body, and line breaks
//! smuggled into encoded words to add headers. What the mail says is stored as text, shown
//! inert on the citizen's status page, and never becomes a header of the mails we send.

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use ventanilla_domain::agents::Role;

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
        assert!(!names.iter().any(|n| n == injected), "{injected}: {names:?}");
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
    assert!(!subject.contains('\n') && !subject.contains('\r'), "{subject:?}");
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
