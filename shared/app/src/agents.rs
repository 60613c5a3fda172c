//! Agents: who may work on an agency's tickets, with which role.

use ventanilla_domain::Choice;
use ventanilla_domain::model::agents::{
    Agent, AgentToken, AlertEvent, AlertPrefs, AuditAction, Delivery, MAX_WATCHED_QUEUES,
    PendingEmail, Role, is_system_agent,
};
use ventanilla_domain::model::field::display_name;
use ventanilla_domain::model::mail::Mailbox;
use ventanilla_domain::ports::{AgentDirectory, Clock, StoreError};
use ventanilla_domain::ports::{Mailer, ThrottleKey};
use ventanilla_domain::rules::notices::address_code;
use ventanilla_domain::{
    AgencyCode, AgentId, Email, FieldError, FieldErrors, FieldProblem, QueueName,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// Makes an agent with a fresh token: the one way agents come to be, used by the admin API
/// and by `ventanilla-local agent add`.
pub async fn create(
    store: &impl AgentDirectory,
    clock: &dyn Clock,
    id: AgentId,
    name: String,
    agency: AgencyCode,
    role: Role,
    email: Option<Email>,
) -> Result<(Agent, AgentToken), StoreError> {
    // The system's own identities are taken, for good (the audit trail names them).
    if is_system_agent(&id) {
        return Err(StoreError::AlreadyExists);
    }
    let token = AgentToken::generate();
    let agent = Agent {
        id,
        name,
        agency,
        role,
        active: true,
        token_hash: token.hash(),
        created_at: clock.now(),
        email,
        alerts: AlertPrefs::default(),
        pending_email: None,
    };
    store.add_agent(&agent).await?;
    Ok((agent, token))
}

/// An agent to make, as an admin asked: parsed here so that every bad field is named.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewAgentRequest {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `agent` when absent.
    pub role: Option<String>,
    /// Where their notices go (deadline warnings); none when absent.
    pub email: Option<String>,
}

/// An agent's choices of the mail they get, as sent: each event `immediately`, `daily` or `off`
/// (absent: as it is), and the queues they watch (`null`: their role's default).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AlertsRequest {
    pub new_ticket: Option<String>,
    pub follow_up: Option<String>,
    pub transferred: Option<String>,
    pub deadline: Option<String>,
    #[serde(deserialize_with = "present")]
    pub queues: Option<Option<Vec<String>>>,
}

/// A field sent as `null` is `Some(None)`; one left out, `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// At most this many wrong codes an hour per agent: eight digits are not guessed in five.
const CODE_TRIES_PER_HOUR: u64 = 5;
/// At most this many codes mailed an hour per agent.
const CODE_MAILS_PER_HOUR: u64 = 5;

