//! The mail queue, Ventanilla's durable outbox: every automatic mail the site owes someone
//! (an acknowledgement, a refusal notice, an agent's reply) is written as a [`QueuedMail`]
//! in the same store write as the change that causes it, with its stable Message-ID. The
//! writer sends it right away; a sweeper sends what is still pending after the writer's
//! lease, with growing waits, and parks what keeps failing. Every change of a queued mail is
//! a new version written only over the one it was made from, so two senders never both
//! take it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::agents::AlertEvent;
use crate::model::term::WarningPoint;

use crate::model::lang::Lang;
use crate::model::mail::MailMessageId;
use crate::model::ticket::MessageId;
use crate::model::time::Timestamp;
use crate::model::values::{AgencyCode, TicketNumber};

/// Which automatic mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Notice {
    /// "We received your request", with what the first message said when `quote` (never to
    /// an address that may not be the one who wrote it).
    Acknowledgement { quote: bool },
    /// "Your ticket is closed; your mail was not added".
    FollowUpRefused,
    /// An agent's public reply, sent from the support address.
    AgentReply,
    /// "We extended the term to answer you" (a supervisor's decision).
    TermExtended,
    /// To an agent: a ticket's term is at a warning point (`MailIntent::to` names them).
    DeadlineWarning { point: WarningPoint },
    /// To an agent (`MailIntent::to`): something happened on a ticket. Without `to`, the
    /// record the change writes, which the sweeper fans out to the agents told of it.
    AgentAlert { event: AlertEvent },
    /// To whoever answered an alert by mail without being let to (`MailIntent::to`): their
    /// mail was not added. Says nothing of the ticket. `crossed`: it was an agent's answer
    /// to an alert the ticket has moved past (another answer, the citizen's new mail).
    AgentMailRefused {
        #[serde(default)]
        crossed: bool,
    },
    /// To an agent (`MailIntent::to`): the alerts not sent one by one, listed
    /// (`MailIntent::held_alerts`): at the end of an hour in which their alerts passed the
    /// hourly cap, or each morning for the events they chose a daily digest of (`daily`).
    AlertsHeld {
        #[serde(default)]
        daily: bool,
    },
}

impl Notice {
    /// Whether it counts against the address's daily answers and waits while the address
    /// bounces: what the site sends on its own to a citizen does; what an agent decided (a
    /// reply, an extension) and what goes to agents does not.
    pub fn counted(self) -> bool {
        !matches!(
            self,
            Notice::AgentReply
                | Notice::TermExtended
                | Notice::DeadlineWarning { .. }
                | Notice::AgentAlert { .. }
                | Notice::AgentMailRefused { .. }
                | Notice::AlertsHeld { .. }
        )
    }

    /// Whether it goes to someone else than the ticket's requester (`MailIntent::to`): no
    /// reply to it joins the citizen's conversation.
    pub fn to_others(self) -> bool {
        matches!(
            self,
            Notice::DeadlineWarning { .. }
                | Notice::AgentAlert { .. }
                | Notice::AgentMailRefused { .. }
                | Notice::AlertsHeld { .. }
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Acknowledgement { .. } => "acknowledgement",
            Notice::FollowUpRefused => "follow-up-refused",
            Notice::AgentReply => "agent-reply",
            Notice::TermExtended => "term-extended",
            Notice::DeadlineWarning { .. } => "deadline-warning",
            Notice::AgentAlert { .. } => "agent-alert",
            Notice::AgentMailRefused { .. } => "agent-mail-refused",
            Notice::AlertsHeld { .. } => "alerts-held",
        }
    }
}

