//! An agent answering from their mailbox: a mail that answers one of our alerts (its
//! In-Reply-To or References name an alert's id, `MailMessageId::alerted_ticket`) is never a
//! citizen's mail. It is added to the ticket, exactly as if typed in the console (the reply
//! use case: status rules, audit, the citizen's mail threaded), only when all of these hold:
//! SES authenticated its sender (DMARC/SPF/DKIM, one From); that address is the registered
//! address of an active agent of the agency holding the ticket (or keeping a referral); and
//! that agent may still do what the mail asks. Anything else is refused: not added, never
//! sent on to the citizen; an authenticated sender gets a notice (a few a day at most), an
//! unauthenticated one nothing (the address may be forged, and a notice to it would be
//! backscatter).
//!
//! A first line `#nota` makes it an internal note; `#resolver` and `#cerrar` answer and move
//! the ticket to resolved or closed. The alert says so.

use std::sync::Arc;
use std::time::Duration;

use ventanilla_domain::model::agents::{Access, Agent};
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{Notice, Recipient};
use ventanilla_domain::ports::{
    BlobStore, IdentifierSecret, Mailer, StoreError, ThreadQuery, ThrottleKey,
};
use ventanilla_domain::rules::mail_in::support_address::{Delivery, Outcome};
use ventanilla_domain::rules::notices::ALERT_MARK;
use ventanilla_domain::{Author, Body, Email, Lang, MessageId, Status, Ticket, TicketNumber};

use crate::reply::{AgentMail, NewReply};
use crate::session::{AgentPorts, Session};
use crate::{AppError, Desk, Site};

/// What the first line of an agent's answer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// No keyword: a public reply.
    Reply,
    Note,
    /// A reply that moves the ticket to this status.
    ReplyAnd(Status),
}

/// The keyword on the first written line of `text`, if any, and the text after it.
pub fn keyword(text: &str) -> (Keyword, &str) {
    let trimmed = text.trim_start();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let word = first.trim().to_lowercase();
    let keyword = match word.as_str() {
        "#nota" | "#note" => Keyword::Note,
        "#resolver" | "#resuelto" | "#resolve" => Keyword::ReplyAnd(Status::Resolved),
        "#cerrar" | "#close" => Keyword::ReplyAnd(Status::Closed),
        _ => return (Keyword::Reply, text),
    };
    (keyword, rest)
}

/// At most this many refusal notices per sender a day: a loop with a robot, or someone
/// writing to a thousand alerts, gets a few.
const REFUSALS_PER_SENDER_PER_DAY: u64 = 3;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Why an answer by mail was refused (logged; the notice says it in general words).
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Automatic,
    /// SES's scans flagged it (a virus, or spam held for review).
    Flagged,
    Unauthenticated,
    NoTicket,
    NotAnAgent,
    /// The agent may not do what the mail asks (access, status machine, empty text).
    NotAllowed,
    /// An answer to an alert the ticket has moved past: it would cross what came after.
    Crossed,
}

