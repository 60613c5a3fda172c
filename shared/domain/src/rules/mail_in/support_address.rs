//! The support address's rules: what a queue does with a follow-up to a finished ticket, the
//! category a subject suggests, and what a delivered mail can come to (`Outcome`). The use
//! case that applies them is `ventanilla_app::receive_mail`.

use std::collections::BTreeMap;

use crate::model::agencies::FinishedTicketRule;
use crate::model::mail::MailMessageId;
use crate::model::ticket::AttachmentRef;
use crate::rules::mail_in::kind::MailKind;
use crate::rules::mail_in::read::IncomingMail;
use crate::rules::mail_in::sender_check::Judgement;
use crate::{AgencyCode, Category, Message, QueueName, Ticket, TicketNumber};

/// Where new tickets from mail go and how the support address behaves.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    pub agency: AgencyCode,
    pub queue: QueueName,
    /// Mail SES did not find clean (spam, or a scan that failed or did not run) waits here
    /// for an agent, unacknowledged.
    pub review_queue: QueueName,
    /// The rule for follow-ups to finished tickets, where a queue sets none of its own.
    pub finished: FinishedTicketRule,
    /// Queues with a rule of their own.
    pub finished_by_queue: BTreeMap<(AgencyCode, QueueName), FinishedTicketRule>,
    /// At most this many acknowledgements and notices per address per day, the form's and
    /// the support address's together (the mail queue's sender counts, `ventanilla_app::sending`).
    pub acks_per_sender_per_day: u64,
}

impl MailPolicy {
    /// The rule of the queue the ticket sits in.
    pub fn finished_rule(&self, ticket: &Ticket) -> FinishedTicketRule {
        self.finished_by_queue
            .get(&(ticket.agency.clone(), ticket.queue.clone()))
            .copied()
            .unwrap_or(self.finished)
    }
}

/// A mail as delivered: read, with its raw copy and attachments already stored.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub mail: IncomingMail,
    /// The provider's id of this delivery (SES's messageId), as a Message-ID-like key.
    pub provider_id: Option<MailMessageId>,
    pub raw: crate::BlobKey,
    pub attachments: Vec<AttachmentRef>,
    /// What SES's receipt (or the local listener's setting) says about it.
    pub judgement: Judgement,
}

impl Delivery {
    /// The id the store knows this mail by, deduplicating it and threading replies to it: its
    /// Message-ID, or the provider's id (the same on every delivery of one SES receipt) for a
    /// mail without one. Not both: a redelivery carries the same raw mail, so its Message-ID
    /// finds it, and on DynamoDB each id is an item written in the message's transaction.
    pub fn known_ids(&self) -> Vec<MailMessageId> {
        self.mail
            .message_id
            .iter()
            .chain(self.provider_id.iter())
            .take(1)
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a return value, moved once; boxing it would only add an allocation"
)]
pub enum Outcome {
    /// Seen before: nothing stored again.
    Duplicate { ticket: TicketNumber },
    /// Added to its ticket; `reopened` when it was resolved or closed.
    FollowUp { ticket: Ticket, reopened: bool },
    /// A new ticket and its first message, to be acknowledged (within the sender's daily
    /// answers); the acknowledgement quotes the mail only when its sender is authenticated
    /// (a forged sender must not make us mail their text to someone else's address).
    Opened {
        ticket: Ticket,
        first: Message,
        quote: bool,
    },
    /// Not clean by SES's scans: a new ticket in the review queue, not acknowledged.
    HeldForReview { ticket: Ticket },
    /// A follow-up to a finished ticket whose queue rejects them: the sender gets a notice
    /// (within their daily answers).
    Rejected { ticket: TicketNumber },
    /// Automatic mail: recorded on its ticket (`ticket`) as a system event when it threads
    /// and the ticket's notes for the day are not used up, else only logged. Never opens,
    /// reopens or answers.
    Automatic {
        kind: MailKind,
        ticket: Option<TicketNumber>,
    },
    /// SES said virus: never stored as a message; recorded on its ticket (`ticket`) as
    /// automatic mail is.
    Virus { ticket: Option<TicketNumber> },
    /// No usable sender address: nobody to answer, nothing to open.
    NoSender,
    /// Not a mail at all (no header could be read): kept raw only, for a person to look at.
    Unreadable,
    /// An agent's answer to an alert, from their registered, authenticated address: added
    /// to the ticket as their reply (`note`: as an internal note).
    AnsweredByAgent { ticket: TicketNumber, note: bool },
    /// A mail answering an alert that may not answer the ticket (not an active agent's
    /// authenticated address, or no access any more): not added, not sent on.
    AgentMailRefused { ticket: TicketNumber },
}

