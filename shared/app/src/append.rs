//! The one append: a message and a change written to a ticket against the version read, and
//! read again when someone else (an agent, another mail, a transfer) changed it meanwhile.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ventanilla_domain::model::mail_queue::MailIntent;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{StoreError, TicketStore};
use ventanilla_domain::retry::{Retries, until_won};
use ventanilla_domain::{Message, Ticket, TicketChange};

/// How many times an append is tried. Mails to one ticket arriving at once (the local
/// listener takes them in parallel) each lose to the others in turn; a random, growing wait
/// between tries stops them colliding.
const RETRIES: Retries = Retries {
    attempts: 12,
    first_wait: Duration::from_millis(1),
    longest_wait: Duration::from_millis(64),
    gave_up: "the ticket kept changing under the update",
};

/// What to write on the ticket as it now stands.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub change: TicketChange,
    pub message: Option<Message>,
    /// The mails owed for the step, queued with it.
    pub mails: Vec<MailIntent>,
}

/// Writes `decide`'s step on `ticket`, re-reading it and deciding again after each lost race.
/// `decide` is asked on every try, so a rule it checks (the caller's access, the status
/// machine) holds for the version written; `Ok(None)` from it means there is nothing to do
/// any more, and the answer is `None`.
pub async fn append<E>(
    store: &impl TicketStore,
    ticket: Ticket,
    decide: impl Fn(&Ticket) -> Result<Option<Step>, E>,
) -> Result<Option<Ticket>, E>
where
    E: From<StoreError>,
{
    // Shared with each try's future, which must stay `Send` for the routers.
    let current = Mutex::new(ticket);
    let refused = Mutex::new(None);
    let outcome = until_won(RETRIES, || {
        let (current, refused, decide) = (&current, &refused, &decide);
        async move {
            let ticket = lock(current).clone();
            let step = match decide(&ticket) {
                Ok(Some(step)) => step,
                Ok(None) => return Ok(Some(None)),
                Err(error) => {
                    *lock(refused) = Some(error);
                    return Ok(Some(None));
                }
            };
            let update = TicketUpdate {
                number: ticket.number.clone(),
                expected_version: ticket.version,
                change: step.change,
                message: step.message,
                mails: step.mails,
            };
            match store.update(update).await {
                Ok(updated) => Ok(Some(Some(updated))),
                Err(StoreError::VersionConflict) => {
                    let fresh = store.ticket(&ticket.number).await?;
                    *lock(current) = fresh;
                    Ok(None)
                }
                Err(error) => Err(error),
            }
        }
    })
    .await?;
    match refused.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some(error) => Err(error),
        None => Ok(outcome),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
