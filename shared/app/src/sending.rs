//! Sending what the mail queue holds (`model::mail_queue`): every automatic mail, whichever
//! change queued it (a ticket opened by the form or by mail, a refused follow-up, an agent's
//! reply), goes out here, once in effect. The writer of the change tries it right after its
//! write, so the citizen's mail is not delayed; [`Desk::sweep_mail`] sends whatever is
//! still pending after the writer's lease (a crash, a provider outage), with growing waits,
//! and parks what keeps failing for an admin. Each mail's Message-IDs, ours and the
//! provider's, are indexed so that a reply to it threads into its ticket.

use std::time::Duration;

use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail::{MailAttachment, MailDraft, MailMessageId, Mailbox};
use ventanilla_domain::model::mail_queue::{MailIntent, MailState, Notice, QueuedMail};
use ventanilla_domain::model::term::WarningPoint;
use ventanilla_domain::rules::deadline::day_in_ecuador;
use ventanilla_domain::rules::notices::{
    NoticeContext, acknowledgement, agent_mail_refused, agent_reply, deadline_warning,
    follow_up_refused, term_extended,
};

use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, IdentifierSecret, MailError, MailQueue, Mailer,
    StoreError, ThreadQuery, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::{
    Email, Lang, Message, MessageId, MessageKind, Ticket, TicketChange, TicketNumber,
};

use crate::append::{Step, append};
use crate::{Desk, Site};

/// The signed link that opens the ticket's status page without typing anything, as mailed
/// (valid `limits.access_link`).
pub fn access_url(site: &Site, number: &TicketNumber, email: &Email) -> String {
    format!(
        "{}{}",
        site.settings.public_url,
        access_path(site, number, email, site.settings.limits.access_link)
    )
}

/// How long a link shown on a page (not mailed) opens its ticket: a day. A page's link lands
/// in the browser's history, which a shared computer keeps for the next person.
pub const SHOWN_LINK: chrono::Duration = chrono::Duration::days(1);

/// `/estado/<token>` for this site, valid `valid_for`.
pub fn access_path(
    site: &Site,
    number: &TicketNumber,
    email: &Email,
    valid_for: chrono::Duration,
) -> String {
    let token = site
        .links
        .token(number, email, site.clock.now().plus(valid_for));
    format!("/estado/{token}")
}

impl Site {
    /// A new Message-ID of ours.
    pub fn new_mail_id(&self) -> MailMessageId {
        MailMessageId::parse(&format!(
            "{}@{}",
            uuid::Uuid::now_v7(),
            self.settings.mail_domain
        ))
        .unwrap_or_else(|_| unreachable!("the mail domain is checked when the settings load"))
    }

    /// The Message-ID of the one mail owed for `key` (the mail a refusal answers; a ticket,
    /// warning and agent): the same on every try, so that a mail queued twice is one.
    pub fn derived_mail_id(&self, kind: &str, key: &str) -> MailMessageId {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.as_bytes());
        let hex = hex::encode(&digest[..16]);
        MailMessageId::parse(&format!("{kind}.{hex}@{}", self.settings.mail_domain))
            .unwrap_or_else(|_| self.new_mail_id())
    }

    /// A mail owed about the message `about`, to queue with the change that causes it; the
    /// writer holds it for the queue's lease.
    pub fn mail_intent(
        &self,
        id: MailMessageId,
        notice: Notice,
        about: MessageId,
        lang: Lang,
        in_reply_to: Option<MailMessageId>,
    ) -> MailIntent {
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(self.settings.mail_queue.retry.lease)
            .unwrap_or(chrono::Duration::MAX);
        MailIntent {
            id,
            notice,
            about,
            lang,
            in_reply_to,
            queued_at: now,
            writer_until: now.plus(lease),
            to: None,
            actor: None,
            held: 0,
            held_alerts: Vec::new(),
        }
    }
}

