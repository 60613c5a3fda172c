//! A mail that arrived at the support address, read once into what the domain needs: who
//! sent it, the ids that thread it, its text (new text split from the quoted history), its
//! attachments, and what kind of mail it is (`kind`). Parsing is `mail-parser`'s (every
//! charset and transfer encoding, nested multiparts, `message/rfc822`).

use mail_parser::{MessageParser, MimeHeaders};

use super::kind::{MailKind, classify, header_text};
use super::reply_split::{ReplySplit, split_reply};
use crate::Email;
use crate::model::mail::MailMessageId;

/// A verdict SES wrote into the stored mail (`X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`):
/// only a `FAIL` is taken from there, since only SES's receipt event is SES's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdicts {
    pub spam_failed: bool,
    pub virus_failed: bool,
}

/// A file that came with the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Shown inside the text (an inline image with a Content-ID).
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMail {
    pub message_id: Option<MailMessageId>,
    /// In-Reply-To first, then References from the newest to the oldest; at most
    /// [`MAX_PARENTS`].
    pub parents: Vec<MailMessageId>,
    pub from: Option<Email>,
    pub from_name: Option<String>,
    pub subject: String,
    /// The whole text body (HTML turned into text when there is no text part).
    pub text: String,
    pub reply: ReplySplit,
    pub attachments: Vec<IncomingAttachment>,
    pub kind: MailKind,
    pub verdicts: Verdicts,
    /// Exactly one From header naming one address: with two, which one a receiver's checks
    /// looked at is anyone's guess, so such a sender is never taken as authenticated.
    pub single_from: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the mail could not be parsed at all")]
pub struct UnreadableMail;

/// At most this many parents of a mail are considered: In-Reply-To, then the newest
/// References. Every mail of ours carries the ticket's anchor, so a reply names its ticket
/// among the newest; and a header of 150,000 ids then costs what one of forty does.
pub const MAX_PARENTS: usize = 40;

/// In-Reply-To first, then References from the newest to the oldest, each once (a set, not a
/// scan of the list: linear in the header), at most [`MAX_PARENTS`].
fn parents(message: &mail_parser::Message<'_>) -> Vec<MailMessageId> {
    let in_reply_to = message.in_reply_to().as_text_list().unwrap_or_default();
    let references = message.references().as_text_list().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    in_reply_to
        .iter()
        .chain(references.iter().rev())
        .filter_map(|id| MailMessageId::parse(id).ok())
        .filter(|id| seen.insert(id.clone()))
        .take(MAX_PARENTS)
        .collect()
}

fn verdict_failed<'x>(message: &'x mail_parser::Message<'x>, name: &'x str) -> bool {
    header_text(message, name).is_some_and(|v| v.trim().eq_ignore_ascii_case("FAIL"))
}

/// Parses a raw mail; the text is `Some` when only the headers could be parsed, and is then
/// the body as it came.
///
/// mail-parser 0.11.9 is documented never to panic, but some malformed MIME trips its own
/// `debug_assert!`s and overflow checks: a `message/rfc822` part whose body is another
/// `message/rfc822` inside a multipart ("Invalid part ID, could not find multipart",
/// `parsers/message.rs:485`); a quoted-printable part that is only a soft line break
/// ("attempt to subtract with overflow", `decoders/quoted_printable.rs:138`). Release builds
/// compile those checks out and the parser recovers (the Lambda functions abort on panic
/// anyway); debug builds (the tests, a local server run with `cargo run`) would unwind out of
/// `read` and lose the mail. There the panic is caught and the mail is read for its headers
/// only, its body kept as raw text (the raw mail is stored whole in any case). The first was
/// found by `fuzz/` (cargo fuzz, target `inbound_mail`; `tests/mails/fuzz-regressions/`
/// keeps the input).
fn parse(raw: &[u8]) -> Option<(mail_parser::Message<'_>, Option<String>)> {
    match std::panic::catch_unwind(|| MessageParser::default().parse(raw)) {
        Ok(message) => message.map(|m| (m, None)),
        Err(_) => {
            let message = MessageParser::default().parse_headers(raw)?;
            let body = [&b"\r\n\r\n"[..], b"\n\n"]
                .iter()
                .filter_map(|blank| {
                    raw.windows(blank.len())
                        .position(|w| w == *blank)
                        .map(|at| at + blank.len())
                })
                .min()
                .map_or(&b""[..], |start| &raw[start..]);
            Some((
                message,
                Some(String::from_utf8_lossy(body).trim().to_owned()),
            ))
        }
    }
}

