//! Mail as the domain sees it: Message-IDs for threading, and outgoing messages built here
//! (with `mail-builder`) so that every mailer delivers exactly the same MIME.

use std::fmt;

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId as MimeMessageId;
use mail_builder::headers::raw::Raw;
use serde::{Deserialize, Serialize};

use crate::{Email, FieldError, FieldProblem, TicketNumber, Timestamp};

/// An RFC 5322 Message-ID, kept without its angle brackets: `abc@example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailMessageId(String);

impl MailMessageId {
    pub const MAX: usize = 250;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        let text = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(text)
            .trim();
        let ok = !text.is_empty()
            && text.len() <= Self::MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
        if ok {
            Ok(MailMessageId(text.to_owned()))
        } else {
            Err(FieldError::new("message_id", FieldProblem::InvalidFormat))
        }
    }

    /// Every id in a `References` or `In-Reply-To` value, in order; junk between them is
    /// skipped, as mail clients write all sorts of things there.
    pub fn parse_list(header: &str) -> Vec<Self> {
        header
            .split('<')
            .skip(1)
            .filter_map(|part| part.split_once('>'))
            .filter_map(|(id, _)| MailMessageId::parse(id).ok())
            .collect()
    }

    /// Our own stable anchor for a ticket, put in References of every mail we send about
    /// it, so that replies thread even where the provider replaced our Message-IDs.
    pub fn ticket_anchor(number: &TicketNumber, domain: &str) -> Self {
        MailMessageId(format!(
            "ticket.{}@{}",
            number.as_str().to_ascii_lowercase(),
            domain
        ))
    }

    /// The anchor every alert to agents about the ticket refers to, so that their mail
    /// client threads the alerts of one ticket together.
    pub fn alerts_anchor(number: &TicketNumber, domain: &str) -> Self {
        MailMessageId(format!(
            "alerts.{}@{}",
            number.as_str().to_ascii_lowercase(),
            domain
        ))
    }

    /// An alert's own Message-ID: `alert.<number>.<key>@domain`, so that an agent's answer
    /// names its ticket in In-Reply-To alone.
    pub fn alert(number: &TicketNumber, key: &str, domain: &str) -> Option<Self> {
        MailMessageId::parse(&format!(
            "alert.{}.{key}@{domain}",
            number.as_str().to_ascii_lowercase()
        ))
        .ok()
    }

    /// The ticket an alert of ours (or the alerts' anchor) is about: a mail that names one
    /// answers an alert, whoever sent it.
    pub fn alerted_ticket(&self, our_domain: &str) -> Option<TicketNumber> {
        let (local, domain) = self.0.split_once('@')?;
        if !domain.eq_ignore_ascii_case(our_domain) {
            return None;
        }
        let number = match local.strip_prefix("alerts.") {
            Some(number) => number,
            None => local.strip_prefix("alert.")?.split('.').next()?,
        };
        TicketNumber::parse(number).ok()
    }

    /// The ticket a Message-ID of ours anchors, if it is one: only under our own mail
    /// domain, since anyone can write `ticket.<number>@elsewhere` into a header.
    pub fn anchored_ticket(&self, our_domain: &str) -> Option<TicketNumber> {
        let (local, domain) = self.0.strip_prefix("ticket.")?.split_once('@')?;
        if !domain.eq_ignore_ascii_case(our_domain) {
            return None;
        }
        TicketNumber::parse(local).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MailMessageId {
    type Error = FieldError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        MailMessageId::parse(&text)
    }
}

impl From<MailMessageId> for String {
    fn from(id: MailMessageId) -> String {
        id.0
    }
}

impl fmt::Display for MailMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// A mailbox with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: Email,
}

impl Mailbox {
    pub fn new(name: impl Into<String>, email: Email) -> Self {
        Mailbox {
            name: Some(name.into()),
            email,
        }
    }

    /// An address without a display name.
    pub fn bare(email: Email) -> Self {
        Mailbox { name: None, email }
    }

    fn to_address(&self) -> Address<'_> {
        // Names come from citizens: fold any line break away so it cannot start a header
        // (mail-builder quotes and encodes the rest).
        let name = self
            .name
            .as_deref()
            .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "));
        Address::new_address(name, self.email.as_str())
    }
}

/// RFC 3834's kinds of automatic mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// In answer to a mail or a form: an acknowledgement, a refusal.
    Replied,
    /// On the system's own initiative: an extension's notice, a warning.
    Generated,
}

impl AutoSubmitted {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoSubmitted::Replied => "auto-replied",
            AutoSubmitted::Generated => "auto-generated",
        }
    }
}

/// A mail to build: what we say, to whom, and where it sits in the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailDraft {
    pub from: Mailbox,
    pub to: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub message_id: MailMessageId,
    pub in_reply_to: Option<MailMessageId>,
    pub references: Vec<MailMessageId>,
    /// Sent by the system, not by a person: marked per RFC 3834 so that well-behaved
    /// auto-responders do not answer it and loops cannot start; `None`: a person's.
    pub automatic: Option<AutoSubmitted>,
    pub date: Timestamp,
    pub attachments: Vec<MailAttachment>,
}