impl Site {
    /// The record a change writes so that the agents to be told of `event` are (the sweeper
    /// fans it out: `Desk::fan_out`), about the message the change writes (set by the
    /// caller); `actor`: the agent whose action it is, who is not told.
    pub fn alert_intent(
        &self,
        event: AlertEvent,
        actor: Option<&ventanilla_domain::AgentRef>,
    ) -> MailIntent {
        let mut intent = self.mail_intent(
            self.new_mail_id(),
            Notice::AgentAlert { event },
            MessageId::UNSET,
            Lang::Es,
            None,
        );
        // The sweeper's at once: the writer of the change may not read the agents.
        intent.writer_until = intent.queued_at;
        intent.actor = actor.map(|a| a.id.clone());
        intent
    }
}

/// What a mail to an agent about `ticket` (a warning, an alert) is written with: from the
/// no-reply address, answered to `reply_to`.
pub(crate) fn agent_context<'a>(
    site: &'a Site,
    mail: &QueuedMail,
    ticket: &'a Ticket,
    to: &'a Email,
    reply_to: &'a Mailbox,
) -> NoticeContext<'a> {
    let settings = &site.settings;
    NoticeContext {
        from: &settings.no_reply,
        to,
        reply_to,
        mail_domain: &settings.mail_domain,
        agency_name: settings
            .agency(&ticket.agency)
            .map_or(ticket.agency.as_str(), |a| a.name.as_str()),
        response_days: 0,
        due_on: ticket.due_date(),
        access_url: "",
        rating_url: None,
        site_url: &settings.public_url,
        lang: Lang::Es,
        now: site.clock.now(),
        message_id: mail.id().clone(),
        in_reply_to: None,
    }
}

/// The key of personal identifiers, where a desk has it. A desk without it (the console's)
/// sends only the mails that count nobody (an agent's reply) and leaves the others to the
/// sweeper, which has it.
pub trait MaybeIdentifiers: Send + Sync {
    fn secret(&self) -> Option<&IdentifierSecret>;
}

impl MaybeIdentifiers for IdentifierSecret {
    fn secret(&self) -> Option<&IdentifierSecret> {
        Some(self)
    }
}

