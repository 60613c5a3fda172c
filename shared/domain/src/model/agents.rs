//! Agents: who works an agency's queues, with which role, and what they may see of a ticket.
//! An agent signs in with a random bearer token that is shown once and stored only as its
//! SHA-256 hash; a leaked table gives nobody access.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::field::choice;
use crate::{AgencyCode, AgentId, FieldError, FieldProblem, Ticket, TicketNumber, Timestamp};

/// Identities the system acts under in the audit trail (the retention rule's erasures): no
/// agent may be created with one, or act under its name.
pub const SYSTEM_AGENT_IDS: [&str; 1] = [RETENTION_AGENT];

/// Who the audit trail names for erasures made by the retention rule.
pub const RETENTION_AGENT: &str = "retencion-automatica";

/// Whether `id` is one of the system's own identities.
pub fn is_system_agent(id: &AgentId) -> bool {
    SYSTEM_AGENT_IDS.contains(&id.as_str())
}

choice! {
    /// What an agent may do, each role including the one before.
    #[derive(PartialOrd, Ord)]
    pub enum Role in "role" {
        /// Works the queues of its agency.
        Agent => ("Agente", "Agent"),
        /// Also assigns, transfers and reads its agency's reports.
        Supervisor => ("Supervisor", "Supervisor"),
        /// Also manages its agency's agents and settings.
        Admin => ("Administrador", "Administrator"),
        /// Also creates agencies and changes any agency's settings: the platform's operators,
        /// not an agency's staff. Only an operator (or `ventanilla-local agent add`, the
        /// deployer's own tool) makes another.
        Operator => ("Operador de la plataforma", "Platform operator"),
    }
}

/// A bearer token: 32 random bytes, URL-safe base64, behind a recognisable prefix (so a
/// secret scanner can find one pasted where it should not be). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentToken(String);

impl AgentToken {
    const PREFIX: &'static str = "vnt_";
    const RANDOM_BYTES: usize = 32;

    /// A new token from the operating system's random source.
    pub fn generate() -> Self {
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; Self::RANDOM_BYTES];
        // ThreadRng: a CSPRNG seeded from the operating system.
        rand::rng().fill_bytes(&mut bytes);
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        AgentToken(format!("{}{text}", Self::PREFIX))
    }

    /// A token as a client presents it. Only the shape is checked here; whether it belongs to
    /// anyone is the directory's answer.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        let body = text
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| FieldError::new("token", FieldProblem::InvalidFormat))?;
        let well_formed = body.len() >= 43
            && body.len() <= 128
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if well_formed {
            Ok(AgentToken(text.to_owned()))
        } else {
            Err(FieldError::new("token", FieldProblem::InvalidFormat))
        }
    }

    pub fn hash(&self) -> TokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        TokenHash(hex::encode(digest))
    }

    /// The secret itself, to show once to the person it was made for.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(…)")
    }
}

/// What the directory keeps instead of a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub agency: AgencyCode,
    pub role: Role,
    /// A disabled agent's token opens nothing; its history stays.
    pub active: bool,
    pub token_hash: TokenHash,
    pub created_at: Timestamp,
    /// Where their notices go (deadline warnings); none: they get none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<crate::Email>,
    /// Which events they are told of by mail, and about which queues.
    #[serde(default)]
    pub alerts: AlertPrefs,
    /// An address the agent gave themselves, not theirs until they type the code mailed to
    /// it: their address receives citizens' words and answers citizens by mail, so a typo
    /// (or someone else's address) must never become it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<PendingEmail>,
}

/// An address waiting for its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmail {
    pub email: crate::Email,
    /// The SHA-256 of the agent's id and the code: the code itself is only in the mail.
    pub code_hash: String,
    pub expires_at: Timestamp,
}

impl PendingEmail {
    /// How long a code is good for.
    pub const VALID_FOR: chrono::Duration = chrono::Duration::hours(24);

    /// A new address to confirm, and its code (eight random digits) to mail to it.
    pub fn new(agent: &AgentId, email: crate::Email, now: Timestamp) -> (Self, String) {
        use rand::Rng;
        let code = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
        let pending = PendingEmail {
            email,
            code_hash: Self::hash(agent, &code),
            expires_at: now.plus(Self::VALID_FOR),
        };
        (pending, code)
    }

    fn hash(agent: &AgentId, code: &str) -> String {
        let digest = Sha256::digest(format!("{}\n{}", agent.as_str(), code.trim()).as_bytes());
        hex::encode(digest)
    }

    /// Whether `code` is this address's, still in time.
    pub fn confirms(&self, agent: &AgentId, code: &str, now: Timestamp) -> bool {
        now < self.expires_at && Self::hash(agent, code) == self.code_hash
    }
}

choice! {
    /// Whether an agent is told of an event.
    #[derive(Default)]
    pub enum Delivery in "delivery" {
        /// A mail when it happens (within the hourly cap; the rest in one summary).
        #[default]
        Immediately => ("Al momento", "Immediately"),
        /// One mail a day, in the morning, listing what happened since the last one.
        Daily => ("Resumen diario", "Daily digest"),
        Off => ("Nunca", "Never"),
    }
}

choice! {
    /// What an agent may be told of by mail.
    pub enum AlertEvent in "event" {
        /// A ticket opened in a queue they watch.
        NewTicket => ("Nueva solicitud", "New ticket"),
        /// The citizen wrote again on a ticket assigned to them (unassigned: in a queue
        /// they watch).
        FollowUp => ("Nuevo mensaje del ciudadano", "Citizen's follow-up"),
        /// A ticket transferred to their agency, in a queue they watch.
        Transferred => ("Solicitud transferida", "Ticket transferred"),
        /// A ticket's term at a warning point (the deadline warnings).
        Deadline => ("Aviso de plazo", "Deadline warning"),
    }
}