/// A file sent with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A mail ready for a mailer: envelope and the exact bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub from: Email,
    pub to: Vec<Email>,
    pub message_id: MailMessageId,
    pub raw: Vec<u8>,
}

impl MailDraft {
    pub fn build(self) -> OutgoingMail {
        let subject: String = self
            .subject
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut builder = MessageBuilder::new()
            .from(self.from.to_address())
            .to(self.to.to_address())
            .subject(subject)
            .message_id(self.message_id.as_str())
            .date(self.date.unix_seconds())
            .text_body(self.text.as_str());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.to_address());
        }
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(parent.as_str());
        }
        if !self.references.is_empty() {
            let ids: Vec<&str> = self.references.iter().map(MailMessageId::as_str).collect();
            builder = builder.references(MimeMessageId::new_list(ids.into_iter()));
        }
        if let Some(html) = &self.html {
            builder = builder.html_body(html.as_str());
        }
        for file in &self.attachments {
            builder = builder.attachment(
                file.content_type.as_str(),
                file.name.as_str(),
                file.bytes.as_slice(),
            );
        }
        if let Some(kind) = self.automatic {
            builder = builder
                .header("Auto-Submitted", Raw::new(kind.as_str()))
                .header("X-Auto-Response-Suppress", Raw::new("All"));
        }
        let mut raw = Vec::new();
        builder.serialize(&mut raw);
        OutgoingMail {
            from: self.from.email,
            to: vec![self.to.email],
            message_id: self.message_id,
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_their_brackets_and_refuse_junk() {
        assert_eq!(MailMessageId::parse(" <a.b@c> ").unwrap().as_str(), "a.b@c");
        assert_eq!(
            MailMessageId::parse("<a.b@c>").unwrap().to_string(),
            "<a.b@c>"
        );
        for bad in ["", "<>", "a b@c", "a<b@c", &"x".repeat(300)] {
            assert!(MailMessageId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reference_lists_are_read_in_order() {
        let ids = MailMessageId::parse_list("<a@x>\r\n <b@y> junk <c@z>");
        let ids: Vec<_> = ids.iter().map(MailMessageId::as_str).collect();
        assert_eq!(ids, ["a@x", "b@y", "c@z"]);
    }

    #[test]
    fn ticket_anchor_names_its_ticket() {
        let n = TicketNumber::parse("MDT-PRE-2024-00089").unwrap();
        let anchor = MailMessageId::ticket_anchor(&n, "turismo.gob.ec");
        assert_eq!(anchor.as_str(), "ticket.mdt-pre-2024-00089@turismo.gob.ec");
        assert_eq!(anchor.anchored_ticket("turismo.gob.ec"), Some(n.clone()));
        assert_eq!(anchor.anchored_ticket("TURISMO.gob.ec"), Some(n.clone()));
        let elsewhere = MailMessageId::ticket_anchor(&n, "any.test");
        assert_eq!(elsewhere.anchored_ticket("turismo.gob.ec"), None);
        assert_eq!(
            MailMessageId::parse("x@y")
                .unwrap()
                .anchored_ticket("turismo.gob.ec"),
            None
        );
    }

    fn draft() -> MailDraft {
        let email = |s| Email::parse(s).unwrap();
        MailDraft {
            from: Mailbox::new("Ministerio de Turismo", email("no-reply@turismo.gob.ec")),
            to: Mailbox::new(
                "María\r\nBcc: victim@example.com",
                email("maria@example.com"),
            ),
            reply_to: Some(Mailbox::new("Soporte", email("soporte@turismo.gob.ec"))),
            subject: "[MDT-PRE-2024-00089] Recibimos su solicitud\r\nBcc: x@y.com".into(),
            text: "Hola María,\nrecibimos su solicitud.".into(),
            html: None,
            message_id: MailMessageId::parse("ack.1@turismo.gob.ec").unwrap(),
            in_reply_to: Some(MailMessageId::parse("<orig@mail.example.com>").unwrap()),
            references: vec![
                MailMessageId::parse("orig@mail.example.com").unwrap(),
                MailMessageId::parse("ticket.mdt-pre-2024-00089@turismo.gob.ec").unwrap(),
            ],
            automatic: Some(AutoSubmitted::Replied),
            date: Timestamp::parse("2025-01-01T12:00:00Z").unwrap(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn built_mail_threads_and_marks_itself_automatic() {
        let mail = draft().build();
        let text = String::from_utf8(mail.raw.clone()).unwrap();
        assert_eq!(mail.to[0].as_str(), "maria@example.com");
        assert!(
            text.contains("Message-ID: <ack.1@turismo.gob.ec>"),
            "{text}"
        );
        assert!(
            text.contains("In-Reply-To: <orig@mail.example.com>"),
            "{text}"
        );
        assert!(
            text.contains("<ticket.mdt-pre-2024-00089@turismo.gob.ec>"),
            "{text}"
        );
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert!(text.contains("X-Auto-Response-Suppress: All"), "{text}");
        assert!(text.contains("Reply-To:"), "{text}");
    }

    #[test]
    fn names_and_subjects_cannot_inject_headers() {
        let mail = draft().build();
        let text = String::from_utf8(mail.raw).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        for line in headers.lines() {
            assert!(!line.to_ascii_lowercase().starts_with("bcc:"), "{headers}");
        }
    }
}