impl MaybeIdentifiers for () {
    fn secret(&self) -> Option<&IdentifierSecret> {
        None
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);
/// How long an address that bounced gets no notice (SES's own suppression list covers
/// production too; this one also holds where SES is not in front).
const BOUNCED_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How many due mails one read of the queue brings.
const SWEEP_BATCH: usize = 50;
/// A sweep claims no more mail after this long, and a send is given at most
/// [`SEND_LIMIT`]: the last one ends well inside inbound-mail's 60 s timeout, so that the
/// function is never stopped in the middle of a send. What is left waits for the next
/// minute's sweep.
const SWEEP_TIME: Duration = Duration::from_secs(30);
/// The longest a send may take (SES answers in well under a second; this long is an outage),
/// inside the 15 s timeout of the functions a citizen or an agent waits on.
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// How many times an outcome is written before it is left to the lease: a sent mail whose
/// record is lost is sent again.
const SAVES: usize = 3;

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
/// with someone else's address a thousand times makes us mail them more. `count`: take one
/// of the day's answers (not when this mail took one on an earlier try).
pub(crate) async fn may_notify(
    site: &Site,
    store: &impl Throttle,
    identifiers: &IdentifierSecret,
    address: &Email,
    count: bool,
) -> Result<bool, StoreError> {
    let now = site.clock.now();
    let bounced = [bounced_key(identifiers, address)];
    if store.counts(&bounced, BOUNCED_FOR, now).await?[0] > 0 {
        return Ok(false);
    }
    if !count {
        return Ok(true);
    }
    let answers = ThrottleKey::personal("answers", &address.match_key(), identifiers);
    let limit = site.settings.mail.policy.acks_per_sender_per_day;
    store.take(&answers, DAY, now, limit).await
}

/// What one try of a queued mail came to.
pub(crate) enum Attempt {
    /// The provider took it: what it said, and what the mail's ids are indexed to.
    Sent {
        sent: ventanilla_domain::ports::SentMail,
        ticket: Box<Ticket>,
        about: MessageId,
    },
    /// Not to be sent, and why.
    Skipped(&'static str),
    /// An alert record, fanned out into the agents' mails (`alerts`).
    FannedOut,
    Failed {
        error: String,
        permanent: bool,
    },
    /// Left as it is, for the sweeper when this sender's hold ends: this desk cannot count
    /// the address, or too little of the hold is left to start a send.
    Leave,
}

impl From<StoreError> for Attempt {
    fn from(error: StoreError) -> Self {
        Attempt::Failed {
            error: error.to_string(),
            permanent: false,
        }
    }
}

/// How long a send may take from now: up to [`SEND_LIMIT`], half the lease, and a tenth of
/// the lease short of the end of this sender's hold on the mail; `None` when too little is
/// left.
fn send_limit(mail: &QueuedMail, site: &Site) -> Option<Duration> {
    let lease = site.settings.mail_queue.retry.lease;
    let left = (mail.next_try.datetime() - site.clock.now().datetime())
        .to_std()
        .ok()?
        .checked_sub(lease / 10)?;
    let limit = left.min(lease / 2).min(SEND_LIMIT);
    (limit >= Duration::from_millis(200)).then_some(limit)
}

/// What a sweep did, mail by mail.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub sent: usize,
    pub retried: usize,
    pub parked: usize,
    pub skipped: usize,
    /// Taken by another sender between the read and the claim.
    pub taken_by_others: usize,
    /// Alert records fanned out into the agents' mails (which count as mails once sent).
    pub alerts: usize,
}

impl<S, B, M, K> Desk<S, B, M, K>
where
    S: TicketStore + Throttle + MailQueue + AgentDirectory,
    B: BlobStore,
    M: Mailer,
    K: MaybeIdentifiers,
{
    /// The writer's try of a mail it has just queued with its change to `ticket`. A notice
    /// needs only the ticket and the message it is `about`, which the writer has in hand: no
    /// read on the citizen's path (a reply reads the thread for the citizen's last mail).
    /// Returns the mail's state after it: `Pending` when it waits for another try.
    pub async fn send_queued(
        &self,
        site: &Site,
        ticket: &Ticket,
        intent: &MailIntent,
        about: Option<&Message>,
    ) -> MailState {
        let mail = intent
            .clone()
            .queued(ticket.number.clone(), ticket.agency.clone());
        let known = about
            .filter(|_| intent.notice != Notice::AgentReply)
            .map(|about| (ticket.clone(), vec![about.clone()]));
        self.try_once(site, mail, known).await
    }

    /// One try of a mail this desk holds (queued by it, or claimed), and its outcome saved
    /// over the version tried; `known`: the ticket and thread, when the caller has them.
    async fn try_once(
        &self,
        site: &Site,
        mut mail: QueuedMail,
        known: Option<(Ticket, Vec<Message>)>,
    ) -> MailState {
        let attempt = self.attempt(site, &mut mail, known).await;
        // After the try, which may have taken the provider's retries: the wait counts from now.
        let now = site.clock.now();
        let mut sent = None;
        let next = match attempt {
            Attempt::Leave => return MailState::Pending,
            Attempt::Sent {
                sent: provider,
                ticket,
                about,
            } => {
                let next = mail.sent(provider.provider_id.clone(), now);
                sent = Some((provider, ticket, about));
                next
            }
            Attempt::Skipped(why) => mail.skipped(why, now),
            Attempt::FannedOut => mail.sent("fan-out".into(), now),
            Attempt::Failed { error, permanent } => {
                let next = mail.failed(&error, permanent, now, &site.settings.mail_queue.retry);
                // Masked: a provider's refusal may name the address.
                let error = next.last_error.as_deref().unwrap_or_default();
                match next.state {
                    MailState::Parked => {
                        // The alarm on AWS counts this line (template.yaml, MailParkedAlarm).
                        tracing::error!(ticket = %mail.ticket, mail = %mail.id(), notice = mail.intent.notice.as_str(), attempts = mail.attempts, error, "mail parked");
                    }
                    _ => {
                        tracing::warn!(ticket = %mail.ticket, mail = %mail.id(), attempts = mail.attempts, error, "mail not sent yet; tried again later");
                    }
                }
                next
            }
        };
        // Saved first, before the indexing a sent mail still needs: the sooner it is, the
        // smaller the window in which a sweeper could send it again.
        for save in 1..=SAVES {
            match self.store.save_mail(&next).await {
                Ok(true) => break,
                Ok(false) => {
                    tracing::warn!(ticket = %mail.ticket, mail = %mail.id(), "another sender took the mail over meanwhile");
                    break;
                }
                Err(error) if save == SAVES => {
                    // It stays as it was: tried again after its lease, with the same Message-ID.
                    tracing::error!(%error, ticket = %mail.ticket, mail = %mail.id(), "the mail's outcome was not saved");
                }
                Err(error) => {
                    tracing::warn!(%error, ticket = %mail.ticket, mail = %mail.id(), "the mail's outcome was not saved yet; again");
                }
            }
        }
        if let Some((provider, ticket, about)) = sent {
            self.index_sent(&mail, provider, &ticket, about).await;
        }
        next.state
    }

    /// What a sent mail still needs: its Message-IDs indexed to the message it is about, so
    /// that a reply to it threads there (SES gives the mail a Message-ID of its own; the
    /// local outbox keeps ours; a reply's own id was indexed with the reply), and a reply's
    /// "not yet delivered" mark cleared.
    async fn index_sent(
        &self,
        mail: &QueuedMail,
        sent: ventanilla_domain::ports::SentMail,
        ticket: &Ticket,
        about: MessageId,
    ) {
        let notice = mail.intent.notice;
        if notice.to_others() {
            // To an agent (or an address that answered an alert): no reply to it joins the
            // citizen's conversation.
            tracing::info!(ticket = %ticket.number, notice = notice.as_str(), provider_id = %sent.provider_id, "mail sent");
            return;
        }
        let mut ids = Vec::new();
        if notice != Notice::AgentReply {
            ids.push(mail.id().clone());
        }
        if sent.message_id != *mail.id() {
            ids.push(sent.message_id);
        }
        for id in ids {
            match self.store.link_mail_id(&ticket.number, about, &id).await {
                Ok(()) | Err(StoreError::AlreadyExists) => {}
                Err(error) => {
                    tracing::error!(%error, ticket = %ticket.number, "a mail id was not indexed");
                }
            }
        }
        if notice == Notice::AgentReply {
            self.mark_delivered(ticket, about).await;
        }
        tracing::info!(ticket = %ticket.number, notice = notice.as_str(), provider_id = %sent.provider_id, "mail sent");
    }

    /// The ticket and the newest page of its thread, or the whole thread when the message
    /// the mail is about is older than that page.
    pub(crate) async fn read_thread(
        &self,
        mail: &QueuedMail,
    ) -> Result<(Ticket, Vec<Message>), Attempt> {
        let (ticket, page) = match self
            .store
            .thread_page(&mail.ticket, &ThreadQuery::newest(None))
            .await
        {
            Ok(read) => read,
            Err(StoreError::NotFound) => return Err(Attempt::Skipped("the ticket is gone")),
            Err(error) => return Err(error.into()),
        };
        if page.next.is_some() && !page.items.iter().any(|m| m.id == mail.intent.about) {
            let (_, whole) = self.store.thread(&mail.ticket).await?;
            return Ok((ticket, whole));
        }
        Ok((ticket, page.items))
    }

    async fn attempt(
        &self,
        site: &Site,
        mail: &mut QueuedMail,
        known: Option<(Ticket, Vec<Message>)>,
    ) -> Attempt {
        let notice = mail.intent.notice;
        match notice {
            Notice::DeadlineWarning { point } => {
                return self.warning_attempt(site, mail, point).await;
            }
            Notice::AgentAlert { event } if mail.intent.to.is_none() => {
                return self.fan_out(site, mail, event).await;
            }
            Notice::AgentAlert { .. } | Notice::AlertsHeld { .. } => {
                return match self.agent_alert_draft(site, mail).await {
                    Ok((ticket, draft)) => self.sent_to_agent(site, mail, ticket, draft).await,
                    Err(attempt) => attempt,
                };
            }
            Notice::AgentMailRefused { crossed } => {
                return self.refusal_to_sender(site, mail, crossed).await;
            }
            _ => {}
        }
        let (ticket, thread) = match known {
            Some(known) => known,
            None => match self.read_thread(mail).await {
                Ok(read) => read,
                Err(attempt) => return attempt,
            },
        };
        if ticket.erased_at.is_some() {
            return Attempt::Skipped("the ticket's personal data was erased");
        }
        // Opened for a caller who gave no address: what is owed them is said on the phone
        // or at the counter, and the console shows it unsent.
        let Some(to) = ticket.requester.email.clone() else {
            return Attempt::Skipped("the requester has no e-mail address");
        };
        // The ticket may have moved since: its admins are the ones to see it parked.
        mail.agency = ticket.agency.clone();
        let Some(about) = thread.iter().find(|m| m.id == mail.intent.about) else {
            return Attempt::Failed {
                error: "the message it is about is not in the thread".into(),
                permanent: true,
            };
        };
        if notice.counted() {
            let Some(identifiers) = self.identifiers.secret() else {
                return Attempt::Leave;
            };
            // A bounce on every try; the day's answer only once per mail.
            match may_notify(site, &self.store, identifiers, &to, !mail.counted).await {
                Ok(true) => mail.counted = true,
                Ok(false) => {
                    tracing::info!(ticket = %ticket.number, notice = notice.as_str(), "notice not sent: the address is past its daily answers or bounced");
                    return Attempt::Skipped(
                        "the address is past its daily answers, or bounced lately",
                    );
                }
                Err(error) => return error.into(),
            }
        }
        let settings = &site.settings;
        let Some(agency) = settings.agency(&ticket.agency) else {
            return Attempt::Failed {
                error: "the ticket's agency is not configured".into(),
                permanent: true,
            };
        };
        let desk = Mailbox::new(settings.site_name.clone(), settings.support.clone());
        let access_url = access_url(site, &ticket.number, &to);
        // The ticket's last public reply asks for a rating while the ticket is finished and
        // not rated: the reply that finished it (an earlier one sent late asks for nothing).
        let rating_url = (notice == Notice::AgentReply
            && thread
                .iter()
                .rev()
                .find(|m| m.kind == MessageKind::PublicReply)
                .map(|m| m.id)
                == Some(about.id))
        .then(|| crate::rate_ticket::rating_url(site, &ticket))
        .flatten();
        // A reply answers the citizen's last mail; a notice the mail it was queued for.
        let in_reply_to = match notice {
            Notice::AgentReply => thread
                .iter()
                .rev()
                .filter(|m| m.kind == MessageKind::CitizenMessage)
                .find_map(|m| m.mail_ids().first().cloned()),
            _ => mail.intent.in_reply_to.clone(),
        };
        let cx = NoticeContext {
            // Notices come from the no-reply address and answer to the desk; what an agent
            // decided (a reply, an extension) comes from the desk.
            from: match notice {
                Notice::AgentReply | Notice::TermExtended => &desk,
                _ => &settings.no_reply,
            },
            to: &to,
            reply_to: &desk,
            mail_domain: &settings.mail_domain,
            agency_name: &agency.name,
            response_days: agency.response_days,
            due_on: ticket.due_date(),
            access_url: &access_url,
            rating_url: rating_url.as_deref(),
            site_url: &settings.public_url,
            lang: mail.intent.lang,
            now: site.clock.now(),
            message_id: mail.id().clone(),
            in_reply_to,
        };
        let mut draft = match notice {
            Notice::Acknowledgement { quote } => acknowledgement(&ticket, about, quote, cx),
            Notice::FollowUpRefused => follow_up_refused(&ticket, cx),
            Notice::AgentReply => agent_reply(&ticket, about, cx),
            Notice::TermExtended => term_extended(&ticket, cx),
            // Taken before the thread is read.
            Notice::DeadlineWarning { .. }
            | Notice::AgentAlert { .. }
            | Notice::AgentMailRefused { .. }
            | Notice::AlertsHeld { .. } => {
                return Attempt::Failed {
                    error: "not a notice to the citizen".into(),
                    permanent: true,
                };
            }
        };
        for file in &about.attachments {
            if notice != Notice::AgentReply {
                break;
            }
            match self.blobs.get(&file.blob).await {
                Ok(blob) => draft.attachments.push(MailAttachment {
                    name: file.name.clone(),
                    content_type: file.content_type.clone(),
                    bytes: blob.bytes,
                }),
                Err(error) => {
                    return Attempt::Failed {
                        error: format!("an attachment could not be read: {error}"),
                        permanent: false,
                    };
                }
            }
        }
        match self.send_within_hold(site, mail, &ticket, draft).await {
            Ok(sent) => Attempt::Sent {
                sent,
                about: about.id,
                ticket: Box::new(ticket),
            },
            Err(attempt) => attempt,
        }
    }

    /// Sends `draft` within this sender's hold on `mail`.
    async fn send_within_hold(
        &self,
        site: &Site,
        mail: &QueuedMail,
        ticket: &Ticket,
        draft: MailDraft,
    ) -> Result<ventanilla_domain::ports::SentMail, Attempt> {
        // The mail is this sender's until `next_try` (the writer's lease, or the claim's):
        // past it a sweeper may take it over. A send starts only well before then, and is cut
        // short before then.
        let Some(limit) = send_limit(mail, site) else {
            tracing::warn!(ticket = %ticket.number, mail = %mail.id(), "too little of the hold left to send; left to the sweeper");
            return Err(Attempt::Leave);
        };
        match tokio::time::timeout(limit, self.mailer.send(&draft.build())).await {
            Ok(Ok(sent)) => Ok(sent),
            Ok(Err(MailError::Rejected(why))) => Err(Attempt::Failed {
                error: format!("the mail was rejected: {why}"),
                permanent: true,
            }),
            Ok(Err(error)) => Err(Attempt::Failed {
                error: error.to_string(),
                permanent: false,
            }),
            Err(_) => Err(Attempt::Failed {
                error: "the mail provider did not answer in time".into(),
                permanent: false,
            }),
        }
    }

    /// One try of a warning to an agent (`MailIntent::to`): only the ticket is read, and no
    /// address's daily answers count.
    async fn warning_attempt(
        &self,
        site: &Site,
        mail: &mut QueuedMail,
        point: WarningPoint,
    ) -> Attempt {
        let ticket = match self.store.ticket(&mail.ticket).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Attempt::Skipped("the ticket is gone"),
            Err(error) => return error.into(),
        };
        if ticket.due_key().is_none() {
            return Attempt::Skipped("the ticket is finished");
        }
        mail.agency = ticket.agency.clone();
        let Some(to) = mail.intent.to.clone() else {
            return Attempt::Failed {
                error: "a warning without its recipient".into(),
                permanent: true,
            };
        };
        // Checked again at every try: the ticket may have gone to another agency since the
        // warning was queued, and its staff are no longer the ones to see it.
        if to.agency != ticket.agency {
            return Attempt::Skipped("the ticket has gone to another agency");
        }
        let cx = agent_context(site, mail, &ticket, &to.email, &site.settings.no_reply);
        let today = day_in_ecuador(site.clock.now());
        let draft = deadline_warning(
            &ticket,
            point,
            Mailbox::new(to.name, to.email.clone()),
            today,
            cx,
        );
        self.sent_to_agent(site, mail, ticket, draft).await
    }

