//! An admin changes a day of their agency's calendar (an operator, any agency's): a day off
//! the Government decreed, a local holiday, a make-up day, or takes one back. The change is
//! stored and audited, and the terms it falls in are recounted (`rules::deadline::recount`):
//! a ticket whose due date moves says so in its thread.

use chrono::{Datelike, NaiveDate};
use ventanilla_domain::model::agencies::{CalendarDay, DayChange, calendar_changes};
use ventanilla_domain::model::agents::AuditAction;
use ventanilla_domain::model::field::display_name;
use ventanilla_domain::model::time::long_date;
use ventanilla_domain::ports::{DueQuery, StoreError};
use ventanilla_domain::rules::calendar::{Calendar, CalendarChanges, national_rest_days};
use ventanilla_domain::rules::deadline::{day_in_ecuador, recount};
use ventanilla_domain::{
    AgencyCode, Author, Body, Choice, FieldError, FieldErrors, FieldProblem, Labelled, Lang,
    Message, Ticket, TicketChange,
};

use crate::AppError;
use crate::append::{Step, append};
use crate::session::{AgentPorts, Session};

/// The longest name of a changed day.
pub const MAX_NAME_CHARS: usize = 200;
/// At most this many changed days per agency and year: a calendar, not a diary.
pub const MAX_DAYS_PER_YEAR: usize = 60;
/// How many years before and after this one may be changed: last year's (a decree
/// recorded late) to two years ahead.
const YEARS_BACK: i32 = 1;
const YEARS_AHEAD: i32 = 2;
/// Tickets due this many days before a changed day are recounted too: their warning after
/// the due date may move.
const RECOUNT_BEFORE_DAYS: u64 = 30;
/// Tickets read from the index at a time.
const PAGE: usize = 100;
/// How long a change recounts before it answers, leaving the rest to the same request sent
/// again: well inside agent-api's 15 s on Lambda (template.yaml), with the reads before.
const RECOUNT_TIME: std::time::Duration = std::time::Duration::from_secs(8);

/// A day as an admin sent it, read as text so that each bad field is named.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CalendarDayRequest {
    pub kind: Option<String>,
    pub name: Option<String>,
    /// Another agency than the admin's: an operator's.
    pub agency: Option<String>,
}

/// What the recount of a change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recount {
    /// Tickets written with the agency's calendar as it now is.
    pub recounted: usize,
    /// Of those, whose due date moved (their thread says so).
    pub moved: usize,
    /// False when the time ran out: the same request again recounts the rest.
    pub complete: bool,
}

/// A day of a year's calendar as an agency lives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DayOff {
    pub day: NaiveDate,
    /// `national_holiday`, or how an admin changed it (`DayChange`).
    pub kind: &'static str,
    pub name: String,
    /// For a national holiday the law moved: the date it falls on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub falls_on: Option<NaiveDate>,
    /// A make-up day is worked: every other entry rests.
    pub works: bool,
}

/// The days of `year` an agency with `changed` rests (and works to make up), in date
/// order: the national rest days, its own days off, its make-up days.
pub fn year_of(year: i32, changed: &[CalendarDay], agency: Option<&AgencyCode>) -> Vec<DayOff> {
    let mut days: Vec<DayOff> = national_rest_days(year)
        .into_iter()
        .map(|rest| DayOff {
            day: rest.date,
            kind: "national_holiday",
            name: rest.holiday.name_es().to_owned(),
            falls_on: (rest.falls_on != rest.date).then_some(rest.falls_on),
            works: false,
        })
        .collect();
    if let Some(agency) = agency {
        days.extend(
            changed
                .iter()
                .filter(|day| &day.agency == agency && day.day.year() == year)
                .map(|day| DayOff {
                    day: day.day,
                    kind: day.kind.into(),
                    name: day.name.clone(),
                    falls_on: None,
                    works: day.kind == DayChange::MakeUpDay,
                }),
        );
    }
    days.sort_by_key(|day| day.day);
    days
}

/// The first and last day of `year`.
pub fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    let day = |month, day| NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default();
    (day(1, 1), day(12, 31))
}

