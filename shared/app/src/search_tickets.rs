//! An agent's search: by a ticket's number, by the requester's address, or by words of the
//! subject, the requester's name or document number and the messages (`rules::search`).
//! Only tickets the agent may see come back (their agency's, or kept by a referral); one
//! the agent may not see is left out exactly as one that does not exist.

use ventanilla_domain::model::agents::Access;
use ventanilla_domain::ports::StoreError;
use ventanilla_domain::rules::search::query_keys;
use ventanilla_domain::{Email, FieldError, FieldProblem, Ticket, TicketNumber};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// The longest search text.
pub const MAX_SEARCH_CHARS: usize = 200;
/// At most this many tickets an answer shows, the most recently active first.
pub const SHOWN: usize = 25;
/// At most this many of the tickets with the words are read (the highest numbers).
const READ: usize = 60;

/// What a search was taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchedBy {
    Number,
    Requester,
    Words,
}

impl SearchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchedBy::Number => "number",
            SearchedBy::Requester => "requester",
            SearchedBy::Words => "words",
        }
    }
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The tickets `text` finds for the agent.
    pub async fn search(&self, text: &str) -> Result<(SearchedBy, Vec<Ticket>), AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::invalid(FieldError::new(
                "q",
                FieldProblem::Required,
            )));
        }
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::invalid(FieldError::new(
                "q",
                FieldProblem::TooLong {
                    max: MAX_SEARCH_CHARS,
                },
            )));
        }
        let store = &self.desk.store;
        // An erased ticket is found by no word of its requester's, nor by its old address.
        let seen = |ticket: &Ticket| {
            self.agent.access(ticket) != Access::None && ticket.erased_at.is_none()
        };
        if let Ok(number) = TicketNumber::parse(text) {
            let found = match store.ticket(&number).await {
                Ok(ticket) => seen(&ticket).then_some(ticket),
                Err(StoreError::NotFound) => None,
                Err(error) => return Err(error.into()),
            };
            return Ok((SearchedBy::Number, found.into_iter().collect()));
        }
        if text.contains('@') {
            let email = Email::parse(text)
                .map_err(|e| AppError::invalid(FieldError::new("q", e.problem)))?;
            let mut found = store.requester_tickets(&email).await?;
            found.retain(|t| seen(t));
            found.truncate(SHOWN);
            return Ok((SearchedBy::Requester, found));
        }
        // The agency's own keys: a ticket it holds, or keeps a referral to.
        let keys = query_keys(&self.agent.agency, text);
        if keys.is_empty() {
            return Err(AppError::invalid(FieldError::new(
                "q",
                FieldProblem::TooShort { min: 3 },
            )));
        }
        let mut found = Vec::new();
        for number in store.search(&keys, READ).await? {
            match store.ticket(&number).await {
                Ok(ticket) if seen(&ticket) => found.push(ticket),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        found.sort_by_key(|t| std::cmp::Reverse(t.last_activity));
        found.truncate(SHOWN);
        Ok((SearchedBy::Words, found))
    }
}