    /// Sends a mail that goes to someone else than the requester.
    async fn sent_to_agent(
        &self,
        site: &Site,
        mail: &QueuedMail,
        ticket: Ticket,
        draft: MailDraft,
    ) -> Attempt {
        match self.send_within_hold(site, mail, &ticket, draft).await {
            Ok(sent) => Attempt::Sent {
                sent,
                about: mail.intent.about,
                ticket: Box::new(ticket),
            },
            Err(attempt) => attempt,
        }
    }

    /// One try of the notice that a mail answering an alert was not let in: to the address
    /// that sent it (`MailIntent::to`), saying nothing of the ticket.
    async fn refusal_to_sender(&self, site: &Site, mail: &QueuedMail, crossed: bool) -> Attempt {
        let ticket = match self.store.ticket(&mail.ticket).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Attempt::Skipped("the ticket is gone"),
            Err(error) => return error.into(),
        };
        let Some(to) = mail.intent.to.clone() else {
            return Attempt::Failed {
                error: "a refusal without its recipient".into(),
                permanent: true,
            };
        };
        let settings = &site.settings;
        let cx = NoticeContext {
            from: &settings.no_reply,
            to: &to.email,
            reply_to: &settings.no_reply,
            mail_domain: &settings.mail_domain,
            agency_name: "",
            response_days: 0,
            due_on: None,
            access_url: "",
            rating_url: None,
            site_url: &settings.public_url,
            lang: Lang::Es,
            now: site.clock.now(),
            message_id: mail.id().clone(),
            in_reply_to: mail.intent.in_reply_to.clone(),
        };
        let draft =
            agent_mail_refused(&ticket.number, crossed, Mailbox::bare(to.email.clone()), cx);
        self.sent_to_agent(site, mail, ticket, draft).await
    }

    /// Clears a sent reply's "not yet delivered" mark, on the ticket as it stands when
    /// someone changed it meanwhile. A mark lost to the races is only logged: the mail went.
    async fn mark_delivered(&self, ticket: &Ticket, reply: MessageId) {
        let marked = append(&self.store, ticket.clone(), |ticket: &Ticket| {
            Ok::<_, StoreError>(ticket.undelivered.contains(&reply).then(|| Step {
                change: TicketChange {
                    delivered: Some(reply),
                    ..TicketChange::default()
                },
                ..Step::default()
            }))
        })
        .await;
        if let Err(error) = marked {
            tracing::warn!(%error, ticket = %ticket.number, "reply sent; its delivered mark was not written");
        }
    }
}