impl<S: AgentPorts, B, M: Mailer> Session<S, B, M> {
    /// Sets (or, with `None` or an empty text, removes) the e-mail address agent `id`'s
    /// alerts and warnings go to, and that may answer citizens by mail. An admin sets those
    /// of the agents they manage; an agent's own new address is theirs only once they type
    /// the code mailed to it (`confirm_email`): until then it is `pending_email`.
    pub async fn set_agent_email(&self, id: &str, email: Option<&str>) -> Result<Agent, AppError> {
        let email = match email.map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(Email::parse(text).map_err(AppError::invalid)?),
        };
        let own = AgentId::parse(id).is_ok_and(|id| id == self.agent.id);
        let mut agent = if own {
            // Read again: the record as stored, not as this request found it.
            self.desk.store.agent(&self.agent.id).await?
        } else {
            self.managed_agent(id).await?
        };
        match email {
            Some(email) if own && agent.email.as_ref() != Some(&email) => {
                let now = self.site.clock.now();
                // A few codes an hour: the mail goes to any address typed.
                let sends = ThrottleKey::new("address-code-mails", agent.id.as_str());
                let hour = std::time::Duration::from_secs(3600);
                if !self
                    .desk
                    .store
                    .take(&sends, hour, now, CODE_MAILS_PER_HOUR)
                    .await?
                {
                    return Err(AppError::TooMany { retry_after: hour });
                }
                let (pending, code) = PendingEmail::new(&agent.id, email.clone(), now);
                let settings = &self.site.settings;
                let draft = address_code(
                    &code,
                    Mailbox::new(agent.name.clone(), email),
                    &settings.no_reply,
                    &settings.public_url,
                    self.site.new_mail_id(),
                    now,
                );
                // Sent before it is saved: a code nobody got confirms nothing.
                self.desk
                    .mailer
                    .send(&draft.build())
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "an address's code was not sent");
                        AppError::Store(StoreError::unavailable(error.to_string()))
                    })?;
                // Read again after the send: what an admin changed meanwhile (a new token, a
                // disable) stays.
                agent = self.desk.store.agent(&agent.id).await?;
                agent.pending_email = Some(pending);
                self.save_managed(
                    &agent,
                    format!("new address of {} to confirm", agent.id.as_str()),
                )
                .await?;
            }
            email => {
                agent.email = email;
                agent.pending_email = None;
                self.save_managed(&agent, format!("e-mail address of {}", agent.id.as_str()))
                    .await?;
            }
        }
        Ok(agent)
    }

    /// Makes the address waiting for `code` the agent's own.
    pub async fn confirm_email(&self, code: &str) -> Result<Agent, AppError> {
        let key = ThrottleKey::new("address-codes", self.agent.id.as_str());
        let (hour, now) = (std::time::Duration::from_secs(3600), self.site.clock.now());
        let mut agent = self.desk.store.agent(&self.agent.id).await?;
        let Some(pending) = agent.pending_email.clone() else {
            return Err(AppError::invalid(FieldError::new(
                "code",
                FieldProblem::UnknownValue,
            )));
        };
        if !self
            .desk
            .store
            .take(&key, hour, now, CODE_TRIES_PER_HOUR)
            .await?
        {
            return Err(AppError::TooMany { retry_after: hour });
        }
        if !pending.confirms(&agent.id, code, now) {
            return Err(AppError::invalid(FieldError::new(
                "code",
                FieldProblem::InvalidFormat,
            )));
        }
        agent.email = Some(pending.email);
        agent.pending_email = None;
        self.save_managed(
            &agent,
            format!("address of {} confirmed", agent.id.as_str()),
        )
        .await?;
        Ok(agent)
    }
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Sets which events the agent is told of by mail, and which queues they watch: each
    /// agent their own (an admin changes the address, not the choices).
    pub async fn set_alerts(&self, request: AlertsRequest) -> Result<Agent, AppError> {
        let mut errors = FieldErrors::new();
        let mut agent = self.desk.store.agent(&self.agent.id).await?;
        let mut alerts = agent.alerts.clone();
        for (event, field, value) in [
            (AlertEvent::NewTicket, "new_ticket", &request.new_ticket),
            (AlertEvent::FollowUp, "follow_up", &request.follow_up),
            (AlertEvent::Transferred, "transferred", &request.transferred),
            (AlertEvent::Deadline, "deadline", &request.deadline),
        ] {
            if let Some(text) = value {
                match Delivery::parse(text) {
                    Ok(delivery) => alerts.set(event, delivery),
                    Err(error) => errors.push(FieldError::new(field, error.problem)),
                }
            }
        }
        if let Some(queues) = request.queues {
            alerts.queues = match queues {
                None => None,
                Some(names) => {
                    let known = self.site.settings.queues_of(&agent.agency);
                    let mut watched: Vec<QueueName> = Vec::new();
                    if names.len() > MAX_WATCHED_QUEUES {
                        errors.push(FieldError::new(
                            "queues",
                            FieldProblem::TooLong {
                                max: MAX_WATCHED_QUEUES,
                            },
                        ));
                    }
                    for name in names.iter().take(MAX_WATCHED_QUEUES) {
                        match QueueName::parse(name) {
                            Ok(queue) if known.contains(&queue) => {
                                if !watched.contains(&queue) {
                                    watched.push(queue);
                                }
                            }
                            _ => errors.push(FieldError::new("queues", FieldProblem::UnknownValue)),
                        }
                    }
                    Some(watched)
                }
            };
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        agent.alerts = alerts;
        self.desk.store.save_agent(&agent).await?;
        self.audit(
            AuditAction::ManageAgent,
            None,
            format!("alerts of {}", agent.id.as_str()),
        )
        .await?;
        Ok(agent)
    }

    /// The agents of the caller's agency (supervisors).
    pub async fn agents(&self) -> Result<Vec<Agent>, AppError> {
        self.require(Role::Supervisor)?;
        Ok(self.desk.store.agents(&self.agent.agency).await?)
    }

    /// Makes an agent of the admin's agency, with a role no higher than the admin's own.
    pub async fn add_agent(
        &self,
        request: NewAgentRequest,
    ) -> Result<(Agent, AgentToken), AppError> {
        self.require(Role::Admin)?;
        let mut errors = FieldErrors::new();
        let id = AgentId::parse(request.id.as_deref().unwrap_or(""))
            .map_err(|_| FieldError::new("id", FieldProblem::InvalidFormat))
            .map_err(|e| errors.push(e))
            .ok();
        let name = errors.check(display_name(request.name.as_deref(), 100));
        let role = Role::parse(request.role.as_deref().unwrap_or("agent"))
            .map_err(|e| errors.push(e))
            .ok();
        let email = match request.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Email::parse(text).map_err(|e| errors.push(e)).ok(),
        };
        let (Some(id), Some(name), Some(role), true) = (id, name, role, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        // Nobody hands out more than they hold: an admin cannot make an operator.
        if role > self.agent.role {
            return Err(AppError::Forbidden);
        }
        let clock = self.site.clock.as_ref();
        let agency = self.agent.agency.clone();
        let (agent, token) =
            match create(&self.desk.store, clock, id, name, agency, role, email).await {
                Ok(made) => made,
                Err(StoreError::AlreadyExists) => {
                    return Err(AppError::invalid(FieldError::new(
                        "id",
                        FieldProblem::AlreadyTaken,
                    )));
                }
                Err(error) => return Err(error.into()),
            };
        self.audit(
            AuditAction::ManageAgent,
            None,
            format!("added {} ({})", agent.id.as_str(), agent.role.wire()),
        )
        .await?;
        Ok((agent, token))
    }

    /// Disables agent `id` of the admin's agency; their token stops working at once.
    pub async fn disable_agent(&self, id: &str) -> Result<Agent, AppError> {
        let mut agent = self.managed_agent(id).await?;
        if agent.id == self.agent.id {
            // An admin who disables themselves may be the agency's last one: nobody could
            // undo it.
            return Err(AppError::NotAllowed(
                "An admin cannot disable themselves / Un administrador no puede desactivarse a sí mismo",
            ));
        }
        agent.active = false;
        self.save_managed(&agent, format!("disabled {}", agent.id.as_str()))
            .await?;
        Ok(agent)
    }

    /// Gives agent `id` of the admin's agency a new token; the old one stops working.
    pub async fn rotate_token(&self, id: &str) -> Result<(Agent, AgentToken), AppError> {
        let mut agent = self.managed_agent(id).await?;
        let token = AgentToken::generate();
        agent.token_hash = token.hash();
        self.save_managed(&agent, format!("new token for {}", agent.id.as_str()))
            .await?;
        Ok((agent, token))
    }

    /// Saves an agent the admin manages, and says what changed in the audit trail.
    async fn save_managed(&self, agent: &Agent, what: String) -> Result<(), AppError> {
        self.desk.store.save_agent(agent).await?;
        self.audit(AuditAction::ManageAgent, None, what).await
    }

    /// The agents an admin may manage: those of the admin's agency, up to the admin's role.
    async fn managed_agent(&self, id: &str) -> Result<Agent, AppError> {
        self.require(Role::Admin)?;
        let id = AgentId::parse(id).map_err(|_| AppError::NotFound)?;
        match self.desk.store.agent(&id).await {
            // Nobody manages someone above them: an admin rotating an operator's token would
            // become one.
            Ok(agent) if agent.agency == self.agent.agency && agent.role > self.agent.role => {
                Err(AppError::Forbidden)
            }
            Ok(agent) if agent.agency == self.agent.agency => Ok(agent),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound),
            Err(error) => Err(error.into()),
        }
    }
}
