//! Agencies saved at run time by their admins (or an operator): queues, where each category
//! goes, and what each queue does with a follow-up to a finished ticket. A save takes effect
//! on every function's next request (`Site::current`).

use std::collections::BTreeMap;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agencies::Agency;
use ventanilla_domain::model::agencies::FinishedTicketRule;
use ventanilla_domain::model::agents::{AuditAction, Role};
use ventanilla_domain::model::field::display_name;
use ventanilla_domain::ports::QueueQuery;
use ventanilla_domain::{AgencyCode, Category, FieldError, FieldErrors, FieldProblem, QueueName};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// An agency as an admin sent it: parsed here so that every bad field is named.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AgencyRequest {
    pub name: Option<String>,
    pub response_days: Option<u32>,
    pub default_queue: Option<String>,
    pub queues_by_category: BTreeMap<String, String>,
    /// Each queue's rule, as `{"rule": ...}` objects.
    pub follow_ups: BTreeMap<String, serde_json::Value>,
    /// The categories under a law of their own it takes: `acceso_informacion`,
    /// `datos_personales`.
    pub special_categories: Vec<String>,
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Whether the agent may save agency `code`: an admin manages their own agency; creating
    /// or changing another is an operator's.
    pub fn may_save_agency(&self, code: &str) -> Result<(), AppError> {
        self.require(Role::Admin)?;
        if AgencyCode::parse(code).map_or(true, |code| code != self.agent.agency) {
            self.require(Role::Operator)?;
        }
        Ok(())
    }

    /// Creates or replaces agency `code` (`may_save_agency`).
    pub async fn save_agency(
        &self,
        code: &str,
        request: AgencyRequest,
    ) -> Result<Agency, AppError> {
        self.may_save_agency(code)?;
        let agency = parse_agency(code, request)?;
        // A queue that goes away while it holds tickets would hide them from every console.
        if let Some(before) = self.site.settings.agency(&agency.code) {
            let mut errors = FieldErrors::new();
            let kept = agency.queues();
            for removed in before.queues().into_iter().filter(|q| !kept.contains(q)) {
                let query = QueueQuery {
                    agency: agency.code.clone(),
                    queue: removed.clone(),
                    status: None,
                    limit: 1,
                    after: None,
                    oldest_first: false,
                };
                if !self.desk.store.queue(&query).await?.items.is_empty() {
                    errors.push(FieldError::new(
                        "queues",
                        FieldProblem::HoldsTickets {
                            queue: removed.as_str().to_owned(),
                        },
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(AppError::Invalid(errors));
            }
        }
        self.desk.store.save_agency(&agency).await?;
        self.audit(
            AuditAction::ManageAgency,
            None,
            format!("saved agency {}", agency.code),
        )
        .await?;
        Ok(agency)
    }
}

fn parse_agency(code: &str, request: AgencyRequest) -> Result<Agency, AppError> {
    let mut errors = FieldErrors::new();
    let code = errors.check(AgencyCode::parse(code));
    let name = errors.check(display_name(request.name.as_deref(), 200));
    let response_days = request.response_days.filter(|d| (1..=365).contains(d));
    if response_days.is_none() {
        errors.push(FieldError::new(
            "response_days",
            FieldProblem::InvalidFormat,
        ));
    }
    let default_queue = errors.check(
        QueueName::parse(request.default_queue.as_deref().unwrap_or(""))
            .map_err(|_| FieldError::new("default_queue", FieldProblem::InvalidFormat)),
    );
    let mut queues_by_category = BTreeMap::new();
    for (category, queue) in &request.queues_by_category {
        match (Category::parse(category), QueueName::parse(queue)) {
            (Ok(category), Ok(queue)) => {
                queues_by_category.insert(category, queue);
            }
            _ => errors.push(FieldError::new(
                "queues_by_category",
                FieldProblem::InvalidFormat,
            )),
        }
    }
    let mut follow_ups = BTreeMap::new();
    for (queue, rule) in request.follow_ups {
        match (
            QueueName::parse(&queue),
            serde_json::from_value::<FinishedTicketRule>(rule),
        ) {
            (Ok(queue), Ok(rule)) => {
                follow_ups.insert(queue, rule);
            }
            _ => errors.push(FieldError::new("follow_ups", FieldProblem::InvalidFormat)),
        }
    }
    let mut special_categories = Vec::new();
    for category in &request.special_categories {
        match Category::parse(category) {
            Ok(category) if category.is_special() => special_categories.push(category),
            _ => errors.push(FieldError::new(
                "special_categories",
                FieldProblem::UnknownValue,
            )),
        }
    }
    let (Some(code), Some(name), Some(response_days), Some(default_queue), true) =
        (code, name, response_days, default_queue, errors.is_empty())
    else {
        return Err(AppError::Invalid(errors));
    };
    Ok(Agency {
        code,
        name,
        response_days,
        default_queue,
        queues_by_category,
        follow_ups,
        special_categories,
    })
}
