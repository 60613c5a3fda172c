//! After an upgrade, once: every unfinished ticket gets a due date and is written again.
//! Tickets opened before due dates (or terms) were kept get the term of their category as it
//! is configured now, counted from their opening on their agency's calendar, with a line in
//! their thread; the others are written as they are, so that indexes a store gained since
//! they were last written (DynamoDB's GSI3 and GSI4) hold them. `ventanilla-local deadlines
//! backfill` runs it, on the data folder or a deployed stack's table.

use ventanilla_domain::model::agencies::calendar_changes;
use ventanilla_domain::model::status::Status;
use ventanilla_domain::model::term::{Term, TermClock};
use ventanilla_domain::model::time::long_date;
use ventanilla_domain::ports::{
    AgencyDirectory, Clock, IdSource, QueueQuery, StoreError, TicketStore,
};
use ventanilla_domain::rules::calendar::CalendarChanges;
use ventanilla_domain::rules::deadline::{day_in_ecuador, due_date, kept_changes};
use ventanilla_domain::{Author, Body, Lang, Message, Ticket, TicketChange};

use crate::Settings;
use crate::append::{Step, append};

/// The days the law's calendar covers (`rules::calendar::YEARS`).
const FIRST_DAY: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(2017, 1, 1).unwrap();
const LAST_DAY: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backfill {
    /// Unfinished tickets written again.
    pub written: usize,
    /// Of those, the ones that had no term and got one (and a due date, if they had none).
    pub given_terms: usize,
}

/// Writes every unfinished ticket of every agency again (those of `settings`, with the ones
/// saved at run time), giving a term to those without one. Safe to run twice, and while the
/// system serves: each write is against the version read, read again after a race.
pub async fn backfill_terms(
    store: &(impl TicketStore + AgencyDirectory),
    settings: &Settings,
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
) -> Result<Backfill, StoreError> {
    let settings = settings.clone().with_agencies(store.agencies().await?);
    let mut backfill = Backfill::default();
    for agency in &settings.agencies {
        // All its changes: each ticket keeps those of its own window (`Term.calendar`).
        let days = store
            .calendar_days(&agency.code, FIRST_DAY, LAST_DAY)
            .await?;
        let changes = calendar_changes(&days, &agency.code);
        for queue in settings.queues_of(&agency.code) {
            for status in [Status::New, Status::Open, Status::WaitingOnCitizen] {
                let mut query = QueueQuery {
                    agency: agency.code.clone(),
                    queue: queue.clone(),
                    status: Some(status),
                    limit: 100,
                    after: None,
                    oldest_first: true,
                };
                loop {
                    let page = store.queue(&query).await?;
                    for ticket in page.items {
                        let given = rewrite(store, &settings, &changes, clock, ids, ticket).await?;
                        backfill.written += 1;
                        backfill.given_terms += usize::from(given);
                    }
                    match page.next {
                        Some(next) => query.after = Some(next),
                        None => break,
                    }
                }
            }
        }
    }
    Ok(backfill)
}

/// The term a ticket opened before terms were kept is given now, and the clock it then has.
fn term_for(
    settings: &Settings,
    changes: &CalendarChanges,
    ticket: &Ticket,
) -> Option<(Term, TermClock)> {
    if ticket.term.is_some() {
        return None;
    }
    let term = settings.term(&ticket.agency, ticket.category)?;
    let term = Term {
        calendar: kept_changes(changes, day_in_ecuador(ticket.created_at)),
        ..term
    };
    let clock = TermClock {
        due_on: ticket
            .due_on
            .unwrap_or_else(|| due_date(&term, ticket.created_at)),
        suspended: ticket.suspended,
    };
    Some((term, clock))
}

/// Writes `ticket` again, with a term if it had none; whether it got one.
async fn rewrite(
    store: &impl TicketStore,
    settings: &Settings,
    changes: &CalendarChanges,
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
    ticket: Ticket,
) -> Result<bool, StoreError> {
    let (now, event_id) = (clock.now(), ids.message_id());
    let had_term = ticket.term.is_some();
    let written = append(store, ticket, |current| {
        // Finished meanwhile: nothing to index or to give.
        if current.status.is_finished() {
            return Ok::<_, StoreError>(None);
        }
        let Some((term, clock)) = term_for(settings, changes, current) else {
            return Ok(Some(Step::default()));
        };
        let text = format!(
            "Plazo asignado a un ticket abierto antes de que se calcularan los plazos: vence el {} ({}).",
            long_date(clock.due_on, Lang::Es),
            term.basis,
        );
        let message = Body::parse_field("term", &text)
            .ok()
            .map(|body| Message::system_event(event_id, now, Author::System, body));
        Ok(Some(Step {
            change: TicketChange::keep_term(term, clock),
            message,
            mails: Vec::new(),
        }))
    })
    .await?;
    Ok(!had_term && written.is_some_and(|t| t.term.is_some()))
}
