//! What a delivered mail means, decided and stored: a duplicate is dropped, a reply joins its
//! ticket, a follow-up to a finished ticket obeys the queue's rule, automatic mail never
//! opens, reopens or gets answered, and anything else opens a ticket.
//!
//! Threading order, as DESIGN.md sets it: (1) dedupe on the exact Message-ID, or the
//! provider's id for a mail without one (`Delivery::known_ids`); (2) In-Reply-To/References against every id stored or sent, and our anchor
//! `<ticket.NUMBER@domain>`; (3) the ticket tag in the quoted history; (4) the tag in the
//! subject. For a person's mail each counts only when the sender is the ticket's requester:
//! anyone can type a number or copy a Message-ID; automatic mail may follow (2).

use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::MailIntent;
use ventanilla_domain::model::rating::hide_rating_links;
use ventanilla_domain::model::term::Term;
use ventanilla_domain::model::ticket::MailMeta;
use ventanilla_domain::ports::{
    AgencyDirectory, Clock, IdSource, Opened, StoreError, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::rules::mail_in::read::IncomingMail;
use ventanilla_domain::rules::mail_in::support_address::{
    Delivery, MailPolicy, Outcome, categorise,
};
use ventanilla_domain::{
    Author, Body, Category, Email, Message, MessageKind, PersonName, Requester, Subject, Ticket,
    TicketNumber,
};

use crate::follow_up::{FollowUpRules, Joined, join};
use crate::open_ticket::{NewTicket, open};

/// Finds the ticket a mail belongs to, or `None` for a new conversation.
async fn thread(
    store: &impl TicketStore,
    mail: &IncomingMail,
    sender: Option<&Email>,
    our_domain: &str,
) -> Result<Option<Ticket>, StoreError> {
    // A person's mail joins a ticket only when it comes from the requester, however it is
    // threaded: In-Reply-To and References are as easy to forge as a subject tag (our anchor
    // id is derived from the number alone), so a stranger's mail opens a ticket of its own.
    // Automatic mail (a bounce comes from the mailer daemon, not the requester) may follow
    // the headers: it only leaves a note for the agents.
    // The parents not under our anchor are looked up in one read.
    let foreign: Vec<MailMessageId> = mail
        .parents
        .iter()
        .filter(|p| p.anchored_ticket(our_domain).is_none())
        .cloned()
        .collect();
    let mut found = store.find_by_mail_ids(&foreign).await?.into_iter();
    let mut candidates: Vec<(TicketNumber, bool)> = Vec::new();
    for parent in &mail.parents {
        let number = match parent.anchored_ticket(our_domain) {
            Some(number) => Some(number),
            None => found.next().flatten(),
        };
        candidates.extend(number.map(|n| (n, true)));
    }
    candidates.extend(
        TicketNumber::find_tag(&mail.reply.quoted)
            .into_iter()
            .chain(TicketNumber::find_tag(&mail.subject))
            .map(|n| (n, false)),
    );
    // Each ticket is read once, at its first (strongest) mention.
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|(number, _)| seen.insert(number.clone()));
    let theirs = |ticket: &Ticket| {
        sender.is_some_and(|s| {
            (ticket.requester.email.as_ref()).is_some_and(|own| own.same_mailbox(s))
        })
    };
    for (number, by_headers) in candidates {
        match store.ticket(&number).await {
            Ok(ticket) if (by_headers && mail.kind.is_automatic()) || theirs(&ticket) => {
                // A duplicate merged into another: the conversation goes on there, when the
                // sender is that one's requester too.
                let survivor = crate::merge::going_on(store, ticket.clone()).await?;
                return Ok(Some(if theirs(&survivor) { survivor } else { ticket }));
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// The ticket one of a delivery's ids already belongs to: the same mail, seen before.
async fn seen_before(
    store: &impl TicketStore,
    known: &[MailMessageId],
) -> Result<Option<TicketNumber>, StoreError> {
    Ok(store
        .find_by_mail_ids(known)
        .await?
        .into_iter()
        .flatten()
        .next())
}

fn body_of(text: &str, fallback: &str) -> Body {
    let text: String = text.chars().take(Body::MAX).collect();
    Body::parse(&text)
        .or_else(|_| Body::parse(fallback))
        .unwrap_or_else(|_| unreachable!("the fallback text is a valid body"))
}

/// At most this many notes of automatic mail (bounces, auto-replies, virus verdicts) per
/// ticket per day; past it they are only counted in the outcome. Anyone can send automatic
/// mail that threads by our anchor.
pub const AUTOMATIC_NOTES_PER_TICKET_PER_DAY: u64 = 10;

/// Records automatic mail on its ticket as a system event that keeps the ticket as it is
/// (`add_event`: neither its version nor its last activity move), with the mail's ids (a
/// retried delivery is a duplicate) and its raw copy (erased with the ticket). Whether it
/// was recorded: not past the day's cap.
async fn system_event(
    store: &(impl TicketStore + AgencyDirectory + Throttle),
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
    ticket: &TicketNumber,
    text: String,
    mail: MailMeta,
) -> Result<bool, StoreError> {
    let key = ThrottleKey::new("automatic-notes", ticket.as_str());
    let day = std::time::Duration::from_secs(24 * 3600);
    if !store
        .take(&key, day, clock.now(), AUTOMATIC_NOTES_PER_TICKET_PER_DAY)
        .await?
    {
        return Ok(false);
    }
    let event = Message {
        id: ids.message_id(),
        at: clock.now(),
        kind: MessageKind::SystemEvent,
        author: Author::System,
        body: body_of(&text, "mail event"),
        attachments: Vec::new(),
        mail: Some(mail),
    };
    match store.add_event(ticket, &event).await {
        // A delivery of the same mail that raced this one recorded it.
        Ok(()) | Err(StoreError::AlreadyExists) => Ok(true),
        Err(error) => Err(error),
    }
}

/// What the mail's ticket gets besides the mail: if it opens one, the acknowledgement owed
/// (queued with it, unless the mail is held for review) and the term of its category; if it
/// follows one up, how far its term's clock may have been stopped. Either way the agents'
/// alert of it (`Site::alert_intent`), queued with the change (not for held mail).
pub struct TicketRules<'a> {
    pub acknowledgement: MailIntent,
    pub new_ticket_alert: MailIntent,
    pub follow_up_alert: MailIntent,
    pub term_of: &'a (dyn Fn(Category) -> Option<Term> + Sync),
    pub suspension_max_days: u32,
}

impl std::fmt::Debug for TicketRules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketRules")
            .field("acknowledgement", &self.acknowledgement)
            .field("suspension_max_days", &self.suspension_max_days)
            .finish_non_exhaustive()
    }
}

/// Decides and stores what a delivered mail means. See the module's documentation.
pub async fn decide(
    store: &(impl TicketStore + AgencyDirectory + Throttle),
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
    policy: &MailPolicy,
    our_domain: &str,
    delivery: Delivery,
    rules: TicketRules<'_>,
) -> Result<Outcome, StoreError> {
    let known = delivery.known_ids();
    if let Some(ticket) = seen_before(store, &known).await? {
        return Ok(Outcome::Duplicate { ticket });
    }
    let mail = &delivery.mail;
    let sender = mail.from.clone();
    let authenticated = delivery.judgement.sender_authenticated;
    // Only an authenticated sender joins a ticket as its requester; anyone else's mail
    // opens one of its own.
    let identity = sender.as_ref().filter(|_| authenticated);
    let threaded = thread(store, mail, identity, our_domain).await?;

    // What automatic mail and virus verdicts leave on a ticket: the raw mail, no text.
    let event_mail = || MailMeta {
        message_ids: known.clone(),
        raw: Some(delivery.raw.clone()),
        sender_unverified: !authenticated,
        quoted: None,
    };
    // The ticket it is noted on: none past the day's cap.
    let mut noted = None;
    if delivery.judgement.virus {
        if let Some(number) = threaded.as_ref().map(|t| t.number.clone()) {
            let text = format!("mail discarded: virus verdict FAIL (raw: {})", delivery.raw);
            if system_event(store, clock, ids, &number, text, event_mail()).await? {
                noted = Some(number);
            }
        }
        return Ok(Outcome::Virus { ticket: noted });
    }
    if mail.kind.is_automatic() {
        if let Some(number) = threaded.as_ref().map(|t| t.number.clone()) {
            let text = format!(
                "{} received: {} (raw: {})",
                mail.kind.as_str(),
                mail.subject.chars().take(200).collect::<String>(),
                delivery.raw
            );
            if system_event(store, clock, ids, &number, text, event_mail()).await? {
                noted = Some(number);
            }
        }
        return Ok(Outcome::Automatic {
            kind: mail.kind,
            ticket: noted,
        });
    }
    let Some(sender) = sender else {
        return Ok(Outcome::NoSender);
    };
    // What the citizen wrote now comes first, with the history it quoted kept under it. A
    // first mail that answers nothing of ours (no parents: a new message, a forward of a
    // complaint, text that quotes someone) or has no new text of its own opens its ticket
    // with all of it; a follow-up without new text is a message without text, its history
    // under it.
    let citizen_message = |opening: bool| {
        let whole = opening && (mail.parents.is_empty() || mail.reply.new_text.trim().is_empty());
        let (text, quoted) = if whole {
            (mail.text.as_str(), None)
        } else {
            (
                mail.reply.new_text.as_str(),
                MailMeta::quoted_history(&mail.reply.quoted),
            )
        };
        // A reply to the finishing mail quotes its rating links: the agents who read it
        // must not be able to rate in the citizen's place.
        let text = hide_rating_links(text);
        let quoted = quoted.map(|q| hide_rating_links(&q).into_owned());
        Message {
            id: ids.message_id(),
            at: clock.now(),
            kind: MessageKind::CitizenMessage,
            author: Author::Requester,
            body: body_of(&text, "(mensaje sin texto)"),
            attachments: delivery.attachments.clone(),
            mail: Some(MailMeta {
                message_ids: known.clone(),
                raw: Some(delivery.raw.clone()),
                sender_unverified: !authenticated,
                quoted,
            }),
        }
    };

    let mut linked_to = None;
    // A duplicate merged into a ticket its sender does not follow (merged by ID document)
    // takes no more: the mail opens a new ticket linked to it, as a finished one's may.
    let threaded = match threaded {
        Some(ticket) if ticket.merged_into.is_some() => {
            linked_to = Some(ticket.number);
            None
        }
        other => other,
    };
    if let Some(ticket) = threaded.filter(|_| !delivery.judgement.review) {
        let number = ticket.number.clone();
        let rules = FollowUpRules {
            finished: policy.finished_rule(&ticket),
            alert: rules.follow_up_alert.clone(),
            suspension_max_days: rules.suspension_max_days,
        };
        match join(store, clock.now(), ticket, citizen_message(false), &rules).await? {
            Joined::Appended { ticket, reopened } => {
                return Ok(Outcome::FollowUp { ticket, reopened });
            }
            Joined::Refused => return Ok(Outcome::Rejected { ticket: number }),
            Joined::Duplicate => return Ok(Outcome::Duplicate { ticket: number }),
            Joined::OpensLinked => linked_to = Some(number),
        }
    }

    let name = mail
        .from_name
        .as_deref()
        .and_then(|n| PersonName::parse(n).ok())
        .or_else(|| PersonName::parse(sender.as_str().split('@').next().unwrap_or("")).ok())
        .or_else(|| PersonName::parse("Ciudadano").ok())
        .unwrap_or_else(|| unreachable!("a fixed name is valid"));
    let subject = Subject::from_mail(&mail.subject)
        .or_else(|| Subject::parse("(sin asunto)").ok())
        .unwrap_or_else(|| unreachable!("a fixed subject is valid"));
    let held = delivery.judgement.review;
    let category = categorise(&mail.subject);
    let first_message = citizen_message(true);
    let new = NewTicket {
        agency: policy.agency.clone(),
        queue: if held {
            policy.review_queue.clone()
        } else {
            policy.queue.clone()
        },
        category,
        requester: Requester {
            name,
            email: Some(sender.clone()),
            id_document: None,
            phone: None,
            nationality: None,
            gender: None,
            user_type: None,
        },
        subject,
        description: first_message.body,
        attachments: first_message.attachments,
        mail: first_message.mail,
        idempotency_key: None,
        linked_to,
        channel: ventanilla_domain::Channel::Correo,
        // Held mail is not acknowledged: it may be spam.
        acknowledgement: (!held).then_some(rules.acknowledgement),
        alert: (!held).then_some(rules.new_ticket_alert),
        term: (rules.term_of)(category),
    };
    let (ticket, first) = match open(store, clock, ids, new).await {
        Ok(Opened::Created(ticket, first)) => (ticket, first),
        // Mail carries no idempotency key; a replay would be this mail's ticket again.
        Ok(Opened::Replayed(ticket)) => {
            return Ok(Outcome::Duplicate {
                ticket: ticket.number,
            });
        }
        Err(StoreError::AlreadyExists) => {
            // Two deliveries of one mail raced; the other one opened it.
            if let Some(ticket) = seen_before(store, &known).await? {
                return Ok(Outcome::Duplicate { ticket });
            }
            return Err(StoreError::AlreadyExists);
        }
        Err(error) => return Err(error),
    };
    if held {
        return Ok(Outcome::HeldForReview { ticket });
    }
    Ok(Outcome::Opened {
        ticket,
        first,
        quote: authenticated,
    })
}
