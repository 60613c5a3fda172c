//! The support address, whichever way a mail reaches it. SES stores each mail in S3 (the
//! receipt rule's S3 action) and invokes the inbound function, which calls
//! [`Desk::deliver`]; the local SMTP listener calls [`Desk::accept`], which stores the
//! raw mail the same way first. Either way the raw mail is read, its attachments stored,
//! [`decide`] stores what it means, and the acknowledgement or notice it asks for is sent.
//!
//! Errors a retry can cure (the store or the blobs unavailable) are returned, so that Lambda
//! retries the event and then hands it to the on-failure destination; a retry is harmless
//! because a delivery is deduplicated on its Message-ID, or SES's id when it has none. A mail that cannot be
//! read at all is kept raw and reported, not retried.

mod decide;

pub use decide::{AUTOMATIC_NOTES_PER_TICKET_PER_DAY, TicketRules, decide};

use ventanilla_domain::BlobKey;
use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailIntent, Notice};
use ventanilla_domain::model::ticket::bounded_name;
use ventanilla_domain::ports::{
    Blob, BlobError, BlobStore, Mailer, StoreError, ThreadQuery, ThrottleKey,
};
use ventanilla_domain::rules::mail_in::kind::MailKind;
use ventanilla_domain::rules::mail_in::read::{IncomingMail, read};
use ventanilla_domain::rules::mail_in::sender_check::Judgement;
use ventanilla_domain::rules::mail_in::sender_check::Receipt;
use ventanilla_domain::rules::mail_in::support_address::{Delivery, Outcome};
use ventanilla_domain::{AttachmentRef, Lang, MessageId, Requester, Ticket, TicketNumber};

use crate::attachments;
use crate::sending::suppress_bounced;
use crate::session::AgentPorts;
use crate::{Desk, Site};

/// At most this many notices a day that a follow-up to a finished ticket was refused, per
/// ticket (each refused mail also counts against its sender's daily answers).
pub const REFUSALS_PER_TICKET_PER_DAY: u64 = 3;

/// Why a delivery could not be completed; the event source should retry it.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the raw mail {key} is not in the bucket")]
    RawMailMissing { key: BlobKey },
    #[error("the blob store failed on {key}")]
    Blobs {
        key: BlobKey,
        #[source]
        source: BlobError,
    },
    #[error("the ticket store failed")]
    Store(#[from] StoreError),
}

/// What SES (or the listener) says about a delivery besides the mail itself.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// SES's id of the received mail (its messageId); the S3 object is named after it.
    pub provider_id: Option<String>,
    /// SES's receipt: its scans and sender checks. `None` from the local listener, whose
    /// mail is judged by the `local_senders` setting.
    pub receipt: Option<Receipt>,
}