/// A mail owed, as the change that causes it writes it (the ticket's number is the store's
/// to give when the change opens the ticket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailIntent {
    /// Its Message-ID, the same on every try, so that a mail sent twice after a crash is one
    /// mail to the receiver.
    pub id: MailMessageId,
    pub notice: Notice,
    /// The message it answers (an acknowledgement: the first; a refusal: the thread's last)
    /// or carries (a reply): a reply to the mail threads to it.
    pub about: MessageId,
    pub lang: Lang,
    /// The citizen's mail it answers, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<MailMessageId>,
    pub queued_at: Timestamp,
    /// Until then it is the writer's to send (right after its write); then the sweeper's.
    pub writer_until: Timestamp,
    /// Whom it goes to when not the ticket's requester: an agent, for a warning or an alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Recipient>,
    /// The agent whose action it reports (an alert is never sent to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::AgentId>,
    /// How many alerts a summary of held alerts (`Notice::AlertsHeld`) stands for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held: u64,
    /// Which, the first [`MAX_LISTED_ALERTS`] of them, once each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_alerts: Vec<HeldAlert>,
}

/// One line of a summary of alerts: what happened on which ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAlert {
    pub ticket: TicketNumber,
    pub event: AlertEvent,
}

/// A summary lists at most this many alerts (it still counts the rest): the queued mail
/// stays small, and its sending reads at most this many tickets.
pub const MAX_LISTED_ALERTS: usize = 100;

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// Someone a mail goes to besides the requester: an agent of the ticket's agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// `None`: an address that answered an alert without being an agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::AgentId>,
    /// The agency they were told as one of: a ticket that has left it is not theirs to hear
    /// about.
    pub agency: AgencyCode,
    pub name: String,
    pub email: crate::Email,
}

impl MailIntent {
    /// The queued mail the store writes for the ticket `ticket`, held by `agency`: its first
    /// try is the writer's, who holds it until `writer_until`.
    pub fn queued(self, ticket: TicketNumber, agency: AgencyCode) -> QueuedMail {
        QueuedMail {
            ticket,
            agency,
            state: MailState::Pending,
            attempts: 1,
            next_try: self.writer_until,
            version: 1,
            counted: false,
            last_error: None,
            provider_id: None,
            finished_at: None,
            intent: self,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailState {
    /// Waiting for a try (or being tried until `next_try`).
    Pending,
    /// The provider took it.
    Sent,
    /// Not to be sent: the address is past its daily answers or bounced, or the ticket's
    /// personal data was erased before it went.
    Skipped,
    /// It kept failing: an admin looks at it and sends it again, or not.
    Parked,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sent => "sent",
            MailState::Skipped => "skipped",
            MailState::Parked => "parked",
        }
    }
}

/// How the queue retries: growing waits from `first_retry`, at most `attempts` tries, and
/// the time a taker holds a mail (longer than a send may take).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_retry: Duration,
    pub longest_wait: Duration,
    pub attempts: u32,
    pub lease: Duration,
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed try: doubling from `first_retry`.
    pub fn wait(&self, attempts: u32) -> Duration {
        let doubled = self
            .first_retry
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        doubled.min(self.longest_wait)
    }
}

/// A mail in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedMail {
    pub ticket: TicketNumber,
    /// The agency that held the ticket when the mail was last tried: whose admins see it
    /// parked.
    pub agency: AgencyCode,
    #[serde(flatten)]
    pub intent: MailIntent,
    pub state: MailState,
    /// Tries taken so far (the writer's first included).
    pub attempts: u32,
    /// When a pending mail may be taken next.
    pub next_try: Timestamp,
    /// Raised by every change; a change is written only over the version it was made from.
    pub version: u32,
    /// Its send was counted against the address's daily answers already.
    #[serde(default)]
    pub counted: bool,
    /// What the last failed try said, addresses masked (for admins and the logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The provider's id of the mail, once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
}

/// How much of a provider's error a queued mail keeps.
const ERROR_CHARS: usize = 300;

/// A provider's error without the addresses it may name (SES's refusals quote the
/// recipient): every word with an `@` in it is masked, and the text is cut short.
pub fn masked_error(error: &str) -> String {
    let masked: Vec<&str> = error
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[dirección]"
            } else {
                word
            }
        })
        .collect();
    masked.join(" ").chars().take(ERROR_CHARS).collect()
}