/// The date of a path or a query, as `field`.
pub fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(FieldError::new(field, FieldProblem::InvalidFormat)))
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The days a year's calendar may change: last year to two years ahead.
    fn changeable(&self, day: NaiveDate) -> Result<(), AppError> {
        let this_year = day_in_ecuador(self.site.clock.now()).year();
        let (first, last) = (this_year - YEARS_BACK, this_year + YEARS_AHEAD);
        if (first..=last).contains(&day.year()) {
            Ok(())
        } else {
            Err(AppError::invalid(FieldError::new(
                "day",
                FieldProblem::OutOfRange {
                    first: format!("{first}-01-01"),
                    last: format!("{last}-12-31"),
                },
            )))
        }
    }

    /// Writes `day` (`YYYY-MM-DD`) into the agency's calendar as `request` says, over any
    /// change of that day, and recounts the terms it falls in. Sent again, it changes nothing
    /// more and recounts what is left.
    pub async fn set_calendar_day(
        &self,
        day: &str,
        request: CalendarDayRequest,
    ) -> Result<(CalendarDay, Recount), AppError> {
        let agency = self.managed_agency(request.agency.as_deref())?;
        let mut errors = FieldErrors::new();
        let day = errors.check(
            NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|_| FieldError::new("day", FieldProblem::InvalidFormat)),
        );
        let kind = match request.kind.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new("kind", FieldProblem::Required));
                None
            }
            Some(text) => errors.check(DayChange::parse(text)),
        };
        let name = errors.check(display_name(request.name.as_deref(), MAX_NAME_CHARS));
        let (Some(day), Some(kind), Some(name)) = (day, kind, name) else {
            return Err(AppError::Invalid(errors));
        };
        self.changeable(day)?;
        // A change that changes nothing is refused, so the calendar says what it means.
        let national = Calendar::national(day.year(), day.year());
        let rests = !national.is_business_day(day);
        if rests != (kind == DayChange::MakeUpDay) {
            return Err(AppError::invalid(FieldError::new(
                "day",
                FieldProblem::ChangesNothing,
            )));
        }
        let store = &self.desk.store;
        let (first, last) = year_bounds(day.year());
        let in_year = store.calendar_days(&agency, first, last).await?;
        let replaces = in_year.iter().any(|d| d.day == day);
        if !replaces && in_year.len() >= MAX_DAYS_PER_YEAR {
            return Err(AppError::invalid(FieldError::new(
                "day",
                FieldProblem::TooMany {
                    max: MAX_DAYS_PER_YEAR,
                },
            )));
        }
        let changed = CalendarDay {
            agency: agency.clone(),
            day,
            kind,
            name,
            by: self.agent.id.clone(),
            at: self.site.clock.now(),
        };
        store.save_calendar_day(&changed).await?;
        let said = format!("{}: {} ({})", day, changed.kind.labels().0, changed.name);
        self.audit(
            AuditAction::ChangeCalendar,
            None,
            format!("{agency}: {said}"),
        )
        .await?;
        let recount = self.recount_terms(&agency, day, &said).await?;
        Ok((changed, recount))
    }

    /// Takes the agency's change of `day` back and recounts the terms it fell in. Sent again
    /// (after a recount cut short), it finds nothing to remove and recounts what is left;
    /// `NotFound` when there was nothing to remove and nothing to recount.
    pub async fn remove_calendar_day(
        &self,
        day: &str,
        agency: Option<&str>,
    ) -> Result<(Option<CalendarDay>, Recount), AppError> {
        let agency = self.managed_agency(agency)?;
        let day = parse_day("day", day)?;
        self.changeable(day)?;
        let removed = self.desk.store.remove_calendar_day(&agency, day).await?;
        let said = match &removed {
            Some(removed) => {
                let said = format!(
                    "{}: ya no es {} ({})",
                    day,
                    removed.kind.labels().0.to_lowercase(),
                    removed.name
                );
                self.audit(
                    AuditAction::ChangeCalendar,
                    None,
                    format!("{agency}: {said}"),
                )
                .await?;
                said
            }
            None => format!("{day}: sin cambio de la entidad"),
        };
        let recount = self.recount_terms(&agency, day, &said).await?;
        if removed.is_none() && recount.recounted == 0 && recount.complete {
            return Err(AppError::NotFound);
        }
        Ok((removed, recount))
    }

    /// The days `agency` (`readable_agency`) rests in `year`, and works to make up.
    pub async fn calendar_year(
        &self,
        year: i32,
        agency: Option<&str>,
    ) -> Result<Vec<DayOff>, AppError> {
        let agency = self.readable_agency(agency)?;
        let (first, last) = year_bounds(year);
        let changed = self.desk.store.calendar_days(&agency, first, last).await?;
        Ok(year_of(year, &changed, Some(&agency)))
    }

    /// The changes of `agency`'s calendar (`readable_agency`) from `first` to `last`.
    pub async fn calendar_changes(
        &self,
        agency: Option<&str>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<CalendarChanges, AppError> {
        let agency = self.readable_agency(agency)?;
        let changed = self.desk.store.calendar_days(&agency, first, last).await?;
        Ok(calendar_changes(&changed, &agency))
    }

    /// Writes `day` as the agency's calendar now has it into every unfinished ticket whose term
    /// it may fall in (those due from a month before it on, from the due-date index),
    /// recounting each; a ticket whose due date moves gets a line in its thread saying why
    /// (`said`). Stops at [`RECOUNT_TIME`].
    async fn recount_terms(
        &self,
        agency: &AgencyCode,
        day: NaiveDate,
        said: &str,
    ) -> Result<Recount, AppError> {
        let started = std::time::Instant::now();
        let store = &self.desk.store;
        // The day as it is now, read after the change was written.
        let changes = calendar_changes(&store.calendar_days(agency, day, day).await?, agency);
        let mut recount = Recount::default();
        let mut query = DueQuery {
            agency: agency.clone(),
            from: day.checked_sub_days(chrono::Days::new(RECOUNT_BEFORE_DAYS)),
            until: None,
            after: None,
            limit: PAGE,
        };
        loop {
            let page = store.due_tickets(&query).await?;
            for ticket in page.items {
                if started.elapsed() > RECOUNT_TIME {
                    return Ok(recount);
                }
                if let Some(moved) = recount_one(self, ticket, day, &changes, said).await? {
                    recount.recounted += 1;
                    recount.moved += usize::from(moved);
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        recount.complete = true;
        Ok(recount)
    }
}

/// Recounts one ticket with `day` as the agency's `changes` have it, against the version
/// written: only that day, so that two changes written at once (each recounting its own day)
/// both end up in every ticket. `None` when it had that day so already (nothing written),
/// else whether its due date moved.
async fn recount_one<S: AgentPorts, B, M>(
    session: &Session<S, B, M>,
    ticket: Ticket,
    day: NaiveDate,
    changes: &CalendarChanges,
    said: &str,
) -> Result<Option<bool>, AppError> {
    let now = session.site.clock.now();
    let author = Author::Agent(session.agent.reference());
    let event_id = session.site.ids.message_id();
    let before = ticket.due_date();
    let written = append(&session.desk.store, ticket, |current| {
        let Some((term, clock)) = recount(current, &current.calendar().with_day_of(day, changes))
        else {
            return Ok::<_, StoreError>(None);
        };
        let after = clock.suspended.map_or(clock.due_on, |s| s.latest_due);
        let message = match current.due_date() {
            Some(was) if was != after => {
                let text = format!(
                    "Fecha límite recalculada por un cambio del calendario ({said}): del {} al {}.",
                    long_date(was, Lang::Es),
                    long_date(after, Lang::Es),
                );
                Body::parse_field("day", &text)
                    .ok()
                    .map(|body| Message::system_event(event_id, now, author.clone(), body))
            }
            _ => None,
        };
        Ok(Some(Step {
            change: TicketChange::keep_term(term, clock),
            message,
            mails: Vec::new(),
        }))
    })
    .await?;
    Ok(written.map(|ticket| ticket.due_date() != before))
}