/// Reads a raw mail. Only a mail with no header at all is refused; a mail with broken
/// parts yields what could be read.
pub fn read(raw: &[u8]) -> Result<IncomingMail, UnreadableMail> {
    // Some stores and tools put blank lines before the first header; old Mac mail ends lines
    // with CR alone. Neither is worth losing a citizen's mail over.
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let raw = &raw[start..];
    let normalised;
    let raw = if raw.contains(&b'\r') && !raw.contains(&b'\n') {
        normalised = raw
            .iter()
            .flat_map(|&b| {
                if b == b'\r' {
                    vec![b'\r', b'\n']
                } else {
                    vec![b]
                }
            })
            .collect::<Vec<u8>>();
        normalised.as_slice()
    } else {
        raw
    };
    let (message, raw_body) = parse(raw).ok_or(UnreadableMail)?;
    if message.headers().is_empty() {
        return Err(UnreadableMail);
    }
    let from_headers = message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("From"))
        .count();
    let single_from = from_headers == 1 && message.from().is_some_and(|a| a.iter().count() == 1);
    let from_address = message.from().and_then(|a| a.first());
    let from = from_address
        .and_then(|a| a.address())
        .and_then(|a| Email::parse(a).ok());
    let from_name = from_address
        .and_then(|a| a.name())
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| !n.is_empty());
    let subject = message.subject().unwrap_or("").to_owned();
    let parents = parents(&message);
    let text = match raw_body {
        Some(body) => body,
        None => message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    };
    let attachments = message
        .attachments()
        .map(|part| {
            let content_type = part.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                },
            );
            IncomingAttachment {
                name: part
                    .attachment_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| "adjunto".to_owned()),
                content_type,
                bytes: part.contents().to_vec(),
                inline: part.content_id().is_some()
                    && !part
                        .content_disposition()
                        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment")),
            }
        })
        .collect();
    let kind = classify(&message, from.as_ref(), &subject);
    Ok(IncomingMail {
        message_id: message
            .message_id()
            .and_then(|id| MailMessageId::parse(id).ok()),
        parents,
        from,
        from_name,
        reply: split_reply(&text),
        text,
        subject,
        attachments,
        kind,
        verdicts: Verdicts {
            spam_failed: verdict_failed(&message, "X-SES-Spam-Verdict"),
            virus_failed: verdict_failed(&message, "X-SES-Virus-Verdict"),
        },
        single_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> IncomingMail {
        read(format!("{headers}\r\n\r\n{body}").as_bytes()).unwrap()
    }

    const BASE: &str = "From: Ana <ana@example.com>\r\nTo: soporte@ventanilla.example.gob.ec\r\nMessage-ID: <a1@example.com>";

    #[test]
    fn a_persons_reply_threads_by_its_parents() {
        let m = mail(
            &format!(
                "{BASE}\r\nSubject: Re: [MDT-QUE-2025-00001] Recibimos su solicitud\r\nIn-Reply-To: <ack@x>\r\nReferences: <anchor@x> <ack@x>"
            ),
            "Gracias.\r\n\r\nEl lun, 3 mar 2025, Ventanilla <no-responder@x> escribió:\r\n> Recibimos\r\n",
        );
        assert_eq!(m.kind, MailKind::Person);
        assert_eq!(m.from.unwrap().as_str(), "ana@example.com");
        assert_eq!(m.from_name.as_deref(), Some("Ana"));
        let parents: Vec<&str> = m.parents.iter().map(MailMessageId::as_str).collect();
        assert_eq!(parents, ["ack@x", "anchor@x"]);
        assert_eq!(m.reply.new_text, "Gracias.");
        assert_eq!(m.message_id.unwrap().as_str(), "a1@example.com");
    }

    #[test]
    fn tnef_and_forwarded_mail_are_kept_as_attachments() {
        let m = mail(
            &format!(
                "{BASE}\r\nSubject: Reenvío\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"b1\""
            ),
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLes reenvío el correo.\r\n\
             --b1\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
             Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\neJ8+IhAAAQaQCAAEAAAAAAABAAEAAQeQBgAIAAAA5AQAAAAAAADoAAEIgAcAGAAAAElQTS5NaWNyb3NvZnQgTWFpbC5Ob3RlADEIAQ2ABAACAAAAAgACAAEEgAEA\r\n\
             --b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"\r\n\r\n\
             From: jefe@example.com\r\nSubject: Original\r\n\r\nEl texto original.\r\n\
             --b1--\r\n",
        );
        assert_eq!(m.text.trim(), "Les reenvío el correo.");
        let names: Vec<(&str, &str)> = m
            .attachments
            .iter()
            .map(|a| (a.name.as_str(), a.content_type.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("winmail.dat", "application/ms-tnef"),
                ("original.eml", "message/rfc822")
            ]
        );
        assert!(
            m.attachments[0]
                .bytes
                .starts_with(&[0x78, 0x9f, 0x3e, 0x22])
        );
        assert!(
            String::from_utf8_lossy(&m.attachments[1].bytes).contains("El texto original."),
            "the forwarded mail is kept whole"
        );
    }

    #[test]
    fn automatic_mail_is_recognised() {
        let cases = [
            (
                "Auto-Submitted: auto-replied\r\nSubject: Away",
                MailKind::AutoReply,
            ),
            (
                "Subject: Respuesta automática: su solicitud",
                MailKind::AutoReply,
            ),
            (
                "Auto-Submitted: auto-generated\r\nSubject: x",
                MailKind::AutoGenerated,
            ),
            ("Precedence: bulk\r\nSubject: x", MailKind::AutoGenerated),
            ("List-Id: <l.example.com>\r\nSubject: x", MailKind::List),
            (
                "X-Auto-Response-Suppress: All\r\nSubject: x",
                MailKind::Person,
            ),
            ("Auto-Submitted: no\r\nSubject: x", MailKind::Person),
            ("X-Loop: soporte@x\r\nSubject: x", MailKind::AutoGenerated),
        ];
        for (headers, kind) in cases {
            assert_eq!(
                mail(&format!("{BASE}\r\n{headers}"), "hola").kind,
                kind,
                "{headers}"
            );
        }
        let daemon = mail(
            "From: MAILER-DAEMON@mx.example.com\r\nSubject: Undelivered Mail",
            "x",
        );
        assert_eq!(daemon.kind, MailKind::Bounce);
        let dsn = mail(
            &format!(
                "{BASE}\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b"
            ),
            "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\n",
        );
        assert_eq!(
            dsn.kind,
            MailKind::Bounce,
            "a bounce that looks like an auto-reply"
        );
    }

    #[test]
    fn parents_are_the_newest_forty_each_once() {
        let references: String = (0..20_000).map(|n| format!(" <r{n}@x.test>")).collect();
        let m = mail(
            &format!(
                "From: a@b.test\r\nIn-Reply-To: <r19999@x.test>\r\nReferences:{references} <r19998@x.test>"
            ),
            "hola",
        );
        assert_eq!(m.parents.len(), MAX_PARENTS);
        let names: Vec<&str> = m
            .parents
            .iter()
            .take(3)
            .map(MailMessageId::as_str)
            .collect();
        assert_eq!(names, ["r19999@x.test", "r19998@x.test", "r19997@x.test"]);
    }

    #[test]
    fn two_from_headers_are_no_single_sender() {
        let m = mail("From: rosa@gmail.com\r\nFrom: otro@evil.example", "hola");
        assert!(!m.single_from);
        assert!(mail("From: rosa@gmail.com", "hola").single_from);
    }

    #[test]
    fn ses_verdicts_are_read_from_the_stored_mail() {
        let m = mail(
            &format!("{BASE}\r\nX-SES-Spam-Verdict: FAIL\r\nX-SES-Virus-Verdict: PASS"),
            "x",
        );
        assert_eq!(
            m.verdicts,
            Verdicts {
                spam_failed: true,
                virus_failed: false
            }
        );
    }

    #[test]
    fn leading_blank_lines_and_cr_line_endings_are_tolerated() {
        let blank_first = read(b"   \n\nFrom: ana@example.com\nSubject: hola\n\ntexto").unwrap();
        assert_eq!(blank_first.subject, "hola");
        let mac = read(b"From: ana@example.com\rSubject: hola\r\rtexto\r").unwrap();
        assert_eq!(mac.subject, "hola");
        assert_eq!(mac.text.trim(), "texto");
    }

    #[test]
    fn garbage_is_refused_without_a_panic() {
        assert_eq!(read(b""), Err(UnreadableMail));
    }

    /// MIME on which mail-parser 0.11.9 panics in debug builds (see `parse`): the headers
    /// are read, the body kept as it came. Release builds parse it as usual.
    #[test]
    fn mime_that_trips_the_parsers_own_checks_is_still_read() {
        let nested = "From: ana@example.com\nSubject: reenvío\nContent-Type: multipart/mixed; boundary=\"-\"\n\n\
                      ----\nContent-Type: message/rfc822\n\nR5\nContent-Type: message/rfc822\n\n\n7\n-----\n";
        let soft_break_only = "From: ana@example.com\r\nSubject: qp\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                               --b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n--b--\r\n";
        for raw in [nested, soft_break_only] {
            let m = read(raw.as_bytes()).unwrap();
            assert_eq!(m.from.unwrap().as_str(), "ana@example.com");
            assert_eq!(m.kind, MailKind::Person);
            // The raw body: the parser did panic. Failing here means a mail-parser upgrade
            // fixed it, and `parse` can go back to a plain call.
            if cfg!(debug_assertions) {
                assert!(m.text.contains("Content-Type: "), "{:?}", m.text);
            }
        }
    }
}