impl<S, B, M> Desk<S, B, M, IdentifierSecret>
where
    S: AgentPorts + Clone,
    B: BlobStore + Clone + 'static,
    M: Mailer + Clone + 'static,
{
    /// Adds an agent's answer to the alert about `number` to the ticket, or refuses it.
    pub(crate) async fn answer_by_mail(
        &self,
        site: &Site,
        number: TicketNumber,
        delivery: Delivery,
    ) -> Result<Outcome, StoreError> {
        let mail = &delivery.mail;
        let known = delivery.known_ids();
        // Once per mail: its ids are stored with what it added, so that a delivery tried
        // again (after a failure past the write, or twice at once: the write of the second
        // finds the ids taken) adds nothing.
        let seen = self.store.find_by_mail_ids(&known).await?;
        if seen.iter().any(Option::is_some) {
            return Ok(Outcome::Duplicate { ticket: number });
        }
        let answered = self.answer(site, &number, &delivery, known.clone()).await;
        let refusal = match answered {
            Ok(outcome) => return Ok(outcome),
            Err(Err(StoreError::AlreadyExists)) => {
                return Ok(Outcome::Duplicate { ticket: number });
            }
            Err(Err(error)) => return Err(error),
            Err(Ok(refusal)) => refusal,
        };
        tracing::warn!(ticket = %number, ?refusal, "an answer to an alert was refused");
        let sender = mail.from.clone().filter(|_| {
            delivery.judgement.sender_authenticated
                && !matches!(
                    refusal,
                    Refusal::Automatic | Refusal::Flagged | Refusal::Unauthenticated
                )
        });
        if let Some(sender) = sender {
            let refused_id = known.first().cloned();
            let crossed = matches!(refusal, Refusal::Crossed);
            self.notify_refusal(site, &number, &sender, refused_id, crossed)
                .await?;
        }
        Ok(Outcome::AgentMailRefused { ticket: number })
    }

    /// The answer added, or why not (`Err(Ok)`), or the store's failure (`Err(Err)`).
    async fn answer(
        &self,
        site: &Site,
        number: &TicketNumber,
        delivery: &Delivery,
        message_ids: Vec<MailMessageId>,
    ) -> Result<Outcome, Result<Refusal, StoreError>> {
        let mail = &delivery.mail;
        if mail.kind.is_automatic() {
            return Err(Ok(Refusal::Automatic));
        }
        if delivery.judgement.virus || delivery.judgement.review {
            return Err(Ok(Refusal::Flagged));
        }
        let sender = match (&mail.from, delivery.judgement.sender_authenticated) {
            (Some(sender), true) => sender,
            _ => return Err(Ok(Refusal::Unauthenticated)),
        };
        let ticket = match self.store.ticket(number).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Err(Ok(Refusal::NoTicket)),
            Err(error) => return Err(Err(error)),
        };
        let Some(agent) = self.agent_with(sender, &ticket).await.map_err(Err)? else {
            return Err(Ok(Refusal::NotAnAgent));
        };
        let session = Session {
            desk: Arc::new(Desk {
                site: site.clone(),
                store: self.store.clone(),
                blobs: self.blobs.clone(),
                mailer: self.mailer.clone(),
                identifiers: (),
            }),
            site: site.clone(),
            agent,
        };
        let (keyword, text) = keyword(&mail.reply.new_text);
        // What the alert said (its internal details, a transfer's note) never goes on to the
        // citizen: a client whose quote the split did not recognise sends it whole.
        if text.contains(ALERT_MARK) || text.contains("/agente#") {
            return Err(Ok(Refusal::NotAllowed));
        }
        let Ok(text) = Body::parse(text.trim()) else {
            return Err(Ok(Refusal::NotAllowed));
        };
        // The version an answer by mail saw is its alert's: a ticket that moved since
        // (another answer, the citizen's new mail) is not answered over it. A note crosses
        // nobody.
        if keyword != Keyword::Note
            && self
                .moved_since_alert(site, number, &session.agent, &mail.parents)
                .await
                .map_err(Err)?
        {
            return Err(Ok(Refusal::Crossed));
        }
        let from_mail = AgentMail {
            files: delivery.attachments.clone(),
            message_ids,
            raw: delivery.raw.clone(),
        };
        let outcome = match keyword {
            Keyword::Note => session
                .note(ticket, text, None, Some(from_mail))
                .await
                .map(|_| Outcome::AnsweredByAgent {
                    ticket: number.clone(),
                    note: true,
                }),
            Keyword::Reply | Keyword::ReplyAnd(_) => {
                let reply = NewReply {
                    text,
                    status: match keyword {
                        Keyword::ReplyAnd(status) => Some(status),
                        _ => None,
                    },
                    files: Vec::new(),
                    seen_version: None,
                    from_mail: Some(from_mail),
                };
                session
                    .reply(ticket, reply)
                    .await
                    .map(|_| Outcome::AnsweredByAgent {
                        ticket: number.clone(),
                        note: false,
                    })
            }
        };
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(AppError::Store(error)) => Err(Err(error)),
            Err(error) if error.is_transient() => {
                Err(Err(StoreError::unavailable(error.to_string())))
            }
            Err(_) => Err(Ok(Refusal::NotAllowed)),
        }
    }

    /// Whether the ticket has a public message (an answer, the citizen's mail) of someone
    /// else's newer than the alert `parents` answer. An alert whose record is not found (a
    /// made-up id) tells nothing: the other checks still hold.
    async fn moved_since_alert(
        &self,
        site: &Site,
        number: &TicketNumber,
        agent: &Agent,
        parents: &[MailMessageId],
    ) -> Result<bool, StoreError> {
        let domain = &site.settings.mail_domain;
        let Some(alert) = parents
            .iter()
            .find(|p| p.alerted_ticket(domain).as_ref() == Some(number))
        else {
            return Ok(false);
        };
        let told_at = match self.store.queued_mail(alert).await {
            Ok(mail) => mail.intent.queued_at,
            Err(StoreError::NotFound) => return Ok(false),
            Err(error) => return Err(error),
        };
        let (_, page) = self
            .store
            .thread_page(number, &ThreadQuery::newest(None))
            .await?;
        Ok(page.items.iter().any(|message| {
            message.at > told_at
                && message.kind.is_public()
                && !matches!(&message.author, Author::Agent(a) if a.id == agent.id)
        }))
    }

    /// The active agent whose registered address is `sender`, of the agency holding the
    /// ticket or of one keeping a referral; `None` if not exactly one (a shared address
    /// names nobody).
    async fn agent_with(
        &self,
        sender: &Email,
        ticket: &Ticket,
    ) -> Result<Option<Agent>, StoreError> {
        let mut found: Vec<Agent> = Vec::new();
        for agency in std::iter::once(&ticket.agency).chain(ticket.referrals.iter()) {
            let agents = self.store.agents(agency).await?;
            found.extend(agents.into_iter().filter(|agent| {
                agent.active
                    && agent.access(ticket) != Access::None
                    && agent.email.as_ref().is_some_and(|e| e.same_mailbox(sender))
            }));
        }
        Ok(match found.len() {
            1 => found.pop(),
            _ => None,
        })
    }

    /// Queues and sends the notice that `sender`'s mail was not added: a few a day per
    /// address, once per refused mail.
    async fn notify_refusal(
        &self,
        site: &Site,
        number: &TicketNumber,
        sender: &Email,
        refused: Option<MailMessageId>,
        crossed: bool,
    ) -> Result<(), StoreError> {
        let ticket = match self.store.ticket(number).await {
            Ok(ticket) => ticket,
            // A forged number: nobody's to tell about.
            Err(StoreError::NotFound) => return Ok(()),
            Err(error) => return Err(error),
        };
        let key = ThrottleKey::personal(
            "agent-answer-refusals",
            &sender.match_key(),
            &self.identifiers,
        );
        let now = site.clock.now();
        if !self
            .store
            .take(&key, DAY, now, REFUSALS_PER_SENDER_PER_DAY)
            .await?
        {
            return Ok(());
        }
        let id = match &refused {
            Some(refused) => site.derived_mail_id("agent-refused", refused.as_str()),
            None => site.new_mail_id(),
        };
        let mut intent = site.mail_intent(
            id,
            Notice::AgentMailRefused { crossed },
            MessageId::UNSET,
            Lang::Es,
            refused,
        );
        intent.to = Some(Recipient {
            agent: None,
            agency: ticket.agency.clone(),
            name: String::new(),
            email: sender.clone(),
        });
        let queued = intent
            .clone()
            .queued(ticket.number.clone(), ticket.agency.clone());
        match self.store.queue_mail(&queued).await {
            Ok(()) => {
                self.send_queued(site, &ticket, &intent, None).await;
                Ok(())
            }
            Err(StoreError::AlreadyExists) => Ok(()),
            Err(error) => {
                self.store.release(&key, DAY, now).await?;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_may_ask_for_a_note_or_a_status() {
        assert_eq!(keyword("Buenos días"), (Keyword::Reply, "Buenos días"));
        assert_eq!(keyword("\n #Nota \nVer el oficio").0, Keyword::Note);
        assert_eq!(keyword("#nota\nVer el oficio").1, "Ver el oficio");
        assert_eq!(
            keyword("#resolver\nListo.").0,
            Keyword::ReplyAnd(Status::Resolved)
        );
        assert_eq!(
            keyword("#CERRAR\nListo.").0,
            Keyword::ReplyAnd(Status::Closed)
        );
        // A hashtag inside the text is text.
        assert_eq!(keyword("Vea #nota abajo").0, Keyword::Reply);
        assert_eq!(keyword("#notable").0, Keyword::Reply);
    }
}
