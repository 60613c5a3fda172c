//! A citizen answers on the status page instead of by mail: text and up to three files (the
//! form's limits and byte sniffing), under the access token the page carries. It joins the
//! ticket by the rules a mail follow-up obeys (`follow_up`); a finished ticket whose queue
//! wants it opens a new ticket linked to it, acknowledged as any opening. Sent twice (a double
//! click, a retry after a lost answer) it is added once: its id is derived from the form's
//! idempotency key and indexed as a mail's Message-ID is.

use std::time::Duration;

use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail_queue::{MailIntent, Notice};
use ventanilla_domain::model::screenshots::Screenshot;
use ventanilla_domain::model::ticket::{IdempotencyKey, MailMeta};
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, MailQueue, Mailer, Opened, StoreError, Throttle,
    ThrottleKey, TicketStore,
};
use ventanilla_domain::{
    Author, BlobKey, Body, Channel, Lang, Message, MessageId, MessageKind, Ticket,
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

/// An answer as the status page's form sent it, its fields parsed.
#[derive(Debug)]
pub struct WebFollowUp {
    /// The access token the page carried (`AccessLinks::claim`).
    pub access: String,
    pub text: Body,
    pub files: Vec<Screenshot>,
    pub key: IdempotencyKey,
}

/// Where an answer went.
#[derive(Debug)]
pub enum WebFollowedUp {
    /// Into `ticket` (reopened if it was finished), or a new ticket linked to the finished
    /// one (`opened`); `access_url` opens the one that took it.
    Added {
        ticket: Ticket,
        opened: bool,
        access_url: String,
        /// `access_url` on this site, for a redirect.
        access_path: String,
    },
    /// The ticket is finished and its queue takes no more: the citizen opens a new one.
    Refused { ticket: Ticket },
}

impl<S, B, M> Desk<S, B, M>
where
    S: TicketStore + AgencyDirectory + AgentDirectory + Throttle + MailQueue,
    B: BlobStore,
    M: Mailer,
{
    /// Adds the answer `request` to the ticket its token opens, sent from `source`. An
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
        let ticket = match self.store.ticket(&claim.number).await {
            Ok(ticket)
                if ticket.erased_at.is_none() && site.links.verify(&claim, &ticket.requester) =>
            {
                ticket
            }
            Ok(_) | Err(StoreError::NotFound) => return Err(AppError::NotFound),
            Err(error) => return Err(error.into()),
        };
        // A duplicate merged into another: the conversation goes on there, for the same
        // requester (as a mail to it does).
        let survivor = crate::merge::going_on(&self.store, ticket.clone()).await?;
        let ticket = if follower_key(&survivor.requester) == follower_key(&ticket.requester) {
            survivor
        } else {
            ticket
        };
        let follows = follower_key(&ticket.requester).unwrap_or_default();
        // The same answer again is found before it counts or stores anything.
        let id = site.derived_mail_id(
            "web",
            &format!("{}\n{}\n{}", ticket.number, follows, request.key.as_str()),
        );
        if let Some(number) = (self
            .store
            .find_by_mail_ids(std::slice::from_ref(&id))
            .await?)
            .into_iter()
            .flatten()
            .next()
        {
            let ticket = self.store.ticket(&number).await?;
            return Ok(self.added(site, ticket, &follows, false));
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
            // Not a mail: the id only makes the same answer one, and nothing is quoted.
            mail: Some(MailMeta {
                message_ids: vec![id],
                raw: None,
                sender_unverified: false,
                quoted: None,
            }),
        };
        let rules = FollowUpRules {
            finished: site.settings.mail.policy.finished_rule(&ticket),
            alert: site.alert_intent(AlertEvent::FollowUp, None),
            suspension_max_days: site.settings.deadlines.suspension_max_days,
        };
        let joined = join(&self.store, now, ticket.clone(), message.clone(), &rules).await;
        let outcome = match joined {
            Ok(Joined::Appended { ticket, .. }) => Ok(self.added(site, ticket, &follows, false)),
            Ok(Joined::Duplicate) => {
                attachments::discard(&self.blobs, &stored).await;
                Ok(self.added(site, ticket, &follows, false))
            }
            Ok(Joined::Refused) => {
                attachments::discard(&self.blobs, &stored).await;
                Ok(WebFollowedUp::Refused { ticket })
            }
            Ok(Joined::OpensLinked) => {
                self.open_linked(site, ticket, message, &request.key, lang)
                    .await
            }
            Err(error) => Err(error.into()),
        };
        if outcome.is_err() {
            // Kept when the store may have written them (a lost answer); swept otherwise.
            tracing::warn!("an answer on the web was not added");
        }
        outcome
    }

    /// Opens the new ticket a finished one's answer makes, linked to it, for its requester,
    /// and acknowledges it. The form's key makes a second try the same ticket.
    async fn open_linked(
        &self,
        site: &Site,
        finished: Ticket,
        message: Message,
        key: &IdempotencyKey,
        lang: Lang,
    ) -> Result<WebFollowedUp, AppError> {
        let follows = follower_key(&finished.requester).unwrap_or_default();
        let pseudonym = self
            .identifiers
            .pseudonym(&format!("{follows}\n{}\nlinked", key.as_str()));
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
            idempotency_key: IdempotencyKey::parse(&pseudonym).ok(),
            linked_to: Some(finished.number.clone()),
            channel: Channel::Formulario,
            acknowledgement: acknowledgement.clone(),
            alert: Some(site.alert_intent(AlertEvent::NewTicket, None)),
            term: site.settings.term(&finished.agency, finished.category),
        };
        let (ticket, first) =
            match open(&self.store, site.clock.as_ref(), site.ids.as_ref(), new).await? {
                Opened::Created(ticket, first) => (ticket, first),
                Opened::Replayed(ticket) => return Ok(self.added(site, ticket, &follows, true)),
            };
        if let Some(ack) = acknowledgement {
            let ack = MailIntent {
                about: first.id,
                ..ack
            };
            self.send_queued(site, &ticket, &ack, Some(&first)).await;
        }
        Ok(self.added(site, ticket, &follows, true))
    }

    fn added(&self, site: &Site, ticket: Ticket, follows: &str, opened: bool) -> WebFollowedUp {
        let expires = site.clock.now().plus(site.settings.limits.access_link);
        let token = site.links.follower_token(&ticket.number, follows, expires);
        let access_path = format!("/estado/{token}");
        WebFollowedUp::Added {
            access_url: format!("{}{access_path}", site.settings.public_url),
            access_path,
            ticket,
            opened,
        }
    }
}
