//! The mails the site sends on its own (the acknowledgement of a new ticket, the notice that
//! a closed ticket was not reopened), one way for every door a ticket comes in by: the form
//! and the support address. Each mail's Message-IDs, ours and the provider's, are indexed
//! so that a reply to it threads into its ticket. A failure is logged with the ticket's
//! number and does not undo the ticket.

use std::time::Duration;
use ventanilla_domain::model::mail::MailAttachment;
use ventanilla_domain::model::mail::{MailMessageId, Mailbox};
use ventanilla_domain::rules::notices::{
    NoticeContext, acknowledgement, agent_reply, follow_up_refused,
};

use ventanilla_domain::Email;
use ventanilla_domain::ports::{
    BlobError, BlobStore, IdentifierSecret, MailError, Mailer, StoreError, ThreadQuery, Throttle,
    ThrottleKey, TicketStore,
};
use ventanilla_domain::{Lang, Message, MessageKind, Ticket, TicketChange};

use crate::append::{Step, append};
use crate::{Desk, Site};

/// The signed link that opens the ticket's status page without typing anything.
pub fn access_url(site: &Site, ticket: &Ticket) -> String {
    let expires = site.clock.now().plus(site.settings.limits.access_link);
    let token = site
        .links
        .token(&ticket.number, &ticket.requester.email, expires);
    format!("{}/estado/{token}", site.settings.public_url)
}

/// Which automatic mail to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// "We received your request", with what the first message said when `quote` (never to
    /// an address that may not be the one who wrote it).
    Acknowledgement { quote: bool },
    /// "Your ticket is closed; your mail was not added".
    FollowUpRefused,
}

const DAY: Duration = Duration::from_secs(24 * 3600);
/// How long an address that bounced gets no notice (SES's own suppression list covers
/// production too; this one also holds where SES is not in front).
const BOUNCED_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Remembers that mail to `address` bounced: notices to it stop for a while, so that our
/// bounce rate stays low. Called for a bounce that threaded to the address's ticket.
pub async fn suppress_bounced(
    site: &Site,
    store: &impl Throttle,
    identifiers: &IdentifierSecret,
    address: &Email,
) -> Result<(), StoreError> {
    let key = bounced_key(identifiers, address);
    // Marked in this window and the next: a notice then reads one window, and a bounce
    // counts for 30 to 60 days, never for a moment only because a window ended right after
    // it. The rare bounce pays the second write, not every notice a second read.
    let now = site.clock.now();
    let next = now.plus(chrono::Duration::from_std(BOUNCED_FOR).unwrap_or_default());
    for at in [now, next] {
        store.take(&key, BOUNCED_FOR, at, u64::MAX).await?;
    }
    Ok(())
}

fn bounced_key(identifiers: &IdentifierSecret, address: &Email) -> ThrottleKey {
    ThrottleKey::personal("bounced", &address.match_key(), identifiers)
}

/// Whether one more notice may go to `address` today: not one that bounced lately, and at
/// most the day's answers per address (`answers_per_sender_per_day`), counted across the
/// form and the support address, so that neither a mail loop with a robot nor a form typed
/// with someone else's address a thousand times makes us mail them more.
async fn may_notify(
    site: &Site,
    store: &impl Throttle,
    identifiers: &IdentifierSecret,
    address: &Email,
) -> Result<bool, StoreError> {
    let now = site.clock.now();
    let bounced = [bounced_key(identifiers, address)];
    if store.counts(&bounced, BOUNCED_FOR, now).await?[0] > 0 {
        return Ok(false);
    }
    let answers = ThrottleKey::personal("answers", &address.match_key(), identifiers);
    let limit = site.settings.mail.policy.acks_per_sender_per_day;
    store.take(&answers, DAY, now, limit).await
}