impl QueuedMail {
    pub fn id(&self) -> &MailMessageId {
        &self.intent.id
    }

    /// Whether a sweeper may take it now.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.state == MailState::Pending && self.next_try <= now
    }

    fn next(&self) -> QueuedMail {
        QueuedMail {
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// Whether it is as it was queued: no sender has taken it, nor an admin sent it again.
    pub fn untouched(&self) -> bool {
        self.state == MailState::Pending
            && self.attempts == 1
            && self.next_try == self.intent.writer_until
    }

    /// A summary of held alerts standing for one more, `alert`; `None` when it already
    /// lists it (a fan-out tried again, a second follow-up on the same ticket).
    pub fn one_more_held(&self, alert: HeldAlert) -> Option<QueuedMail> {
        if self.intent.held_alerts.contains(&alert) {
            return None;
        }
        let mut next = self.next();
        next.intent.held += 1;
        if next.intent.held_alerts.len() < MAX_LISTED_ALERTS {
            next.intent.held_alerts.push(alert);
        }
        Some(next)
    }

    /// Taken by a sweeper for one more try, held for `lease`.
    pub fn claimed(&self, now: Timestamp, lease: Duration) -> QueuedMail {
        QueuedMail {
            attempts: self.attempts + 1,
            next_try: now.plus(chrono_of(lease)),
            ..self.next()
        }
    }

    pub fn sent(&self, provider_id: String, now: Timestamp) -> QueuedMail {
        QueuedMail {
            state: MailState::Sent,
            provider_id: Some(provider_id),
            finished_at: Some(now),
            last_error: None,
            ..self.next()
        }
    }

    pub fn skipped(&self, why: &str, now: Timestamp) -> QueuedMail {
        QueuedMail {
            state: MailState::Skipped,
            last_error: Some(why.to_owned()),
            finished_at: Some(now),
            ..self.next()
        }
    }

    /// After a failed try: tried again after the policy's wait, or parked when the tries are
    /// used up or the provider refused it for good (`permanent`).
    pub fn failed(
        &self,
        error: &str,
        permanent: bool,
        now: Timestamp,
        policy: &RetryPolicy,
    ) -> QueuedMail {
        let last_error = Some(masked_error(error));
        if permanent || self.attempts >= policy.attempts {
            return QueuedMail {
                state: MailState::Parked,
                last_error,
                finished_at: Some(now),
                ..self.next()
            };
        }
        QueuedMail {
            next_try: now.plus(chrono_of(policy.wait(self.attempts))),
            last_error,
            ..self.next()
        }
    }

    /// An admin sends a parked mail again: a fresh round of tries, starting now. (Its daily
    /// answer stays counted; a bounce is checked again on every try.)
    pub fn requeued(&self, now: Timestamp) -> QueuedMail {
        QueuedMail {
            state: MailState::Pending,
            attempts: 0,
            next_try: now,
            finished_at: None,
            ..self.next()
        }
    }
}

fn chrono_of(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn mail() -> QueuedMail {
        MailIntent {
            id: MailMessageId::parse("a@ventanilla.example").unwrap(),
            notice: Notice::Acknowledgement { quote: false },
            about: MessageId(uuid::Uuid::from_u128(7)),
            lang: Lang::Es,
            in_reply_to: None,
            queued_at: at("2027-03-01T10:00:00Z"),
            writer_until: at("2027-03-01T10:02:00Z"),
            to: None,
            actor: None,
            held: 0,
            held_alerts: Vec::new(),
        }
        .queued(
            TicketNumber::parse("MDT-REQ-2027-00001").unwrap(),
            AgencyCode::parse("MDT").unwrap(),
        )
    }

    #[test]
    fn a_summary_lists_each_alert_once_and_counts_past_what_it_lists() {
        let ticket = |n: usize| TicketNumber::parse(&format!("MDT-SC-2027-{n:05}")).unwrap();
        let alert = |n| HeldAlert {
            ticket: ticket(n),
            event: AlertEvent::FollowUp,
        };
        let mut summary = mail();
        summary.intent.held = 1;
        summary.intent.held_alerts = vec![alert(1)];
        assert!(
            summary.one_more_held(alert(1)).is_none(),
            "a fan-out tried again"
        );
        for n in 2..=MAX_LISTED_ALERTS + 5 {
            summary = summary.one_more_held(alert(n)).unwrap();
        }
        assert_eq!(summary.intent.held, (MAX_LISTED_ALERTS + 5) as u64);
        assert_eq!(summary.intent.held_alerts.len(), MAX_LISTED_ALERTS);
        assert_eq!(
            summary.version,
            mail().version + (MAX_LISTED_ALERTS + 4) as u32
        );
    }

    const POLICY: RetryPolicy = RetryPolicy {
        first_retry: Duration::from_secs(60),
        longest_wait: Duration::from_secs(3600),
        attempts: 4,
        lease: Duration::from_secs(120),
    };

    #[test]
    fn the_writer_holds_a_new_mail_until_its_lease_ends() {
        let mail = mail();
        assert_eq!((mail.attempts, mail.version), (1, 1));
        assert!(!mail.is_due(at("2027-03-01T10:01:59Z")));
        assert!(mail.is_due(at("2027-03-01T10:02:00Z")));
    }

    #[test]
    fn failures_wait_longer_each_time_then_park() {
        let now = at("2027-03-01T10:05:00Z");
        let mut mail = mail();
        let mut waits = Vec::new();
        while mail.state == MailState::Pending {
            mail = mail.failed("SES throttled", false, now, &POLICY);
            if mail.state == MailState::Pending {
                waits.push((mail.next_try.unix_seconds() - now.unix_seconds()) / 60);
                mail = mail.claimed(mail.next_try, POLICY.lease);
            }
        }
        assert_eq!(waits, [1, 2, 4]);
        assert_eq!(mail.state, MailState::Parked);
        assert_eq!(mail.attempts, 4);
        assert_eq!(mail.last_error.as_deref(), Some("SES throttled"));
        assert_eq!(POLICY.wait(30), Duration::from_secs(3600), "capped");
    }

    #[test]
    fn a_refusal_for_good_parks_at_once_and_every_change_is_a_new_version() {
        let mail = mail();
        let parked = mail.failed(&"x".repeat(5000), true, at("2027-03-01T10:00:01Z"), &POLICY);
        assert_eq!(parked.state, MailState::Parked);
        assert_eq!(parked.last_error.as_ref().unwrap().len(), ERROR_CHARS);
        let refused = mail.failed(
            "Email address is not verified. The following identities failed the check in region US-EAST-1: maria.perez@example.com, <ana@correo.ec>",
            true,
            at("2027-03-01T10:00:01Z"),
            &POLICY,
        );
        let said = refused.last_error.unwrap();
        assert!(!said.contains('@'), "{said}");
        assert!(said.starts_with("Email address is not verified."), "{said}");
        let again = parked.requeued(at("2027-03-01T11:00:00Z"));
        assert!(again.is_due(at("2027-03-01T11:00:00Z")));
        assert_eq!((again.attempts, again.version), (0, 3));
        let sent = again.sent("ses-1".into(), at("2027-03-01T11:00:01Z"));
        assert_eq!(
            (sent.state, sent.version, sent.last_error),
            (MailState::Sent, 4, None)
        );
    }

    #[test]
    fn a_queued_mail_round_trips_through_json() {
        let mail = mail().skipped("bounced", at("2027-03-01T10:00:01Z"));
        let json = serde_json::to_string(&mail).unwrap();
        assert!(json.contains("\"kind\":\"acknowledgement\""), "{json}");
        assert_eq!(serde_json::from_str::<QueuedMail>(&json).unwrap(), mail);
    }
}
