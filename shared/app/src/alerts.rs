//! Telling agents by mail what happened on their tickets. A change that an agent should hear
//! of (a new ticket, a citizen's follow-up, a transfer in) writes one alert record in the mail
//! queue with itself, in the same store write: nothing is lost between the change and the
//! telling. The sweeper fans the record out ([`Desk::fan_out`]): one mail per agent told of
//! it (`Agent::is_told`: their agency holds the ticket, their choices, never the actor),
//! each under an id made from the record and the agent, so that a fan-out tried again queues
//! each mail once. At most [`ALERTS_PER_HOUR`] alerts per agent an hour: the rest are
//! counted, and one mail at the end of the hour says how many.

use std::time::Duration;

use ventanilla_domain::model::agents::{AlertEvent, Delivery};
use ventanilla_domain::model::mail::{MailMessageId, Mailbox};
use ventanilla_domain::model::mail_queue::{HeldAlert, MailIntent, Notice, QueuedMail, Recipient};
use ventanilla_domain::ports::{
    AgentDirectory, StoreError, Throttle, ThrottleKey, TicketStore, window_start,
};
use ventanilla_domain::rules::notices::{agent_alert, alerts_held};
use ventanilla_domain::{Choice, MessageId, Timestamp};

use crate::Site;
use crate::sending::{Attempt, agent_context};

/// Which summary of alerts: the hour's overflow, or the daily digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    Hourly,
    Daily,
}

/// The digest goes at 08:00 in Ecuador (UTC−5, no summer time), before the working day.
const DIGEST_HOUR_UTC: i64 = 13;

impl Summary {
    fn name(self) -> &'static str {
        match self {
            Summary::Hourly => "alerts-held",
            Summary::Daily => "alerts-daily",
        }
    }

    /// When the summary that takes an alert held at `at` is sent: strictly after `at`.
    fn due_after(self, at: Timestamp) -> Timestamp {
        let seconds = at.unix_seconds();
        let next = match self {
            Summary::Hourly => window_start(HOUR, at) + 3600,
            Summary::Daily => {
                let offset = DIGEST_HOUR_UTC * 3600;
                (seconds - offset).div_euclid(86_400) * 86_400 + 86_400 + offset
            }
        };
        Timestamp::from_unix_millis(next * 1000).unwrap_or(at)
    }
}

/// How many times an alert is tried on a summary that others change at the same moment.
const SUMMARY_TRIES: u64 = 10;

/// At most this many alerts per agent an hour (a flood of new tickets, a mail loop with a
/// citizen's robot): the rest are summed up in one mail when the hour ends.
pub const ALERTS_PER_HOUR: u64 = 20;
const HOUR: Duration = Duration::from_secs(3600);

fn sent_key(agent: &ventanilla_domain::AgentId) -> ThrottleKey {
    ThrottleKey::new("alerts", agent.as_str())
}

/// A mail to `recipient` made from the record `record`: its id from the record and the
/// agent (the same on every fan-out), due at once.
fn per_agent(
    site: &Site,
    record: &QueuedMail,
    notice: Notice,
    recipient: Recipient,
    due: Timestamp,
) -> QueuedMail {
    let agent = recipient.agent.as_ref().map_or("", |a| a.as_str());
    let key = format!("{}|{agent}", record.id());
    let id = alert_id(site, record, &key);
    MailIntent {
        id,
        notice,
        queued_at: site.clock.now(),
        writer_until: due,
        to: Some(recipient),
        actor: None,
        ..record.intent.clone()
    }
    .queued(record.ticket.clone(), record.agency.clone())
}

fn alert_id(site: &Site, record: &QueuedMail, key: &str) -> MailMessageId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex = hex::encode(&digest[..16]);
    MailMessageId::alert(&record.ticket, &hex, &site.settings.mail_domain)
        .unwrap_or_else(|| site.derived_mail_id("alert", key))
}

