//! A citizen's new message on a ticket they follow, by mail (`receive_mail::decide`) or on the
//! status page (`web_follow_up`): the same rules either way. An open ticket takes it (one
//! waiting on the citizen goes back to in progress, its term's clock runs again); a finished
//! one obeys its queue's rule (reopen, always or within so many days; refuse; or a new ticket
//! linked to it); the agents are alerted as for any follow-up.

use ventanilla_domain::model::agencies::FinishedTicketRule;
use ventanilla_domain::model::mail_queue::MailIntent;
use ventanilla_domain::ports::{StoreError, TicketStore};
use ventanilla_domain::{Message, Status, Ticket, TicketChange, Timestamp};

use crate::append::{Step, append};

/// What a follow-up came to.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a return value, moved once; boxing it would only add an allocation"
)]
pub enum Joined {
    /// The ticket took it (and was reopened, if it was finished).
    Appended { ticket: Ticket, reopened: bool },
    /// A finished ticket whose queue refuses follow-ups.
    Refused,
    /// A finished ticket whose queue wants a new ticket linked to it (or one reopened only
    /// within days, past them): the caller opens it.
    OpensLinked,
    /// The message's ids are stored already: the same follow-up again.
    Duplicate,
}

/// What a follow-up is joined under: the rule of the ticket's queue for finished tickets,
/// the agents' alert (`Site::alert_intent`) and how far the term's clock may have stopped.
#[derive(Debug, Clone)]
pub struct FollowUpRules {
    pub finished: FinishedTicketRule,
    pub alert: MailIntent,
    pub suspension_max_days: u32,
}

/// Adds `message` to `ticket` under `rules`, deciding again on the version written when
/// someone else changed it meanwhile.
pub async fn join(
    store: &impl TicketStore,
    now: Timestamp,
    ticket: Ticket,
    message: Message,
    rules: &FollowUpRules,
) -> Result<Joined, StoreError> {
    let recent = |ticket: &Ticket, days: u32| {
        now.datetime() - ticket.last_activity.datetime() <= chrono::Duration::days(i64::from(days))
    };
    let reopen = match rules.finished {
        _ if !ticket.status.is_finished() => false,
        FinishedTicketRule::Reopen { within_days: None } => true,
        FinishedTicketRule::Reopen {
            within_days: Some(days),
        } => recent(&ticket, days),
        FinishedTicketRule::Reject => return Ok(Joined::Refused),
        FinishedTicketRule::NewLinked => false,
    };
    if ticket.status.is_finished() && !reopen {
        return Ok(Joined::OpensLinked);
    }
    let appended = append(store, ticket, |ticket: &Ticket| {
        let status = ticket.status;
        let status = if status.is_finished() {
            status.reopen().ok()
        } else if status == Status::WaitingOnCitizen {
            Some(Status::Open)
        } else {
            None
        };
        Ok::<_, StoreError>(Some(Step {
            change: TicketChange::to_status(ticket, status, message.at, rules.suspension_max_days),
            message: Some(message.clone()),
            mails: vec![MailIntent {
                about: message.id,
                ..rules.alert.clone()
            }],
        }))
    })
    .await;
    match appended {
        Ok(Some(ticket)) => Ok(Joined::Appended {
            ticket,
            reopened: reopen,
        }),
        Ok(None) => unreachable!("a follow-up always has a step to write"),
        Err(StoreError::AlreadyExists) => Ok(Joined::Duplicate),
        Err(error) => Err(error),
    }
}
