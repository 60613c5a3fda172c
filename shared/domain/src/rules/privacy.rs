//! A citizen's personal data, erased (Ecuador's Ley Orgánica de Protección de Datos
//! Personales): on an admin's request, and by the retention rule once a ticket has been
//! finished long enough.
//!
//! What an erased ticket keeps is what the agency's statistics need and what nobody can be
//! identified by: its number, agency, queue, category, status, priority, dates and the shape
//! of its thread (who wrote when). Everything a person typed or sent goes: the requester's
//! name, address, ID document, phone, nationality, gender and user type, the subject, every
//! message body (the agents' too: replies quote and name the citizen), every attachment and
//! the raw mails, which are deleted from the blob store.
//!
//! Blobs are deleted first and the ticket rewritten after, so a failure half-way leaves the
//! blob keys on the ticket and a second run finishes the work (deleting a blob that is
//! already gone is no error).

use crate::model::erasure::Erasure;
use crate::{
    Body, Email, Message, PersonName, Requester, Subject, Ticket, TicketNumber, Timestamp,
};

/// What an erased field reads.
pub const ERASED_TEXT: &str = "[Datos eliminados por protección de datos personales]";
const ERASED_NAME: &str = "Datos eliminados";
const ERASED_SUBJECT: &str = "Datos eliminados";

/// The address an erased ticket's requester is given: unique per ticket (it keys the
/// requester index), under a reserved domain that can never receive mail (RFC 2606).
fn erased_email(number: &TicketNumber) -> Email {
    Email::parse(&format!(
        "eliminado.{}@ventanilla.invalid",
        number.as_str().to_ascii_lowercase()
    ))
    .unwrap_or_else(|e| unreachable!("a ticket number makes a valid local part: {e}"))
}

fn fixed<T, E: std::fmt::Display>(parsed: Result<T, E>) -> T {
    parsed.unwrap_or_else(|e| unreachable!("a fixed text parses: {e}"))
}

/// The erased forms of a ticket and its thread.
pub fn erasure(ticket: &Ticket, thread: &[Message], at: Timestamp) -> Erasure {
    let mut erased = ticket.clone();
    erased.requester = Requester {
        name: fixed(PersonName::parse(ERASED_NAME)),
        // The placeholder keeps the store's shape; a ticket that had no address gets none.
        email: ticket
            .requester
            .email
            .as_ref()
            .map(|_| erased_email(&ticket.number)),
        id_document: None,
        phone: None,
        nationality: None,
        gender: None,
        user_type: None,
    };
    erased.subject = fixed(Subject::parse(ERASED_SUBJECT));
    // An extension's reason was written about the request: it may repeat it.
    if let Some(extension) = &mut erased.extended {
        extension.reason = ERASED_TEXT.to_owned();
    }
    // So may the reason a request for information was denied: the outcome stays (the
    // LOTAIP report counts it), the words go.
    if let Some(answer) = &mut erased.information_answer
        && answer.reason.is_some()
    {
        answer.reason = Some(ERASED_TEXT.to_owned());
    }
    // A rating's comment is the citizen's own words; its score stays for the figures.
    if let Some(rating) = &mut erased.rating
        && rating.comment.is_some()
    {
        rating.comment = Some(ERASED_TEXT.to_owned());
    }
    erased.erased_at = Some(ticket.erased_at.unwrap_or(at));
    erased.version = ticket.version + 1;
    let body = fixed(Body::parse(ERASED_TEXT));
    let mut blobs = Vec::new();
    let messages = thread
        .iter()
        .map(|message| {
            let mut message = message.clone();
            blobs.extend(message.attachments.drain(..).map(|a| a.blob));
            if let Some(mail) = &mut message.mail {
                blobs.extend(mail.raw.take());
                mail.quoted = None;
            }
            message.body = body.clone();
            message
        })
        .collect();
    Erasure {
        expected_version: ticket.version,
        ticket: erased,
        messages,
        blobs,
        search_keys: crate::rules::search::erasure_keys(ticket, thread)
            .into_iter()
            .collect(),
    }
}

/// The retention rule: finished tickets whose last activity is older than this are erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub erase_finished_after: chrono::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlobKey;
    use crate::model::ticket::{MailMeta, MessageId};
    use crate::{AttachmentRef, Author, MessageKind};

    fn ticket() -> Ticket {
        Ticket::example()
    }

    #[test]
    fn an_erasure_keeps_the_shape_and_drops_what_a_person_wrote() {
        let mut ticket = ticket();
        ticket.information_answer = Some(
            crate::model::information_answer::InformationAnswer::parse(
                crate::model::information_answer::InformationOutcome::Denied,
                Some("Expediente de Rosa Quishpe, reservado"),
            )
            .unwrap(),
        );
        ticket.rating = Some(
            crate::model::rating::Rating::parse(
                "2",
                Some("Soy Rosa Quishpe, cédula 1710034065"),
                ticket.created_at,
            )
            .unwrap(),
        );
        let blob = |k: &str| BlobKey::parse(k).unwrap();
        let message = Message {
            id: MessageId(uuid::Uuid::nil()),
            at: ticket.created_at,
            kind: MessageKind::CitizenMessage,
            author: Author::Requester,
            body: Body::parse("Mi cédula es 1710034065 y vivo en Quito.").unwrap(),
            attachments: vec![AttachmentRef {
                name: "captura.png".into(),
                content_type: "image/png".into(),
                size: 10,
                blob: blob("attachments/x/captura.png"),
            }],
            mail: Some(MailMeta {
                message_ids: Vec::new(),
                raw: Some(blob("inbound/abc")),
                quoted: Some("> Rosa, su cédula 1710034065".into()),
                ..MailMeta::default()
            }),
        };
        let later = Timestamp::parse("2027-01-01T00:00:00Z").unwrap();
        let erasure = erasure(&ticket, std::slice::from_ref(&message), later);
        assert_eq!(erasure.expected_version, 4);
        assert_eq!(erasure.ticket.version, 5);
        assert_eq!(erasure.ticket.erased_at, Some(later));
        assert_eq!(erasure.ticket.number, ticket.number);
        assert_eq!(erasure.ticket.category, ticket.category);
        assert_eq!(erasure.ticket.last_activity, ticket.last_activity);
        assert_eq!(
            erasure.ticket.requester.email.as_ref().unwrap().as_str(),
            "eliminado.mdt-que-2025-00007@ventanilla.invalid"
        );
        assert_eq!(erasure.ticket.subject.as_str(), ERASED_SUBJECT);
        assert_eq!(
            erasure.ticket.information_answer.as_ref().unwrap().outcome,
            crate::model::information_answer::InformationOutcome::Denied,
            "the report still counts it"
        );
        assert_eq!(erasure.ticket.rating.as_ref().unwrap().score, 2);
        let text = format!("{:?}", erasure.ticket) + &format!("{:?}", erasure.messages);
        for personal in [
            "Rosa",
            "rosa@",
            "Pérez",
            "1710034065",
            "captura",
            "inbound/",
        ] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert_eq!(erasure.messages[0].id, message.id);
        assert_eq!(erasure.messages[0].at, message.at);
        assert_eq!(erasure.messages[0].body.as_str(), ERASED_TEXT);
        assert_eq!(
            erasure.blobs,
            vec![blob("attachments/x/captura.png"), blob("inbound/abc")]
        );
        // Erased again: the first erasure's time stays.
        let again = super::erasure(
            &erasure.ticket,
            &erasure.messages,
            later.plus(chrono::Duration::days(1)),
        );
        assert_eq!(again.ticket.erased_at, Some(later));
        assert!(again.blobs.is_empty());
    }
}
