//! Agents: who may work on an agency's tickets, with which role.

use ventanilla_domain::agents::{Agent, AgentToken, Role, is_system_agent};
use ventanilla_domain::ports::{AgentDirectory, Clock, StoreError};
use ventanilla_domain::{AgencyCode, AgentId};

/// Makes an agent with a fresh token: the one way agents come to be, used by the admin API
/// and by `ventanilla-local agent add`.
pub async fn create(
    store: &impl AgentDirectory,
    clock: &dyn Clock,
    id: AgentId,
    name: String,
    agency: AgencyCode,
    role: Role,
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
    };
    store.add_agent(&agent).await?;
    Ok((agent, token))
}
