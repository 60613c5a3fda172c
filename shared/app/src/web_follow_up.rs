//! A citizen answers on the status page instead of by mail: text and up to three files (the
//! form's limits and byte sniffing), under the answer token the page carries (it answers
//! and opens nothing, for two hours at most, never past the link the page was opened with).
//! It joins the ticket by the rules a mail follow-up obeys (`follow_up`); a finished ticket
//! whose queue wants it opens a new ticket linked to it, acknowledged as any opening. Sent
//! twice (a double click, a retry after a lost answer) it is added once: its id is derived
//! from the form's idempotency key and its text, and indexed as a mail's Message-ID is.

use std::time::Duration;

use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailIntent, Notice};
use ventanilla_domain::model::screenshots::Screenshot;
use ventanilla_domain::model::ticket::{IdempotencyKey, MailMeta};
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, MailQueue, Mailer, Opened, StoreError, Throttle,
    ThrottleKey, TicketStore,
};
use ventanilla_domain::{
    Author, BlobKey, Body, Channel, Lang, Message, MessageId, MessageKind, Ticket, TicketNumber,
    Timestamp,
};

use crate::access::follower_key;
use crate::follow_up::{FollowUpRules, Joined, join};
use crate::open_ticket::{NewTicket, open, store_screenshots};
use crate::{AppError, Desk, Site, attachments};

/// Answers a ticket takes on the web in an hour: more is a script, not a person.
pub const WEB_FOLLOW_UPS_PER_TICKET_PER_HOUR: u64 = 10;
/// Answers on the web one source sends in an hour, whatever the tickets.
pub const WEB_FOLLOW_UPS_PER_SOURCE_PER_HOUR: u64 = 30;

const HOUR: Duration = Duration::from_secs(3600);

/// How long a status page's answer form works, at most (and never past the link the page
/// was opened with): the token is in the page, which a shared computer keeps.
pub const ANSWER_FORM: chrono::Duration = chrono::Duration::hours(2);

/// An answer as the status page's form sent it, its fields parsed.
#[derive(Debug)]
pub struct WebFollowUp {
    /// The answer token the page carried (`AccessLinks::answer_token`).
    pub access: String,
    /// The access link the page was opened with, if it was: the answer returns there.
    pub back: Option<String>,
    pub text: Body,
    pub files: Vec<Screenshot>,
    pub key: IdempotencyKey,
}

/// Where an answer went.
#[derive(Debug)]
pub enum WebFollowedUp {
    /// Into `ticket` (reopened if it was finished), or a new ticket linked to the finished
    /// one (`opened`); `back`: the status page to return to, when the form came from a
    /// link that still opens it.
    Added {
        ticket: Ticket,
        opened: bool,
        back: Option<String>,
    },
    /// The ticket is finished and its queue takes no more: the citizen opens a new one.
    Refused { ticket: Ticket },
}

/// The answer form a status page of `ticket` carries: its answer token, for the requester,
/// valid [`ANSWER_FORM`] at most and never past `until` (the link the page was opened with).
pub fn answer_token(site: &Site, ticket: &Ticket, until: Option<Timestamp>) -> Option<String> {
    let follows = follower_key(&ticket.requester)?;
    let mut expires = site.clock.now().plus(ANSWER_FORM);
    if let Some(until) = until {
        expires = expires.min(until);
    }
    Some(site.links.answer_token(&ticket.number, &follows, expires))
}