/// An agent's choices about the mail they get: per event, and the queues they watch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertPrefs {
    #[serde(default)]
    pub new_ticket: Delivery,
    #[serde(default)]
    pub follow_up: Delivery,
    #[serde(default)]
    pub transferred: Delivery,
    #[serde(default)]
    pub deadline: Delivery,
    /// The queues they watch; `None`: the default of their role (supervisors and admins the
    /// whole agency, agents none: they hear of the tickets assigned to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<crate::QueueName>>,
}

/// At most this many queues in an agent's watch list (an agency has a few).
pub const MAX_WATCHED_QUEUES: usize = 50;

impl AlertPrefs {
    pub fn delivery(&self, event: AlertEvent) -> Delivery {
        match event {
            AlertEvent::NewTicket => self.new_ticket,
            AlertEvent::FollowUp => self.follow_up,
            AlertEvent::Transferred => self.transferred,
            AlertEvent::Deadline => self.deadline,
        }
    }

    pub fn set(&mut self, event: AlertEvent, delivery: Delivery) {
        match event {
            AlertEvent::NewTicket => self.new_ticket = delivery,
            AlertEvent::FollowUp => self.follow_up = delivery,
            AlertEvent::Transferred => self.transferred = delivery,
            AlertEvent::Deadline => self.deadline = delivery,
        }
    }
}

/// How much of a ticket an agent may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Not even whether it exists.
    None,
    /// The agency transferred it away and kept a referral: read it and add notes.
    Referral,
    /// Work it: reply, note, change, transfer (as the role allows).
    Full,
}

impl Agent {
    pub fn access(&self, ticket: &Ticket) -> Access {
        if !self.active {
            Access::None
        } else if ticket.agency == self.agency {
            Access::Full
        } else if ticket.referrals.contains(&self.agency) {
            Access::Referral
        } else {
            Access::None
        }
    }

    /// The queues the agent watches, as their choice or their role's default.
    pub fn watches(&self, queue: &crate::QueueName) -> bool {
        match &self.alerts.queues {
            Some(queues) => queues.contains(queue),
            None => self.role >= Role::Supervisor,
        }
    }

    /// Whether the agent is told by mail of `event` on `ticket`, caused by `actor`: only an
    /// active agent with an address, of the agency that holds the ticket (its personal data
    /// goes to no other), never the platform's operators, never the one who caused it, and
    /// as they chose.
    pub fn is_told(&self, event: AlertEvent, ticket: &Ticket, actor: Option<&AgentId>) -> bool {
        if self.email.is_none()
            || self.role == Role::Operator
            || self.agency != ticket.agency
            || self.access(ticket) != Access::Full
            || actor == Some(&self.id)
            || self.alerts.delivery(event) == Delivery::Off
        {
            return false;
        }
        let assigned = ticket.assignee.as_ref() == Some(&self.id);
        match event {
            AlertEvent::NewTicket | AlertEvent::Transferred => {
                assigned || self.watches(&ticket.queue)
            }
            AlertEvent::FollowUp => {
                assigned || (ticket.assignee.is_none() && self.watches(&ticket.queue))
            }
            // Who is warned is the deadline rule's (`deadline_warnings::recipients`).
            AlertEvent::Deadline => true,
        }
    }

    pub fn reference(&self) -> crate::AgentRef {
        crate::AgentRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// What was done, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Read a ticket with the requester's personal data.
    ViewTicket,
    Reply,
    Note,
    Change,
    Transfer,
    /// Added, disabled or re-keyed an agent.
    ManageAgent,
    /// Created or changed an agency, its queues or their follow-up rules.
    ManageAgency,
    /// Exported a requester's personal data (their right of access).
    ExportPersonalData,
    /// Erased a requester's personal data: on request, or by the retention rule.
    ErasePersonalData,
    /// Sent a parked mail again.
    SendMailAgain,
    /// Extended a ticket's term.
    ExtendTerm,
    /// Changed a day of an agency's calendar (and recounted the terms it falls in).
    ChangeCalendar,
    /// Opened a ticket for a citizen who called, came to the counter or wrote a letter.
    OpenForCaller,
    /// Wrote or removed one of the agency's canned responses.
    ManageCannedResponses,
    /// Related two tickets.
    Relate,
    /// Merged a duplicate into a ticket of the same requester.
    Merge,
}

/// One line of the audit trail: who did what, when, to which ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub agent: AgentId,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNumber>,
    /// What changed, in a few words (never a message body).
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Choice;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_hashes() {
        let token = AgentToken::generate();
        assert!(token.expose().starts_with("vnt_"));
        // 32 bytes = 256 bits of randomness.
        assert_eq!(token.expose().len(), 4 + 43);
        assert_ne!(token, AgentToken::generate());
        let parsed = AgentToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(token.hash().as_str().len(), 64);
        assert!(!format!("{token:?}").contains(&token.expose()[4..]));
        for bad in [
            "",
            "vnt_",
            "Bearer x",
            "vnt_short",
            "abc_0123456789012345678901234567890123456789012",
        ] {
            assert!(AgentToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
        assert_eq!(Role::parse(" Supervisor ").unwrap(), Role::Supervisor);
        assert!(Role::parse("root").is_err());
    }
}

/// An agent who has a ticket open in the console, until when (a short-lived record the console
/// renews while the ticket stays open), so that colleagues see who else is on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub agent: crate::AgentRef,
    pub until: Timestamp,
}