// The sweeper can count every address: it needs the identifier secret.
impl<S, B, M> Desk<S, B, M, IdentifierSecret>
where
    S: TicketStore + Throttle + MailQueue + AgencyDirectory + AgentDirectory,
    B: BlobStore,
    M: Mailer,
{
    /// Sends the queued mails whose time has come: those whose writer did not finish
    /// (crashed, or timed out) and those waiting to be tried again. Each is claimed with a
    /// conditional write before it is sent, so two sweepers (or a sweeper and a slow
    /// writer) never both send it.
    pub async fn sweep_mail(&self) -> Result<SweepReport, StoreError> {
        let site = self.site.current(&self.store).await?;
        let lease = site.settings.mail_queue.retry.lease;
        let started = std::time::Instant::now();
        let mut report = SweepReport::default();
        'sweep: loop {
            let due = self.store.due_mail(site.clock.now(), SWEEP_BATCH).await?;
            let full = due.len() == SWEEP_BATCH;
            let mut claimed_any = false;
            // A fan-out queues the agents' mails due now: read again to send them.
            let mut fanned_out = false;
            for mail in due {
                if started.elapsed() >= SWEEP_TIME {
                    break 'sweep;
                }
                // Claimed until its lease ends, from now: its next try is then.
                let claimed = mail.claimed(site.clock.now(), lease);
                let retry = &site.settings.mail_queue.retry;
                let claimed = if claimed.attempts > retry.attempts {
                    // Its tries never came to an end (the function stopped each time): parked,
                    // not tried again.
                    tracing::error!(ticket = %mail.ticket, mail = %mail.id(), notice = mail.intent.notice.as_str(), attempts = claimed.attempts, "mail parked");
                    mail.failed("its tries never finished", true, site.clock.now(), retry)
                } else {
                    claimed
                };
                match self.store.save_mail(&claimed).await {
                    Ok(true) => claimed_any = true,
                    Ok(false) => {
                        report.taken_by_others += 1;
                        continue;
                    }
                    Err(error) => {
                        tracing::error!(%error, mail = %mail.id(), "a queued mail could not be claimed");
                        continue;
                    }
                }
                if claimed.state == MailState::Parked {
                    report.parked += 1;
                    continue;
                }
                let record = matches!(claimed.intent.notice, Notice::AgentAlert { .. })
                    && claimed.intent.to.is_none();
                fanned_out |= record;
                match self.try_once(&site, claimed, None).await {
                    MailState::Sent if record => report.alerts += 1,
                    MailState::Sent => report.sent += 1,
                    MailState::Pending => report.retried += 1,
                    MailState::Parked => report.parked += 1,
                    MailState::Skipped => report.skipped += 1,
                }
            }
            // A lagging index can show again what others took: no use reading it again.
            if (!full && !fanned_out) || !claimed_any {
                break;
            }
        }
        if report != SweepReport::default() {
            tracing::info!(?report, "mail queue swept");
        }
        Ok(report)
    }
}