impl<S, B, M> Desk<S, B, M>
where
    S: TicketStore + AgencyDirectory + AgentDirectory + Throttle + MailQueue,
    B: BlobStore,
    M: Mailer,
{
    /// Adds the answer `request` to the ticket its token answers, sent from `source`. An
    /// unknown, expired or someone else's token is `NotFound`, as the status page says.
    pub async fn follow_up_on_web(
        &self,
        site: &Site,
        source: &str,
        request: WebFollowUp,
        lang: Lang,
    ) -> Result<WebFollowedUp, AppError> {
        let now = site.clock.now();
        let Some(claim) = site.links.claim(&request.access, now) else {
            return Err(AppError::NotFound);
        };
        let answered = match self.store.ticket(&claim.number).await {
            Ok(ticket)
                if ticket.erased_at.is_none()
                    && site.links.verify_answer(&claim, &ticket.requester) =>
            {
                ticket
            }
            Ok(_) | Err(StoreError::NotFound) => return Err(AppError::NotFound),
            Err(error) => return Err(error.into()),
        };
        // Back to the page the answer was written on, while its link opens it (a merged
        // duplicate's link shows the ticket it went on in, for the same requester).
        let back = request
            .back
            .as_deref()
            .and_then(|token| site.links.claim(token, now))
            .filter(|back| site.links.verify(back, &answered.requester))
            .map(|back| format!("/estado/{}", back.token()));
        let follows = follower_key(&answered.requester).unwrap_or_default();
        // A duplicate merged into another: the conversation goes on there, for the same
        // requester, as a mail's does; for another (merged by ID document) it opens a new
        // ticket linked to the duplicate.
        let survivor = crate::merge::going_on(&self.store, answered.clone()).await?;
        let (ticket, merged_away) =
            if follower_key(&survivor.requester).as_deref() == Some(&follows) {
                let merged = survivor.merged_into.is_some();
                (survivor, merged)
            } else {
                let merged = answered.merged_into.is_some();
                (answered, merged)
            };
        // The same answer again (the same form's key and text) is found before it counts or
        // stores anything; another text under the same key (a page restored by Back) is a
        // new answer.
        use sha2::Digest;
        let said = sha2::Sha256::digest(request.text.as_str().as_bytes());
        let said = hex::encode(&said[..8]);
        let id = site.derived_mail_id(
            "web",
            &format!(
                "{}\n{follows}\n{}\n{said}",
                ticket.number,
                request.key.as_str()
            ),
        );
        if let Some(number) = self.answered_before(&id).await? {
            let opened = number != ticket.number;
            return Ok(WebFollowedUp::Added {
                ticket: self.store.ticket(&number).await?,
                opened,
                back: back.filter(|_| !opened),
            });
        }
        let keys = [
            (
                ThrottleKey::new("web-follow-ups", ticket.number.as_str()),
                WEB_FOLLOW_UPS_PER_TICKET_PER_HOUR,
            ),
            (
                ThrottleKey::personal("web-follow-ups-source", source, &self.identifiers),
                WEB_FOLLOW_UPS_PER_SOURCE_PER_HOUR,
            ),
        ];
        for (key, limit) in &keys {
            if !self.store.take(key, HOUR, now, *limit).await? {
                tracing::warn!(ticket = %ticket.number, "answers on the web throttled");
                return Err(AppError::TooMany { retry_after: HOUR });
            }
        }
        let files = store_screenshots(&self.blobs, request.files).await?;
        let stored: Vec<BlobKey> = files.iter().map(|f| f.blob.clone()).collect();
        let message = Message {
            id: site.ids.message_id(),
            at: now,
            kind: MessageKind::CitizenMessage,
            author: Author::Requester,
            body: request.text,
            attachments: files,
            // Not a mail: the id only makes the same answer one, and nothing is quoted. A
            // page opened with a document number (a ticket without an address) proves less
            // than a mailbox: the agents see the answer as unverified.
            mail: Some(MailMeta {
                message_ids: vec![id.clone()],
                raw: None,
                sender_unverified: ticket.requester.email.is_none(),
                quoted: None,
            }),
        };
        let outcome = if merged_away {
            self.open_linked(site, ticket, message, &stored, &id, lang)
                .await
        } else {
            let rules = FollowUpRules {
                finished: site.settings.mail.policy.finished_rule(&ticket),
                alert: site.alert_intent(AlertEvent::FollowUp, None),
                suspension_max_days: site.settings.deadlines.suspension_max_days,
            };
            match join(&self.store, now, ticket.clone(), message.clone(), &rules).await {
                Ok(Joined::Appended { ticket, .. }) => Ok(WebFollowedUp::Added {
                    ticket,
                    opened: false,
                    back,
                }),
                Ok(Joined::Duplicate) => {
                    // Another request with this answer won the race: it is stored once.
                    attachments::discard(&self.blobs, &stored).await;
                    Ok(WebFollowedUp::Added {
                        ticket,
                        opened: false,
                        back,
                    })
                }
                Ok(Joined::Refused) => {
                    attachments::discard(&self.blobs, &stored).await;
                    Ok(WebFollowedUp::Refused { ticket })
                }
                Ok(Joined::OpensLinked) => {
                    self.open_linked(site, ticket, message, &stored, &id, lang)
                        .await
                }
                Err(error) => Err(error.into()),
            }
        };
        if let Err(error) = &outcome {
            // Kept when the store may have written them (a lost answer): the bucket's
            // lifecycle rule sweeps them otherwise.
            if !matches!(error, AppError::Store(StoreError::Unavailable(_))) {
                attachments::discard(&self.blobs, &stored).await;
            }
            tracing::warn!("an answer on the web was not added");
        }
        outcome
    }

    /// The ticket an answer with this id was added to before, if any.
    async fn answered_before(
        &self,
        id: &MailMessageId,
    ) -> Result<Option<TicketNumber>, StoreError> {
        Ok(self
            .store
            .find_by_mail_ids(std::slice::from_ref(id))
            .await?
            .into_iter()
            .flatten()
            .next())
    }

    /// Opens the new ticket an answer to a finished (or merged) ticket makes, linked to it,
    /// for its requester, and acknowledges it to an address. The answer's id makes a second
    /// try the same ticket; `stored`: the answer's files, deleted when it was.
    async fn open_linked(
        &self,
        site: &Site,
        finished: Ticket,
        message: Message,
        stored: &[BlobKey],
        id: &MailMessageId,
        lang: Lang,
    ) -> Result<WebFollowedUp, AppError> {
        let acknowledgement = finished.requester.email.is_some().then(|| {
            let ack = Notice::Acknowledgement { quote: false };
            site.mail_intent(site.new_mail_id(), ack, MessageId::UNSET, lang, None)
        });
        let new = NewTicket {
            agency: finished.agency.clone(),
            queue: finished.queue.clone(),
            category: finished.category,
            requester: finished.requester.clone(),
            subject: finished.subject.clone(),
            description: message.body,
            attachments: message.attachments,
            mail: message.mail,
            idempotency_key: None,
            linked_to: Some(finished.number.clone()),
            channel: Channel::Formulario,
            acknowledgement: acknowledgement.clone(),
            alert: Some(site.alert_intent(AlertEvent::NewTicket, None)),
            term: site.settings.term(&finished.agency, finished.category),
        };
        let opened = open(&self.store, site.clock.as_ref(), site.ids.as_ref(), new).await;
        let (ticket, first) = match opened {
            Ok(Opened::Created(ticket, first)) => (ticket, first),
            Ok(Opened::Replayed(ticket)) => {
                attachments::discard(&self.blobs, stored).await;
                return Ok(WebFollowedUp::Added {
                    ticket,
                    opened: true,
                    back: None,
                });
            }
            // Another request with this answer opened it first (its id is indexed).
            Err(StoreError::AlreadyExists) => {
                let Some(number) = self.answered_before(id).await? else {
                    return Err(StoreError::AlreadyExists.into());
                };
                attachments::discard(&self.blobs, stored).await;
                return Ok(WebFollowedUp::Added {
                    ticket: self.store.ticket(&number).await?,
                    opened: true,
                    back: None,
                });
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(ack) = acknowledgement {
            let ack = MailIntent {
                about: first.id,
                ..ack
            };
            self.send_queued(site, &ticket, &ack, Some(&first)).await;
        }
        Ok(WebFollowedUp::Added {
            ticket,
            opened: true,
            back: None,
        })
    }
}