impl<S, B, M> Desk<S, B, M>
where
    S: AgentPorts + Clone,
    B: BlobStore + Clone + 'static,
    M: Mailer + Clone + 'static,
{
    /// A mail from the local SMTP listener: stored raw first, as SES's S3 action does, then
    /// delivered.
    pub async fn accept(&self, raw: Vec<u8>) -> Result<Outcome, DeliveryError> {
        let key = BlobKey::parse(&format!(
            "{}{}",
            self.site.settings.mail.inbound_prefix,
            uuid::Uuid::now_v7().simple()
        ))
        .unwrap_or_else(|_| unreachable!("the prefix is checked at start-up"));
        let blob = Blob {
            bytes: raw,
            content_type: "message/rfc822".into(),
        };
        self.put(&key, blob).await?;
        self.deliver(&key, Envelope::default()).await
    }

    /// Stores a blob of this delivery (its raw copy, a file), naming the key if it fails.
    async fn put(&self, key: &BlobKey, blob: Blob) -> Result<(), DeliveryError> {
        self.blobs
            .put(key, blob)
            .await
            .map_err(|source| DeliveryError::Blobs {
                key: key.clone(),
                source,
            })
    }

    /// A mail already stored raw under `key`.
    pub async fn deliver(
        &self,
        key: &BlobKey,
        envelope: Envelope,
    ) -> Result<Outcome, DeliveryError> {
        let raw = match self.blobs.get(key).await {
            Ok(blob) => blob.bytes,
            Err(BlobError::NotFound) => {
                return Err(DeliveryError::RawMailMissing { key: key.clone() });
            }
            Err(source) => {
                return Err(DeliveryError::Blobs {
                    key: key.clone(),
                    source,
                });
            }
        };
        let Ok(mut mail) = read(&raw) else {
            tracing::warn!(raw = %key, "unreadable mail: kept raw only");
            return Ok(Outcome::Unreadable);
        };
        // A bounce is kept whole until it is decided: it must name the address it is about.
        let bounce_text = (mail.kind == MailKind::Bounce)
            .then(|| String::from_utf8_lossy(&raw).to_ascii_lowercase());
        drop(raw);
        let mut judgement = match &envelope.receipt {
            Some(receipt) => receipt.judge(mail.from.as_ref()),
            None => Judgement::unchecked(self.site.settings.mail.local_senders_authenticated),
        };
        judgement.sender_authenticated &= mail.single_from;
        // A FAIL written into the stored mail only makes it stricter.
        judgement.review |= mail.verdicts.spam_failed;
        judgement.virus |= mail.verdicts.virus_failed;
        // Automatic mail and a virus never become a citizen's message: their files stay in
        // the raw mail, which is all that is kept of them.
        let attachments = if mail.kind.is_automatic() || judgement.virus {
            Vec::new()
        } else {
            self.store_attachments(key, &mut mail).await?
        };
        let files: Vec<BlobKey> = attachments.iter().map(|a| a.blob.clone()).collect();
        let provider_id = envelope
            .provider_id
            .as_deref()
            .and_then(|id| MailMessageId::parse(&format!("{id}@inbound.ses")).ok());
        if !judgement.sender_authenticated {
            tracing::info!(raw = %key, "sender not authenticated by SES's checks");
        }
        let citizen_id = mail.message_id.clone();
        // What makes a refusal's id: the refused mail's Message-ID, else SES's id of it.
        let refused_key = citizen_id.clone().or_else(|| provider_id.clone());
        let delivery = Delivery {
            mail,
            provider_id,
            raw: key.clone(),
            attachments,
            judgement,
        };
        let site = &self.site.current(&self.store).await?;
        // An answer to an alert is an agent's, or nobody's: never a citizen's mail.
        let alerted = (delivery.mail.parents.iter())
            .find_map(|parent| parent.alerted_ticket(&site.settings.mail_domain));
        if let Some(number) = alerted {
            let outcome = self.answer_by_mail(site, number, delivery).await?;
            tracing::info!(raw = %key, outcome = outcome.as_str(), ticket = outcome.ticket().map(|n| n.as_str()), "mail received");
            if !self.owns(&outcome, key).await {
                let unowned: Vec<BlobKey> = std::iter::once(key.clone()).chain(files).collect();
                attachments::discard(&self.blobs, &unowned).await;
            }
            return Ok(outcome);
        }
        // Quoting what the mail said only to a sender SES authenticated.
        let acknowledgement = site.mail_intent(
            site.new_mail_id(),
            Notice::Acknowledgement {
                quote: judgement.sender_authenticated,
            },
            MessageId::UNSET,
            Lang::Es,
            citizen_id.clone(),
        );
        let outcome = decide(
            &self.store,
            site.clock.as_ref(),
            site.ids.as_ref(),
            &site.settings.mail.policy,
            &site.settings.mail_domain,
            delivery,
            TicketRules {
                acknowledgement: acknowledgement.clone(),
                new_ticket_alert: site.alert_intent(AlertEvent::NewTicket, None),
                follow_up_alert: site.alert_intent(AlertEvent::FollowUp, None),
                term_of: &|category| {
                    site.settings
                        .term(&site.settings.mail.policy.agency, category)
                },
                suspension_max_days: site.settings.deadlines.suspension_max_days,
            },
        )
        .await?;
        tracing::info!(
            raw = %key,
            outcome = outcome.as_str(),
            ticket = outcome.ticket().map(|n| n.as_str()),
            "mail received"
        );
        if !self.owns(&outcome, key).await {
            let unowned: Vec<BlobKey> = std::iter::once(key.clone()).chain(files).collect();
            attachments::discard(&self.blobs, &unowned).await;
        }
        // The mail owed: the acknowledgement was queued with the ticket; a refusal is
        // queued now, about the thread's last message (a reply to it threads there), under
        // an id made from the refused mail's, so that the same mail delivered twice is
        // refused once.
        let owed = match &outcome {
            Outcome::Opened { ticket, first, .. } => Some((
                ticket.clone(),
                MailIntent {
                    about: first.id,
                    ..acknowledgement
                },
                Some(first.clone()),
            )),
            // Rare: its send reads the thread again.
            Outcome::Rejected { ticket } => self
                .queue_refusal(site, ticket, refused_key.as_ref(), citizen_id)
                .await?
                .map(|(ticket, intent)| (ticket, intent, None)),
            _ => None,
        };
        if let (
            Outcome::Automatic {
                kind: MailKind::Bounce,
                ticket: Some(number),
            },
            Some(text),
            true,
        ) = (&outcome, &bounce_text, judgement.sender_authenticated)
        {
            // A bounce under our anchor, from a mailer that authenticated itself, that names
            // the requester's address: mail to it fails. (Anyone who knows a number can send
            // a bounce; it must at least name the address and come from a real mailer.)
            let bounced = match self.store.ticket(number).await {
                Ok(Ticket {
                    requester:
                        Requester {
                            email: Some(email), ..
                        },
                    ..
                }) if text.contains(&email.match_key()) => {
                    suppress_bounced(site, &self.store, &self.identifiers, &email).await
                }
                Ok(_) => Ok(()),
                Err(error) => Err(error),
            };
            if let Err(error) = bounced {
                tracing::error!(%error, ticket = %number, "a bounce could not be remembered");
            }
        }
        if let Some((ticket, intent, about)) = owed {
            self.send_queued(site, &ticket, &intent, about.as_ref())
                .await;
        }
        Ok(outcome)
    }

    /// Queues the notice that a follow-up to `number` was refused (`refused_key` names the
    /// refused mail, `in_reply_to` is its Message-ID): `None` when this mail's refusal is
    /// queued already (a second delivery of the same mail), or the ticket got its day's
    /// refusals (anyone can write to a closed ticket as often as they like).
    async fn queue_refusal(
        &self,
        site: &Site,
        number: &TicketNumber,
        refused_key: Option<&MailMessageId>,
        in_reply_to: Option<MailMessageId>,
    ) -> Result<Option<(Ticket, MailIntent)>, StoreError> {
        let (day, now) = (std::time::Duration::from_secs(24 * 3600), site.clock.now());
        let key = ThrottleKey::new("refusals", number.as_str());
        if !self
            .store
            .take(&key, day, now, REFUSALS_PER_TICKET_PER_DAY)
            .await?
        {
            tracing::info!(ticket = %number, "refusal not queued: the ticket's day's refusals are sent");
            return Ok(None);
        }
        let queued: Result<Option<(Ticket, MailIntent)>, StoreError> = async {
            let (ticket, page) = self
                .store
                .thread_page(number, &ThreadQuery::newest(None))
                .await?;
            let Some(last) = page.items.last() else {
                return Ok(None);
            };
            let id = match refused_key {
                Some(refused) => site.derived_mail_id("refused", refused.as_str()),
                None => site.new_mail_id(),
            };
            let intent =
                site.mail_intent(id, Notice::FollowUpRefused, last.id, Lang::Es, in_reply_to);
            let queued = intent
                .clone()
                .queued(ticket.number.clone(), ticket.agency.clone());
            match self.store.queue_mail(&queued).await {
                Ok(()) => Ok(Some((ticket, intent))),
                // The same mail again: its refusal is queued already.
                Err(StoreError::AlreadyExists) => Ok(None),
                Err(error) => Err(error),
            }
        }
        .await;
        // No refusal queued by this delivery (a failure, or the same mail again): its place
        // is given back, so that retries and redeliveries do not use up the day's.
        if !matches!(queued, Ok(Some(_))) {
            self.store.release(&key, day, now).await?;
        }
        queued
    }

    /// Whether a ticket now refers to the raw mail under `key`: every stored blob belongs to
    /// a ticket (so that erasure and retention find it) or is deleted at once. A mail that
    /// could not be read at all is never asked: it stays for a person to look at, and the
    /// bucket's lifecycle rule sweeps it (RetentionDays).
    async fn owns(&self, outcome: &Outcome, key: &BlobKey) -> bool {
        let (number, query) = match outcome {
            Outcome::Opened { .. }
            | Outcome::FollowUp { .. }
            | Outcome::HeldForReview { .. }
            | Outcome::Unreadable => return true,
            // A reply keeps the agent's mail with it; a note keeps only its text.
            Outcome::AnsweredByAgent { note, .. } => return !note,
            Outcome::AgentMailRefused { .. } => return false,
            // A refused follow-up is not stored; nothing without a sender is.
            Outcome::Rejected { .. }
            | Outcome::NoSender
            | Outcome::Automatic { ticket: None, .. }
            | Outcome::Virus { ticket: None } => return false,
            // Noted just now, unless a copy under another object raced it there.
            Outcome::Automatic {
                ticket: Some(number),
                ..
            }
            | Outcome::Virus {
                ticket: Some(number),
            } => (number, ThreadQuery::newest(None)),
            // The same delivery again (the same object) or the same mail under a new one.
            Outcome::Duplicate { ticket } => (ticket, ThreadQuery::whole()),
        };
        match self.store.thread_page(number, &query).await {
            Ok((_, page)) => page
                .items
                .iter()
                .filter_map(|m| m.mail.as_ref()?.raw.as_ref())
                .any(|raw| raw == key),
            // Kept when unsure; the lifecycle rule sweeps it in the end.
            Err(_) => true,
        }
    }

    /// Stores the attachments within the limits, under keys derived from the raw mail's, so
    /// that a retried delivery writes the same objects again instead of new ones. Files
    /// beyond the limits stay in the raw mail, and the message says so.
    async fn store_attachments(
        &self,
        raw: &BlobKey,
        mail: &mut IncomingMail,
    ) -> Result<Vec<AttachmentRef>, DeliveryError> {
        let limits = &self.site.settings.mail;
        let folder = raw.as_str().rsplit('/').next().unwrap_or("mail");
        let mut stored = Vec::new();
        let mut left_out = Vec::new();
        for (index, attachment) in std::mem::take(&mut mail.attachments)
            .into_iter()
            .enumerate()
        {
            let size = attachment.bytes.len() as u64;
            if size > limits.max_attachment_bytes || stored.len() >= limits.max_attachments {
                left_out.push(bounded_name(&attachment.name));
                continue;
            }
            let key = BlobKey::parse(&format!("attachments/mail/{folder}/{index}"))
                .unwrap_or_else(|_| unreachable!("a raw key's last segment and a number"));
            // Bounded before anything is stored: S3 takes the content type as a header.
            let file = AttachmentRef::new(
                &attachment.name,
                &attachment.content_type,
                size,
                key.clone(),
            );
            let blob = Blob {
                bytes: attachment.bytes,
                content_type: file.content_type.clone(),
            };
            self.put(&key, blob).await?;
            stored.push(file);
        }
        if !left_out.is_empty() {
            let note = format!(
                "\n\n[Adjuntos no guardados por su tamaño o número; siguen en el correo original: {}]",
                left_out.join(", ")
            );
            mail.text.push_str(&note);
            mail.reply.new_text.push_str(&note);
        }
        Ok(stored)
    }
}
