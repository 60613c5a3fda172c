//! Canned responses: an agency's admins write them, its agents choose one when they answer,
//! filled in for the ticket (`CannedResponse::for_ticket`).

use ventanilla_domain::model::agents::{Access, AuditAction, Role};
use ventanilla_domain::model::canned_responses::{
    CannedId, CannedResponse, MAX_PER_AGENCY, parse_canned,
};
use ventanilla_domain::{AgencyCode, Body, FieldError, FieldErrors, FieldProblem, Lang};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// A canned response as an admin sends it, not yet checked.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CannedRequest {
    pub agency: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
}

/// A canned response filled in for one ticket.
#[derive(Debug)]
pub struct FilledResponse {
    pub id: CannedId,
    pub title: String,
    pub text: Body,
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The canned responses of `agency` (the agent's own; an operator names any), as written.
    pub async fn canned_responses(
        &self,
        agency: Option<&str>,
    ) -> Result<Vec<CannedResponse>, AppError> {
        let agency = self.readable_agency(agency)?;
        if agency != self.agent().agency {
            self.require(Role::Operator)?;
        }
        Ok(self.desk.store.canned_responses(&agency).await?)
    }

    /// Writes canned response `id` of the agency an admin manages (`managed_agency`), over the
    /// one of that id if any; at most `MAX_PER_AGENCY` of them.
    pub async fn save_canned_response(
        &self,
        id: &str,
        request: CannedRequest,
    ) -> Result<CannedResponse, AppError> {
        let agency = self.managed_agency(request.agency.as_deref())?;
        let mut errors = FieldErrors::new();
        let id = errors.check(CannedId::parse(id));
        let parsed = match parse_canned(request.title.as_deref(), request.text.as_deref()) {
            Ok(parsed) => Some(parsed),
            Err(problems) => {
                for problem in problems {
                    errors.push(problem);
                }
                None
            }
        };
        let (Some(id), Some((title, text))) = (id, parsed) else {
            return Err(AppError::Invalid(errors));
        };
        let store = &self.desk.store;
        let existing = store.canned_responses(&agency).await?;
        if existing.len() >= MAX_PER_AGENCY && !existing.iter().any(|c| c.id == id) {
            return Err(AppError::invalid(FieldError::new(
                "id",
                FieldProblem::TooMany {
                    max: MAX_PER_AGENCY,
                },
            )));
        }
        let canned = CannedResponse {
            agency,
            id,
            title,
            text,
            by: self.agent().id.clone(),
            at: self.site().clock.now(),
        };
        store.save_canned_response(&canned).await?;
        self.audit(
            AuditAction::ManageCannedResponses,
            None,
            format!("{} saved {}", canned.agency, canned.id.as_str()),
        )
        .await?;
        Ok(canned)
    }

    /// Removes canned response `id` of the agency an admin manages; 404 if it has none.
    pub async fn remove_canned_response(
        &self,
        id: &str,
        agency: Option<&str>,
    ) -> Result<CannedResponse, AppError> {
        let agency: AgencyCode = self.managed_agency(agency)?;
        let id = CannedId::parse(id).map_err(|_| AppError::NotFound)?;
        let removed = self
            .desk
            .store
            .remove_canned_response(&agency, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.audit(
            AuditAction::ManageCannedResponses,
            None,
            format!("{agency} removed {}", id.as_str()),
        )
        .await?;
        Ok(removed)
    }

    /// The canned responses of the agency that holds ticket `number`, filled in for it: for an
    /// agent who may answer it.
    pub async fn canned_for_ticket(
        &self,
        number: &str,
        lang: Lang,
    ) -> Result<Vec<FilledResponse>, AppError> {
        let ticket = self.ticket(number, Access::Full).await?;
        let canned = self.desk.store.canned_responses(&ticket.agency).await?;
        Ok(canned
            .into_iter()
            .filter_map(|c| {
                Some(FilledResponse {
                    text: c.for_ticket(&ticket, lang)?,
                    id: c.id,
                    title: c.title,
                })
            })
            .collect())
    }
}