impl<S, B, M, K> crate::Desk<S, B, M, K>
where
    S: TicketStore + Throttle + ventanilla_domain::ports::MailQueue + AgentDirectory,
    B: ventanilla_domain::ports::BlobStore,
    M: ventanilla_domain::ports::Mailer,
    K: crate::sending::MaybeIdentifiers,
{
    /// Fans the alert record `record` out: queues the mail each agent told of `event` gets
    /// (the sweeper sends them next), or counts it past their hourly cap.
    pub(crate) async fn fan_out(
        &self,
        site: &Site,
        record: &QueuedMail,
        event: AlertEvent,
    ) -> Attempt {
        let ticket = match self.store.ticket(&record.ticket).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Attempt::Skipped("the ticket is gone"),
            Err(error) => return error.into(),
        };
        if ticket.erased_at.is_some() {
            return Attempt::Skipped("the ticket's personal data was erased");
        }
        let agents = match self.store.agents(&ticket.agency).await {
            Ok(agents) => agents,
            Err(error) => return error.into(),
        };
        let now = site.clock.now();
        let mut told = 0;
        let mut failed: Option<StoreError> = None;
        for agent in agents
            .iter()
            .filter(|a| a.is_told(event, &ticket, record.intent.actor.as_ref()))
        {
            let Some(email) = agent.email.clone() else {
                continue;
            };
            let recipient = Recipient {
                agent: Some(agent.id.clone()),
                agency: agent.agency.clone(),
                name: agent.name.clone(),
                email,
            };
            let held = HeldAlert {
                ticket: ticket.number.clone(),
                event,
            };
            let queued = if agent.alerts.delivery(event) == Delivery::Daily {
                self.hold(held, recipient, Summary::Daily, now).await
            } else {
                let mail = per_agent(site, record, record.intent.notice, recipient.clone(), now);
                match self.store.queued_mail(mail.id()).await {
                    // Queued by an earlier try of this fan-out.
                    Ok(_) => continue,
                    Err(StoreError::NotFound) => self.within_cap(&mail, held, recipient, now).await,
                    Err(error) => Err(error),
                }
            };
            // The others are told all the same; the record is tried again for the one that
            // failed (those told already are not told twice).
            match queued {
                Ok(()) => told += 1,
                Err(error) => {
                    tracing::warn!(%error, agent = %agent.id.as_str(), "an alert not queued; the fan-out is tried again");
                    failed.get_or_insert(error);
                }
            }
        }
        tracing::info!(ticket = %ticket.number, event = event.wire(), told, "alert fanned out");
        match failed {
            Some(error) => error.into(),
            None => Attempt::FannedOut,
        }
    }

    /// Queues `mail` if its agent has alerts left this hour; else holds it for the mail that
    /// sums the hour's held alerts up when it ends.
    async fn within_cap(
        &self,
        mail: &QueuedMail,
        held: HeldAlert,
        recipient: Recipient,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(agent) = recipient.agent.clone() else {
            return Ok(());
        };
        let sent = sent_key(&agent);
        if self.store.take(&sent, HOUR, now, ALERTS_PER_HOUR).await? {
            return match self.store.queue_mail(mail).await {
                Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
                Err(error) => {
                    self.store.release(&sent, HOUR, now).await?;
                    Err(error)
                }
            };
        }
        self.hold(held, recipient, Summary::Hourly, now).await
    }

    /// Adds `held` to the summary its agent gets next of `kind`: the hour's, at its end; the
    /// daily digest, at 08:00 in Ecuador. One summary per agent and period, whose id comes
    /// from both (not an alert's id: an answer to it answers no ticket). A summary already
    /// taken by a sender is not changed under it: the alert goes to the next period's.
    pub(crate) async fn hold(
        &self,
        held: HeldAlert,
        recipient: Recipient,
        kind: Summary,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(agent) = recipient.agent.clone() else {
            return Ok(());
        };
        let site = &self.site;
        let mut due = kind.due_after(now);
        // A lost race is tried again on the same summary; only one a sender has taken sends
        // the alert on to the next period's.
        let mut tries = 0;
        let mut periods = 0;
        while tries < SUMMARY_TRIES && periods < 2 {
            tries += 1;
            // The agency is part of it: an agent who moved gets their new agency's alerts in
            // a summary of its own.
            let key = format!(
                "{}|{}|{}",
                agent.as_str(),
                recipient.agency.as_str(),
                due.unix_seconds()
            );
            let mut intent = site.mail_intent(
                site.derived_mail_id(kind.name(), &key),
                Notice::AlertsHeld {
                    daily: kind == Summary::Daily,
                },
                MessageId::UNSET,
                ventanilla_domain::Lang::Es,
                None,
            );
            intent.writer_until = due;
            intent.to = Some(recipient.clone());
            intent.held = 1;
            intent.held_alerts = vec![held.clone()];
            let summary = intent.queued(held.ticket.clone(), recipient.agency.clone());
            match self.store.queue_mail(&summary).await {
                Ok(()) => return Ok(()),
                Err(StoreError::AlreadyExists) => {}
                Err(error) => return Err(error),
            }
            // It exists: one more on it, while no sender has taken it (a change under a
            // sender would make it lose its hold).
            let current = self.store.queued_mail(summary.id()).await?;
            if !current.untouched() {
                due = kind.due_after(due);
                periods += 1;
                continue;
            }
            let Some(next) = current.one_more_held(held.clone()) else {
                return Ok(());
            };
            if self.store.save_mail(&next).await? {
                return Ok(());
            }
            // Apart, with a little chance in it: contenders do not meet again in step.
            let jitter = {
                use std::hash::{BuildHasher, Hasher};
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish()
                    % 8
            };
            tokio::time::sleep(Duration::from_millis(5 * tries + jitter)).await;
        }
        // Never dropped: the fan-out (or the warning) fails and is tried again; the alerts it
        // held already are not counted twice (`one_more_held`).
        Err(StoreError::unavailable(
            "an alert could not be added to its summary: others kept changing it",
        ))
    }

    /// Whom an agent's mail goes to, checked again at every try: an active agent, still of
    /// the agency that holds the ticket (it may have been transferred since, or they moved),
    /// at the address they have now (none: nothing is sent); with them as they are now.
    async fn still_told(
        &self,
        mail: &QueuedMail,
        ticket: &ventanilla_domain::Ticket,
    ) -> Result<(Recipient, Option<ventanilla_domain::model::agents::Agent>), Attempt> {
        let about_ticket = !matches!(mail.intent.notice, Notice::AlertsHeld { .. });
        let Some(to) = mail.intent.to.clone() else {
            return Err(Attempt::Failed {
                error: "an agent's mail without its recipient".into(),
                permanent: true,
            });
        };
        if about_ticket && to.agency != ticket.agency {
            return Err(Attempt::Skipped("the ticket has gone to another agency"));
        }
        let Some(id) = &to.agent else {
            return Ok((to, None));
        };
        match self.store.agent(id).await {
            Ok(agent) if agent.active && agent.agency == to.agency => match &agent.email {
                Some(email) => {
                    let to = Recipient {
                        email: email.clone(),
                        name: agent.name.clone(),
                        ..to
                    };
                    Ok((to, Some(agent)))
                }
                None => Err(Attempt::Skipped("the agent has no address any more")),
            },
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Attempt::Skipped("the agent is disabled or moved"))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The tickets of a summary's lines still the agent's to hear of: not erased, still at
    /// the agency they were told as one of.
    async fn still_theirs(
        &self,
        held: &[HeldAlert],
        to: &Recipient,
        agent: Option<&ventanilla_domain::model::agents::Agent>,
    ) -> Result<Vec<(ventanilla_domain::Ticket, AlertEvent)>, Attempt> {
        let mut tickets = Vec::with_capacity(held.len());
        for alert in held {
            // An event they have turned off since is not told.
            if agent.is_some_and(|a| a.alerts.delivery(alert.event) == Delivery::Off) {
                continue;
            }
            match self.store.ticket(&alert.ticket).await {
                // A deadline on a ticket answered meanwhile is no news.
                Ok(ticket)
                    if alert.event == AlertEvent::Deadline && ticket.status.is_finished() => {}
                Ok(ticket) if ticket.erased_at.is_none() && ticket.agency == to.agency => {
                    tickets.push((ticket, alert.event));
                }
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(tickets)
    }

    /// The draft of an alert to one agent, or of the summary of their held alerts.
    pub(crate) async fn agent_alert_draft(
        &self,
        site: &Site,
        mail: &mut QueuedMail,
    ) -> Result<
        (
            ventanilla_domain::Ticket,
            ventanilla_domain::model::mail::MailDraft,
        ),
        Attempt,
    > {
        let summary = matches!(mail.intent.notice, Notice::AlertsHeld { .. });
        // A summary quotes no message: its ticket alone (one of its lines) is read.
        let (ticket, thread) = if summary {
            match self.store.ticket(&mail.ticket).await {
                Ok(ticket) => (ticket, Vec::new()),
                Err(StoreError::NotFound) => return Err(Attempt::Skipped("the ticket is gone")),
                Err(error) => return Err(error.into()),
            }
        } else {
            self.read_thread(mail).await?
        };
        if ticket.erased_at.is_some() && !summary {
            return Err(Attempt::Skipped("the ticket's personal data was erased"));
        }
        let (to, agent) = self.still_told(mail, &ticket).await?;
        if let (Notice::AgentAlert { event }, Some(agent)) = (mail.intent.notice, &agent)
            && agent.alerts.delivery(event) == Delivery::Off
        {
            return Err(Attempt::Skipped("the agent turned this alert off"));
        }
        if !matches!(mail.intent.notice, Notice::AlertsHeld { .. }) {
            mail.agency = ticket.agency.clone();
        }
        let settings = &site.settings;
        let desk = Mailbox::new(settings.site_name.clone(), settings.support.clone());
        // An alert is answered to the support address (`mail_answer`); a summary is not.
        let reply_to = if matches!(mail.intent.notice, Notice::AlertsHeld { .. }) {
            &settings.no_reply
        } else {
            &desk
        };
        let cx = agent_context(site, mail, &ticket, &to.email, reply_to);
        let mailbox = Mailbox::new(to.name.clone(), to.email.clone());
        let draft = match mail.intent.notice {
            Notice::AgentAlert { event } => {
                let about = thread.iter().find(|m| m.id == mail.intent.about);
                agent_alert(&ticket, event, about, mailbox, cx)
            }
            Notice::AlertsHeld { daily } => {
                if to.agent.is_none() || mail.intent.held == 0 {
                    return Err(Attempt::Skipped("a summary without its agent"));
                }
                let tickets = self
                    .still_theirs(&mail.intent.held_alerts, &to, agent.as_ref())
                    .await?;
                let dropped = mail.intent.held_alerts.len() - tickets.len();
                let held = mail.intent.held.saturating_sub(dropped as u64);
                if held == 0 {
                    return Err(Attempt::Skipped("nothing left in the summary"));
                }
                let lines: Vec<_> = tickets.iter().map(|(t, e)| (t, *e)).collect();
                alerts_held(daily, held, &lines, ALERTS_PER_HOUR, mailbox, cx)
            }
            _ => return Err(Attempt::Skipped("not a mail to an agent")),
        };
        Ok((ticket, draft))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn the_digest_goes_at_eight_in_ecuador_and_the_hours_summary_when_it_ends() {
        let daily = |t| Summary::Daily.due_after(at(t));
        assert_eq!(daily("2027-03-01T15:05:00Z"), at("2027-03-02T13:00:00Z"));
        assert_eq!(daily("2027-03-01T12:59:59Z"), at("2027-03-01T13:00:00Z"));
        assert_eq!(
            daily("2027-03-01T13:00:00Z"),
            at("2027-03-02T13:00:00Z"),
            "strictly after"
        );
        // 23:30 in Ecuador is the next day in UTC: still the next morning's.
        assert_eq!(daily("2027-03-02T04:30:00Z"), at("2027-03-02T13:00:00Z"));
        let hourly = |t| Summary::Hourly.due_after(at(t));
        assert_eq!(hourly("2027-03-01T15:05:00Z"), at("2027-03-01T16:00:00Z"));
        assert_eq!(hourly("2027-03-01T16:00:00Z"), at("2027-03-01T17:00:00Z"));
    }
}