impl Outcome {
    /// A short name for logs and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::FollowUp {
                reopened: false, ..
            } => "follow-up",
            Outcome::FollowUp { reopened: true, .. } => "follow-up-reopened",
            Outcome::Opened { .. } => "new-ticket",
            Outcome::HeldForReview { .. } => "held-for-review",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Automatic { .. } => "automatic",
            Outcome::Virus { .. } => "virus",
            Outcome::NoSender => "no-sender",
            Outcome::Unreadable => "unreadable",
            Outcome::AnsweredByAgent { note: false, .. } => "answered-by-agent",
            Outcome::AnsweredByAgent { note: true, .. } => "noted-by-agent",
            Outcome::AgentMailRefused { .. } => "agent-mail-refused",
        }
    }

    /// The ticket the mail ended on, if any.
    pub fn ticket(&self) -> Option<&TicketNumber> {
        match self {
            Outcome::Duplicate { ticket }
            | Outcome::Rejected { ticket }
            | Outcome::AnsweredByAgent { ticket, .. }
            | Outcome::AgentMailRefused { ticket } => Some(ticket),
            Outcome::FollowUp { ticket, .. }
            | Outcome::Opened { ticket, .. }
            | Outcome::HeldForReview { ticket } => Some(&ticket.number),
            Outcome::Automatic { ticket, .. } | Outcome::Virus { ticket } => ticket.as_ref(),
            Outcome::NoSender | Outcome::Unreadable => None,
        }
    }
}

/// The categories a mail's subject suggests, first match wins; requerimiento otherwise.
pub fn categorise(subject: &str) -> Category {
    let folded: String = subject
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            other => other,
        })
        .collect();
    let rules: [(&[&str], Category); 7] = [
        (
            &["capacitacion", "capacitar", "curso", "taller"],
            Category::Capacitacion,
        ),
        (&["asesoria", "asesorar", "consultoria"], Category::Asesoria),
        (
            &[
                "inconveniente tecnico",
                "problema tecnico",
                "soporte",
                "asistencia tecnica",
                "falla",
                "no funciona",
                "no puedo ingresar",
                "error",
            ],
            Category::ProblemaTecnico,
        ),
        (&["denuncia"], Category::Denuncia),
        (&["queja", "reclamo"], Category::Queja),
        (&["sugerencia", "propuesta"], Category::Sugerencia),
        (
            &["felicitacion", "agradecimiento", "felicito"],
            Category::Felicitacion,
        ),
    ];
    rules
        .iter()
        .find(|(words, _)| words.iter().any(|w| folded.contains(w)))
        .map_or(Category::Requerimiento, |(_, category)| *category)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_suggest_categories() {
        assert_eq!(
            categorise("Solicitud de capacitación en el sistema"),
            Category::Capacitacion
        );
        assert_eq!(
            categorise("ASESORÍA para llenar el formulario"),
            Category::Asesoria
        );
        assert_eq!(
            categorise("Inconveniente técnico al ingresar"),
            Category::ProblemaTecnico
        );
        assert_eq!(
            categorise("Soporte: no puedo ingresar"),
            Category::ProblemaTecnico
        );
        assert_eq!(categorise("Queja por mala atención"), Category::Queja);
        assert_eq!(
            categorise("Consulta sobre mi trámite"),
            Category::Requerimiento
        );
    }
}