impl<S: TicketStore + Throttle, B, M: Mailer> Desk<S, B, M> {
    /// Builds, sends and indexes `notice` about `ticket`, answering `answered`: the message a
    /// reply to the notice belongs with (the first message for an acknowledgement; the refused
    /// mail for a refusal). `in_reply_to` is the citizen's mail it answers, when the ticket came
    /// by mail. Returns whether it was sent: not when the requester's address is past its
    /// daily answers or bounced lately.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_notice(
        &self,
        site: &Site,
        ticket: &Ticket,
        answered: &Message,
        notice: Notice,
        lang: Lang,
        in_reply_to: Option<MailMessageId>,
    ) -> bool {
        match may_notify(
            site,
            &self.store,
            &self.identifiers,
            &ticket.requester.email,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(ticket = %ticket.number, ?notice, "notice not sent: the address is past its daily answers or bounced");
                return false;
            }
            Err(error) => {
                tracing::error!(%error, ticket = %ticket.number, ?notice, "notice not sent: the answer count is unavailable");
                return false;
            }
        }
        let settings = &site.settings;
        let Some(agency) = settings.agency(&ticket.agency) else {
            tracing::error!(ticket = %ticket.number, "notice not sent: the ticket's agency is not configured");
            return false;
        };
        let Ok(own_id) = MailMessageId::parse(&format!(
            "{}@{}",
            uuid::Uuid::now_v7(),
            settings.mail_domain
        )) else {
            tracing::error!("the mail domain does not make valid Message-IDs");
            return false;
        };
        let reply_to = Mailbox::new(settings.site_name.clone(), settings.support.clone());
        let access_url = access_url(site, ticket);
        let cx = NoticeContext {
            from: &settings.no_reply,
            reply_to: &reply_to,
            mail_domain: &settings.mail_domain,
            agency_name: &agency.name,
            response_days: agency.response_days,
            access_url: &access_url,
            site_url: &settings.public_url,
            lang,
            now: site.clock.now(),
            message_id: own_id.clone(),
            in_reply_to,
        };
        let draft = match notice {
            Notice::Acknowledgement { quote } => acknowledgement(ticket, answered, quote, cx),
            Notice::FollowUpRefused => follow_up_refused(ticket, cx),
        };
        match self.mailer.send(&draft.build()).await {
            Ok(sent) => {
                // SES gives the mail a Message-ID of its own; the local outbox keeps ours.
                let mut ids = vec![own_id];
                if sent.message_id != ids[0] {
                    ids.push(sent.message_id);
                }
                for id in ids {
                    match self
                        .store
                        .link_mail_id(&ticket.number, answered.id, &id)
                        .await
                    {
                        Ok(()) | Err(StoreError::AlreadyExists) => {}
                        Err(error) => {
                            tracing::error!(%error, ticket = %ticket.number, "a mail id was not indexed");
                        }
                    }
                }
                tracing::info!(ticket = %ticket.number, ?notice, provider_id = %sent.provider_id, "notice sent");
                true
            }
            Err(error) => {
                tracing::error!(%error, ticket = %ticket.number, ?notice, "notice not sent");
                false
            }
        }
    }
}

/// Why a public reply is still waiting for the mail provider.
#[derive(Debug, thiserror::Error)]
pub enum ReplyNotSent {
    #[error("the mail provider did not take the reply")]
    Mail(#[from] MailError),
    #[error("the ticket store failed")]
    Store(#[from] StoreError),
    #[error("an attachment could not be read")]
    Attachment(#[from] BlobError),
    #[error("the reply cannot be built: {0}")]
    Unbuildable(&'static str),
}

/// Sends a stored public reply to the requester from the service desk's address, threaded to
/// the citizen's last mail and the ticket's anchor, then indexes the provider's Message-ID
/// and marks the reply delivered. The Message-ID is the one stored with the reply, so a
/// reply sent again after a failure is the same mail to the citizen's client.
pub async fn send_reply(
    site: &Site,
    store: &impl TicketStore,
    blobs: &impl BlobStore,
    mailer: &impl Mailer,
    number: &ventanilla_domain::TicketNumber,
    reply: &Message,
) -> Result<(), ReplyNotSent> {
    let settings = &site.settings;
    // The citizen's last mail is among the newest messages.
    let (ticket, page) = store
        .thread_page(number, &ThreadQuery::newest(None))
        .await?;
    let thread = page.items;
    let agency = settings
        .agency(&ticket.agency)
        .ok_or(ReplyNotSent::Unbuildable(
            "the ticket's agency is not configured",
        ))?;
    let own_id = reply
        .mail_ids()
        .first()
        .cloned()
        .ok_or(ReplyNotSent::Unbuildable("the reply has no Message-ID"))?;
    let in_reply_to = thread
        .iter()
        .rev()
        .filter(|m| m.kind == MessageKind::CitizenMessage)
        .find_map(|m| m.mail_ids().first().cloned());
    let desk = Mailbox::new(settings.site_name.clone(), settings.support.clone());
    let access_url = access_url(site, &ticket);
    let cx = NoticeContext {
        from: &desk,
        reply_to: &desk,
        mail_domain: &settings.mail_domain,
        agency_name: &agency.name,
        response_days: agency.response_days,
        access_url: &access_url,
        site_url: &settings.public_url,
        lang: Lang::Es,
        now: site.clock.now(),
        message_id: own_id,
        in_reply_to,
    };
    let mut draft = agent_reply(&ticket, reply, cx);
    for file in &reply.attachments {
        let blob = blobs.get(&file.blob).await?;
        draft.attachments.push(MailAttachment {
            name: file.name.clone(),
            content_type: file.content_type.clone(),
            bytes: blob.bytes,
        });
    }
    let sent = mailer.send(&draft.build()).await?;
    match store.link_mail_id(number, reply.id, &sent.message_id).await {
        Ok(()) | Err(StoreError::AlreadyExists) => {}
        Err(error) => return Err(error.into()),
    }
    // Marked delivered, on the ticket as it stands when someone changed it meanwhile. The mail
    // went: a mark lost to the races is logged, and the reply is only sent again (the same
    // Message-ID, which receivers deduplicate).
    let current = store.ticket(number).await?;
    let marked = append(store, current, |ticket: &Ticket| {
        Ok::<_, StoreError>(ticket.undelivered.contains(&reply.id).then(|| Step {
            change: TicketChange {
                delivered: Some(reply.id),
                ..TicketChange::default()
            },
            message: None,
        }))
    })
    .await;
    if let Err(error) = marked {
        tracing::warn!(%error, ticket = %number, "reply sent; its delivered mark was not written");
    }
    tracing::info!(ticket = %number, provider_id = %sent.provider_id, "reply sent");
    Ok(())
}
