//! The date a ticket is due: its term counted on Ecuador's calendar (`rules::calendar`) from
//! the day it was received, in America/Guayaquil. A request received on a day off counts as
//! received on the next business day, and the term starts the business day after.

use chrono::{Datelike, NaiveDate};

use crate::model::status::Status;
use crate::model::term::{DayKind, Extension, Suspension, Term, TermClock, Warning, WarningPoint};
use crate::model::ticket::Ticket;
use crate::model::time::Timestamp;
use crate::rules::calendar::{Calendar, CalendarChanges, YEARS};

/// The day it is in Ecuador at `at`.
pub fn day_in_ecuador(at: Timestamp) -> NaiveDate {
    at.in_ecuador().date_naive()
}

/// The instant `day` begins in Ecuador (05:00 UTC: no daylight saving).
pub fn start_of_day_in_ecuador(day: NaiveDate) -> Timestamp {
    Timestamp::from_datetime(
        day.and_time(chrono::NaiveTime::MIN).and_utc() + chrono::Duration::hours(5),
    )
}

/// The national calendar with an agency's `changes`, from `first`'s year through as many
/// years as `days` days may run.
fn calendar_for(first: NaiveDate, days: u32, changes: &CalendarChanges) -> Calendar {
    let year = first.year().max(*YEARS.start());
    // A business day is at most a week away: 250 of them a year is a safe measure.
    let years = i32::try_from(days / 200)
        .unwrap_or(i32::MAX)
        .saturating_add(1);
    Calendar::changed(year, year.saturating_add(years), changes)
}

/// The last day of `term` for a request received at `received`, on the calendar the term
/// keeps.
pub fn due_date(term: &Term, received: Timestamp) -> NaiveDate {
    term_ends_on(
        term.kind,
        term.days,
        day_in_ecuador(received),
        &term.calendar,
    )
}

/// The last day of a term of `days` days of `kind` for a request received on `day` (in
/// Ecuador), on the national calendar with an agency's `changes`: what an agent asks the
/// calendar ("the 30th business day after 5 February").
pub fn term_ends_on(
    kind: DayKind,
    days: u32,
    day: NaiveDate,
    changes: &CalendarChanges,
) -> NaiveDate {
    let calendar = calendar_for(day, days, changes);
    match kind {
        DayKind::Business => calendar.term_ends(day, days),
        DayKind::Calendar => {
            // Day one is the business day after receipt, as for a término.
            let first = calendar.term_ends(day, 1);
            let end = first
                .checked_add_days(chrono::Days::new(days.saturating_sub(1).into()))
                .unwrap_or(first);
            calendar.received_on(end)
        }
    }
}

/// The last day a term of `days` days from `from` can reach, whatever the holidays: within
/// 2N calendar days and the weeks of holidays. What an agency's calendar days are read up to
/// for a question about such a term.
pub fn reach(from: NaiveDate, days: u32) -> NaiveDate {
    from.checked_add_days(chrono::Days::new(u64::from(days) * 2 + 31))
        .unwrap_or(NaiveDate::MAX)
}

/// Why a term cannot be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    #[error("the ticket has no term of its own (opened before terms were kept)")]
    NoTerm,
    #[error("its term allows no extension")]
    NotAllowed,
    #[error("its term was extended already; it may be only once")]
    AlreadyExtended,
    #[error("the ticket is finished")]
    Finished,
    #[error("its term has expired; an extension is granted before it ends")]
    Expired,
}

/// `day` moved `days` days of `kind` on: business days, or calendar days ending on a
/// business day.
fn moved_on(day: NaiveDate, days: u32, kind: DayKind, changes: &CalendarChanges) -> NaiveDate {
    match kind {
        DayKind::Business => business_days_after(day, days, changes),
        DayKind::Calendar => {
            let end = day
                .checked_add_days(chrono::Days::new(days.into()))
                .unwrap_or(day);
            calendar_for(end, 0, changes).received_on(end)
        }
    }
}

/// The term's clock after its one extension, granted at `at` by `by` for `reason`, and the
/// extension as the ticket keeps it. Granted only before the term ends (COA, art. 161: an
/// extension is decided before the term expires), once, on an unfinished ticket whose term
/// allows it; a stopped clock keeps its stop, its dates moved the same.
pub fn extend(
    ticket: &Ticket,
    at: Timestamp,
    by: crate::AgentId,
    reason: String,
) -> Result<(TermClock, Extension), ExtensionRefused> {
    let term = ticket.term.as_ref().ok_or(ExtensionRefused::NoTerm)?;
    let allowed = term.extension.ok_or(ExtensionRefused::NotAllowed)?;
    if ticket.extended.is_some() {
        return Err(ExtensionRefused::AlreadyExtended);
    }
    if ticket.status.is_finished() {
        return Err(ExtensionRefused::Finished);
    }
    let due_on = ticket.due_on.ok_or(ExtensionRefused::NoTerm)?;
    let today = day_in_ecuador(at);
    // Against the clock as it has run: a stop does not reopen an expired term.
    if running_due(ticket, today).is_some_and(|due| today > due) {
        return Err(ExtensionRefused::Expired);
    }
    let clock = TermClock {
        due_on: moved_on(due_on, allowed.days, term.kind, &term.calendar),
        suspended: ticket.suspended.map(|stopped| Suspension {
            latest_due: moved_on(stopped.latest_due, allowed.days, term.kind, &term.calendar),
            ..stopped
        }),
    };
    let extension = Extension {
        days: allowed.days,
        reason,
        by,
        at,
        was_due_on: due_on,
    };
    Ok((clock, extension))
}

/// The longest term the calendar is asked about: ten years of business days; no term the
/// law sets is longer.
pub const LONGEST_TERM_DAYS: u32 = 2600;

/// Why the calendar cannot answer a question someone typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarQuestionError {
    #[error("at most {LONGEST_TERM_DAYS} days")]
    TooLong,
    #[error("the calendar covers {first} to {last}: a term from {from} leaves it", first = YEARS.start(), last = YEARS.end())]
    OutsideCalendar { from: NaiveDate },
}

/// `term_ends_on` for a date and a term someone typed (an agent's question, the
/// `calendar due` command): refused when the term would leave the years the law's calendar
/// covers, or is longer than any the law sets.
pub fn ask_term_end(
    kind: DayKind,
    days: u32,
    from: NaiveDate,
    changes: &CalendarChanges,
) -> Result<NaiveDate, CalendarQuestionError> {
    if days > LONGEST_TERM_DAYS {
        return Err(CalendarQuestionError::TooLong);
    }
    // Over 200 business days a year whatever the holidays: one year more per 200 days, and
    // one more for the term's last weeks.
    let last = from.year() + 1 + i32::try_from(days / 200).unwrap_or(i32::MAX / 2);
    if !YEARS.contains(&from.year()) || !YEARS.contains(&last) {
        return Err(CalendarQuestionError::OutsideCalendar { from });
    }
    Ok(term_ends_on(kind, days, from, changes))
}

/// Business days from `today` to `due`: 0 on the due day, negative once it has passed (at
/// least -1 on the weekend after a Friday's due date).
pub fn business_days_left(due: NaiveDate, today: NaiveDate, changes: &CalendarChanges) -> i64 {
    if today <= due {
        i64::from(business_days_between(today, due, changes))
    } else {
        -i64::from(business_days_between(due, today, changes).max(1))
    }
}

/// The business days after `from` up to and including `to`; 0 when `to` is not later.
pub fn business_days_between(from: NaiveDate, to: NaiveDate, changes: &CalendarChanges) -> u32 {
    if to <= from {
        return 0;
    }
    let calendar = Calendar::changed(from.year().max(*YEARS.start()), to.year(), changes);
    from.iter_days()
        .skip(1)
        .take_while(|day| *day <= to)
        .filter(|day| calendar.is_business_day(*day))
        .count()
        .try_into()
        .unwrap_or(u32::MAX)
}

/// The `days`th business day after `day` (whatever `day` is): a due date moved on, the day a
/// stopped clock runs again, the last day of "due within N business days".
pub fn business_days_after(day: NaiveDate, days: u32, changes: &CalendarChanges) -> NaiveDate {
    let calendar = calendar_for(day, days, changes);
    let mut found = day;
    let mut left = days;
    while left > 0 {
        let Some(next) = found.succ_opt() else { break };
        found = next;
        if calendar.is_business_day(found) {
            left -= 1;
        }
    }
    found
}

/// The business days a stopped clock has stood by `today`: those after the day it stopped,
/// up to today or the day it ran again by itself, whichever came first.
fn days_stopped(stopped: &Suspension, today: NaiveDate, changes: &CalendarChanges) -> u32 {
    business_days_between(stopped.since, today.min(stopped.resumes_on), changes)
}

/// The due date as the clock has run so far: while stopped, moved by the days it has stood
/// (what an extension is measured against, and what a suspension starts from).
pub fn running_due(ticket: &Ticket, today: NaiveDate) -> Option<NaiveDate> {
    let due_on = ticket.due_on?;
    let changes = ticket.calendar();
    Some(match &ticket.suspended {
        Some(stopped) => {
            business_days_after(due_on, days_stopped(stopped, today, changes), changes)
        }
        None => due_on,
    })
}

/// The `days`th business day before `day`.
pub fn business_days_before(day: NaiveDate, days: u32, changes: &CalendarChanges) -> NaiveDate {
    let years = i32::try_from(days / 200)
        .unwrap_or(i32::MAX)
        .saturating_add(1);
    let first = day.year().saturating_sub(years).max(*YEARS.start());
    let calendar = Calendar::changed(first, day.year(), changes);
    let mut found = day;
    let mut left = days;
    while left > 0 {
        let Some(previous) = found.pred_opt() else {
            break;
        };
        found = previous;
        if calendar.is_business_day(found) {
            left -= 1;
        }
    }
    found
}

/// The warnings `ticket`'s term gives its agents, in order, each on the day it is due: once
/// its share has passed, some business days before its due date, and on the business day
/// after it (expired); none once it is finished. A warning that would come on or after the
/// next one's day is left out (a short term warns once, at the later point).
pub fn warnings(ticket: &Ticket) -> Vec<Warning> {
    let Some(due) = ticket.due_key() else {
        return Vec::new();
    };
    let rules = ticket.term.as_ref().map(|t| t.warnings).unwrap_or_default();
    let changes = ticket.calendar();
    let mut all = Vec::new();
    if (1..100).contains(&rules.at_percent) {
        let total = business_days_between(day_in_ecuador(ticket.created_at), due, changes);
        let left = total.saturating_mul(100 - rules.at_percent) / 100;
        all.push(Warning {
            point: WarningPoint::SharePassed,
            on: business_days_before(due, left, changes),
        });
    }
    if rules.days_before > 0 {
        all.push(Warning {
            point: WarningPoint::DueSoon,
            on: business_days_before(due, rules.days_before, changes),
        });
    }
    all.push(Warning {
        point: WarningPoint::Expired,
        on: business_days_after(due, 1, changes),
    });
    let mut kept: Vec<Warning> = Vec::new();
    for warning in all.into_iter().rev() {
        if kept.last().is_none_or(|later| warning.on < later.on) {
            kept.push(warning);
        }
    }
    kept.reverse();
    kept
}

/// The next warning `ticket` is owed: the first after the last one sent.
pub fn next_warning(ticket: &Ticket) -> Option<Warning> {
    warnings(ticket)
        .into_iter()
        .find(|w| ticket.warned.is_none_or(|sent| w.point > sent))
}

/// The warning to send about `ticket` on `today`: the latest one due by then and not sent
/// (after a pause of the sweeper, only the latest of those it missed).
pub fn warning_due(ticket: &Ticket, today: NaiveDate) -> Option<WarningPoint> {
    warnings(ticket)
        .into_iter()
        .filter(|w| w.on <= today && ticket.warned.is_none_or(|sent| w.point > sent))
        .map(|w| w.point)
        .next_back()
}

/// The term's clock after `ticket` goes to `to` at `at`. It stops when the agency starts
/// waiting on the citizen (for at most `max_days` business days; never once the term has
/// expired), and starts again when it stops waiting, the due date moved by the business days
/// it stood, no more than the stop allowed when it began (after which it ran again by
/// itself). `None` when the clock does not change, or when suspensions are off (`max_days` 0).
pub fn clock_on(ticket: &Ticket, to: Status, at: Timestamp, max_days: u32) -> Option<TermClock> {
    let due_on = ticket.due_on?;
    let today = day_in_ecuador(at);
    let changes = ticket.calendar();
    match ticket.suspended {
        None if to == Status::WaitingOnCitizen && max_days > 0 && today <= due_on => {
            Some(TermClock {
                due_on,
                suspended: Some(Suspension {
                    since: today,
                    resumes_on: business_days_after(today, max_days, changes),
                    latest_due: business_days_after(due_on, max_days, changes),
                }),
            })
        }
        Some(stopped) if to != Status::WaitingOnCitizen => Some(TermClock {
            due_on: business_days_after(due_on, days_stopped(&stopped, today, changes), changes),
            suspended: None,
        }),
        _ => None,
    }
}

/// How many days from its opening a ticket keeps of its agency's calendar changes: five
/// years, longer than any term with its extension and stops runs, and than the years an
/// agency's calendar may be changed ahead (`change_calendar`: this one and two more).
pub const KEPT_DAYS: u64 = 1827;

/// The days of its agency's calendar a ticket opened on `opened` keeps.
pub fn kept_window(opened: NaiveDate) -> (NaiveDate, NaiveDate) {
    let last = opened
        .checked_add_days(chrono::Days::new(KEPT_DAYS))
        .unwrap_or(NaiveDate::MAX);
    (opened, last)
}

/// What a ticket opened on `opened` keeps of its agency's calendar changes.
pub fn kept_changes(agency: &CalendarChanges, opened: NaiveDate) -> CalendarChanges {
    let (first, last) = kept_window(opened);
    agency.between(first, last)
}

/// The term `ticket` has once its agency's calendar changes to `agency`: the changes it keeps
/// (those of the two years from its opening) and its clock recounted on them. A término keeps
/// its number of business days (as extended and stopped so far) from the day of receipt, so a
/// day off added inside it moves its due date a business day later, a make-up day a business
/// day earlier; a plazo counts calendar days, so only its last day matters: one that becomes
/// a day off ends on the next business day, and a plazo never extended nor stopped is counted
/// afresh. `None` when the ticket keeps the changes it had (or has no term).
pub fn recount(ticket: &Ticket, agency: &CalendarChanges) -> Option<(Term, TermClock)> {
    let term = ticket.term.as_ref()?;
    let due_on = ticket.due_on?;
    let opened = day_in_ecuador(ticket.created_at);
    let kept = kept_changes(agency, opened);
    if kept == term.calendar {
        return None;
    }
    let (old, new) = (&term.calendar, &kept);
    let received = |changes| calendar_for(opened, 0, changes).received_on(opened);
    let recounted_due = match term.kind {
        DayKind::Business => {
            let days = business_days_between(received(old), due_on, old);
            business_days_after(received(new), days, new)
        }
        DayKind::Calendar => {
            let untouched = ticket.extended.is_none()
                && ticket.suspended.is_none()
                && term_ends_on(term.kind, term.days, opened, old) == due_on;
            if untouched {
                term_ends_on(term.kind, term.days, opened, new)
            } else {
                calendar_for(due_on, 0, new).received_on(due_on)
            }
        }
    };
    let suspended = ticket.suspended.map(|stopped| {
        let stands = business_days_between(stopped.since, stopped.resumes_on, old);
        let beyond = business_days_between(due_on, stopped.latest_due, old);
        Suspension {
            since: stopped.since,
            resumes_on: business_days_after(stopped.since, stands, new),
            latest_due: business_days_after(recounted_due, beyond, new),
        }
    });
    Some((
        Term {
            calendar: kept,
            ..term.clone()
        },
        TermClock {
            due_on: recounted_due,
            suspended,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::calendar::NO_CHANGES;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn coa() -> Term {
        Term {
            days: 30,
            kind: DayKind::Business,
            basis: "COA, art. 207".into(),
            extension: None,
            warnings: Default::default(),
            calendar: CalendarChanges::default(),
        }
    }

    #[test]
    fn the_day_is_ecuadors() {
        // 03:00 UTC on a Saturday is still Friday evening in Guayaquil.
        assert_eq!(day_in_ecuador(at("2027-03-13T03:00:00Z")), d("2027-03-12"));
        assert_eq!(day_in_ecuador(at("2027-03-13T05:00:00Z")), d("2027-03-13"));
    }

    #[test]
    fn thirty_business_days_step_over_weekends_and_holidays() {
        // Received Monday 1 March 2027: the term starts on the 2nd; Good Friday (26 March)
        // rests, so the 30th business day is 13 April.
        assert_eq!(
            due_date(&coa(), at("2027-03-01T15:00:00Z")),
            d("2027-04-13")
        );
        // Received on a Saturday: counted from Monday 8 March, as if received then.
        assert_eq!(
            due_date(&coa(), at("2027-03-06T15:00:00Z")),
            due_date(&coa(), at("2027-03-08T15:00:00Z"))
        );
        // Across Christmas and New Year: 20 December 2027 + 30 business days.
        let ends = due_date(&coa(), at("2027-12-20T15:00:00Z"));
        assert_eq!(
            business_days_left(ends, d("2027-12-20"), &NO_CHANGES),
            30,
            "{ends}"
        );
        assert_eq!(ends, d("2028-02-02"));
    }

    #[test]
    fn a_calendar_term_ending_on_a_day_off_moves_to_the_next_business_day() {
        let plazo = Term {
            days: 15,
            kind: DayKind::Calendar,
            basis: "LOPDP".into(),
            extension: None,
            warnings: Default::default(),
            calendar: CalendarChanges::default(),
        };
        // Monday 1 March 2027: day one is Tuesday 2 March, day 15 Tuesday 16 March.
        assert_eq!(
            due_date(&plazo, at("2027-03-01T15:00:00Z")),
            d("2027-03-16")
        );
        // Friday 5 March: day one is Monday 8 March (not the Saturday), day 15 Monday 22.
        assert_eq!(
            due_date(&plazo, at("2027-03-05T15:00:00Z")),
            d("2027-03-22")
        );
        // Thursday 10 December 2026 + 15 days lands on Friday 25 December, Christmas: the
        // term ends on the next business day, Monday 28 December.
        assert_eq!(
            due_date(&plazo, at("2026-12-10T15:00:00Z")),
            d("2026-12-28")
        );
    }

    #[test]
    fn days_left_count_business_days_and_go_negative() {
        assert_eq!(
            business_days_left(d("2027-03-05"), d("2027-03-01"), &NO_CHANGES),
            4
        );
        assert_eq!(
            business_days_left(d("2027-03-05"), d("2027-03-05"), &NO_CHANGES),
            0
        );
        assert_eq!(
            business_days_left(d("2027-03-05"), d("2027-03-08"), &NO_CHANGES),
            -1
        );
        // Due on Friday 5 March: overdue on the Saturday already.
        assert_eq!(
            business_days_left(d("2027-03-05"), d("2027-03-06"), &NO_CHANGES),
            -1
        );
        assert_eq!(
            business_days_left(d("2027-03-05"), d("2027-03-09"), &NO_CHANGES),
            -2
        );
    }

    fn waiting_ticket(due: &str) -> Ticket {
        Ticket {
            status: Status::Open,
            due_on: Some(d(due)),
            ..Ticket::example()
        }
    }

    #[test]
    fn waiting_on_the_citizen_stops_the_clock_for_the_business_days_it_waits() {
        // Due Friday 16 April 2027; the agency asks the citizen on Monday 5 April.
        let open = waiting_ticket("2027-04-16");
        let stopped = clock_on(
            &open,
            Status::WaitingOnCitizen,
            at("2027-04-05T15:00:00Z"),
            10,
        )
        .expect("waiting stops the clock");
        let suspension = stopped.suspended.unwrap();
        assert_eq!(stopped.due_on, d("2027-04-16"));
        assert_eq!(suspension.since, d("2027-04-05"));
        // Ten business days after Monday 5 April is Monday 19 April; the due date moves
        // ten business days too: past Friday 30 April, where 1 May (a Saturday) rests, to
        // Monday 3 May.
        assert_eq!(suspension.resumes_on, d("2027-04-19"));
        assert_eq!(suspension.latest_due, d("2027-05-03"));
        let waiting = Ticket {
            status: Status::WaitingOnCitizen,
            due_on: Some(stopped.due_on),
            suspended: stopped.suspended,
            ..open.clone()
        };
        assert_eq!(waiting.due_key(), Some(d("2027-05-03")));
        // Waiting again (a second question) changes nothing.
        assert_eq!(
            clock_on(
                &waiting,
                Status::WaitingOnCitizen,
                at("2027-04-06T15:00:00Z"),
                10
            ),
            None
        );
        // The citizen answers on Thursday 8 April: three business days (6, 7, 8) lost.
        let resumed = clock_on(&waiting, Status::Open, at("2027-04-08T15:00:00Z"), 10).unwrap();
        assert_eq!(
            resumed,
            TermClock {
                due_on: d("2027-04-21"),
                suspended: None
            }
        );
        // Answering the same day loses none.
        let same_day = clock_on(&waiting, Status::Open, at("2027-04-05T20:00:00Z"), 10).unwrap();
        assert_eq!(same_day.due_on, d("2027-04-16"));
        // A month later: the clock ran again after ten business days; no more is added.
        let late = clock_on(&waiting, Status::Resolved, at("2027-05-10T15:00:00Z"), 10).unwrap();
        assert_eq!(late.due_on, d("2027-05-03"));
    }

    #[test]
    fn no_clock_without_a_due_date_or_with_suspensions_off() {
        let old = Ticket {
            status: Status::Open,
            ..Ticket::example()
        };
        assert_eq!(
            clock_on(
                &old,
                Status::WaitingOnCitizen,
                at("2027-04-05T15:00:00Z"),
                10
            ),
            None
        );
        let open = waiting_ticket("2027-04-16");
        assert_eq!(
            clock_on(
                &open,
                Status::WaitingOnCitizen,
                at("2027-04-05T15:00:00Z"),
                0
            ),
            None
        );
        assert_eq!(
            clock_on(&open, Status::Resolved, at("2027-04-05T15:00:00Z"), 10),
            None
        );
        assert_eq!(
            Ticket {
                status: Status::Resolved,
                ..open
            }
            .due_key(),
            None
        );
    }

    #[test]
    fn a_term_is_extended_once_before_it_ends() {
        use crate::model::term::TermExtension;
        let agent = crate::AgentId::parse("supervisora").unwrap();
        let ticket = Ticket {
            term: Some(Term {
                extension: Some(TermExtension {
                    days: 5,
                    notice: true,
                }),
                ..coa()
            }),
            ..waiting_ticket("2027-04-16")
        };
        let (clock, extension) = extend(
            &ticket,
            at("2027-04-16T20:00:00Z"),
            agent.clone(),
            "peritaje".into(),
        )
        .unwrap();
        // Five business days after Friday 16 April 2027.
        assert_eq!(clock.due_on, d("2027-04-23"));
        assert_eq!((extension.days, extension.was_due_on), (5, d("2027-04-16")));
        // Written on a ticket whose agents were told it was due soon: the new date's
        // warnings are owed afresh.
        let warned = Ticket {
            warned: Some(WarningPoint::DueSoon),
            ..ticket.clone()
        };
        let written = crate::TicketChange {
            term: Some(clock),
            extended: Some(extension.clone()),
            ..crate::TicketChange::default()
        }
        .apply(&warned, None);
        assert_eq!(
            (written.due_on, written.warned),
            (Some(d("2027-04-23")), None)
        );
        let extended = Ticket {
            due_on: Some(clock.due_on),
            extended: Some(extension),
            ..ticket.clone()
        };
        let again = extend(
            &extended,
            at("2027-04-19T15:00:00Z"),
            agent.clone(),
            "x".into(),
        );
        assert_eq!(again.unwrap_err(), ExtensionRefused::AlreadyExtended);
        // The day after the due date is too late.
        let late = extend(
            &ticket,
            at("2027-04-17T15:00:00Z"),
            agent.clone(),
            "x".into(),
        );
        assert_eq!(late.unwrap_err(), ExtensionRefused::Expired);
        let plain = Ticket {
            term: Some(coa()),
            ..ticket.clone()
        };
        let refused = extend(
            &plain,
            at("2027-04-05T15:00:00Z"),
            agent.clone(),
            "x".into(),
        );
        assert_eq!(refused.unwrap_err(), ExtensionRefused::NotAllowed);
        let done = Ticket {
            status: Status::Resolved,
            ..ticket.clone()
        };
        let refused = extend(&done, at("2027-04-05T15:00:00Z"), agent, "x".into());
        assert_eq!(refused.unwrap_err(), ExtensionRefused::Finished);
    }

    #[test]
    fn a_calendar_term_extended_still_ends_on_a_business_day() {
        // Christmas 2027 is a Saturday: it rests on Friday 24 December. Eight calendar days
        // after Thursday 16 December land on it, and move to Monday 27; five business days
        // after Friday 17 December step over it to the 27th too.
        assert_eq!(
            moved_on(d("2027-12-16"), 8, DayKind::Calendar, &NO_CHANGES),
            d("2027-12-27")
        );
        assert_eq!(
            moved_on(d("2027-12-17"), 5, DayKind::Business, &NO_CHANGES),
            d("2027-12-27")
        );
    }

    #[test]
    fn agents_are_warned_at_a_share_of_the_term_the_day_before_and_after_it() {
        use crate::model::term::WarningRules;
        // A queja of Monday 1 March 2027 with the COA's 30 business days: due 13 April.
        let ticket = Ticket {
            status: Status::Open,
            created_at: at("2027-03-01T15:00:00Z"),
            due_on: Some(d("2027-04-13")),
            term: Some(Term {
                warnings: WarningRules {
                    at_percent: 80,
                    days_before: 1,
                },
                ..coa()
            }),
            ..Ticket::example()
        };
        let points: Vec<(WarningPoint, NaiveDate)> =
            warnings(&ticket).iter().map(|w| (w.point, w.on)).collect();
        // 30 business days after 1 March to 13 April: when 80% have passed, 6 are left, from
        // Monday 5 April; the day before is the 12th; the day after, the 14th.
        assert_eq!(
            points,
            [
                (WarningPoint::SharePassed, d("2027-04-05")),
                (WarningPoint::DueSoon, d("2027-04-12")),
                (WarningPoint::Expired, d("2027-04-14")),
            ]
        );
        assert_eq!(warning_due(&ticket, d("2027-04-04")), None);
        assert_eq!(
            warning_due(&ticket, d("2027-04-05")),
            Some(WarningPoint::SharePassed)
        );
        // A sweeper that missed the first two sends only the latest.
        assert_eq!(
            warning_due(&ticket, d("2027-04-12")),
            Some(WarningPoint::DueSoon)
        );
        let warned = Ticket {
            warned: Some(WarningPoint::DueSoon),
            ..ticket.clone()
        };
        assert_eq!(warning_due(&warned, d("2027-04-13")), None);
        assert_eq!(next_warning(&warned).map(|w| w.on), Some(d("2027-04-14")));
        let done = Ticket {
            status: Status::Resolved,
            ..ticket
        };
        assert_eq!(next_warning(&done), None);
    }

    #[test]
    fn a_short_term_warns_once_before_it_ends() {
        use crate::model::term::WarningRules;
        // Five business days from Monday 1 March 2027: due Monday 8 March. 80% leaves one
        // day, the same as the day before: one warning that day.
        let ticket = Ticket {
            status: Status::New,
            created_at: at("2027-03-01T15:00:00Z"),
            due_on: Some(d("2027-03-08")),
            term: Some(Term {
                days: 5,
                warnings: WarningRules {
                    at_percent: 80,
                    days_before: 1,
                },
                ..coa()
            }),
            ..Ticket::example()
        };
        let points: Vec<WarningPoint> = warnings(&ticket).iter().map(|w| w.point).collect();
        assert_eq!(points, [WarningPoint::DueSoon, WarningPoint::Expired]);
        assert_eq!(
            business_days_before(d("2027-03-08"), 1, &NO_CHANGES),
            d("2027-03-05")
        );
    }

    #[test]
    fn an_expired_term_neither_stops_nor_is_extended_through_a_stop() {
        use crate::model::term::TermExtension;
        let agent = crate::AgentId::parse("supervisora").unwrap();
        // Due Thursday 1 April 2027; a week later the agency starts waiting on the citizen.
        let late = Ticket {
            term: Some(Term {
                extension: Some(TermExtension {
                    days: 5,
                    notice: true,
                }),
                ..coa()
            }),
            ..waiting_ticket("2027-04-01")
        };
        assert_eq!(
            clock_on(
                &late,
                Status::WaitingOnCitizen,
                at("2027-04-08T15:00:00Z"),
                10
            ),
            None,
            "an expired term's clock does not stop"
        );
        // Stopped in time (31 March), the term is measured as it has run: on 8 April, six
        // business days stood (1, 2, 5, 6, 7, 8 April), so it ends on 9 April and may be
        // extended. The clock runs again by itself on 14 April, ten business days stood: the
        // term ends on the 15th, and on the 16th it is too late.
        let stopped = clock_on(
            &late,
            Status::WaitingOnCitizen,
            at("2027-03-31T15:00:00Z"),
            10,
        )
        .unwrap();
        let waiting = Ticket {
            status: Status::WaitingOnCitizen,
            suspended: stopped.suspended,
            ..late.clone()
        };
        assert_eq!(
            running_due(&waiting, d("2027-04-08")),
            Some(d("2027-04-09"))
        );
        assert!(
            extend(
                &waiting,
                at("2027-04-08T15:00:00Z"),
                agent.clone(),
                "x".into()
            )
            .is_ok()
        );
        let too_late = extend(&waiting, at("2027-04-16T15:00:00Z"), agent, "x".into());
        assert_eq!(too_late.unwrap_err(), ExtensionRefused::Expired);
        // Resumed after a change of configuration: the stop allowed when it began counts.
        let resumed = clock_on(&waiting, Status::Open, at("2027-05-20T15:00:00Z"), 30).unwrap();
        assert_eq!(
            resumed.due_on,
            business_days_after(d("2027-04-01"), 10, &NO_CHANGES)
        );
    }

    #[test]
    fn a_stop_that_begins_on_a_day_off_counts_from_the_next_business_day() {
        // Saturday 3 April 2027: ten business days after it end on Friday 16 April.
        assert_eq!(
            business_days_after(d("2027-04-03"), 10, &NO_CHANGES),
            d("2027-04-16")
        );
        assert_eq!(
            business_days_after(d("2027-04-03"), 0, &NO_CHANGES),
            d("2027-04-03")
        );
    }

    fn opened_with(term: Term, at_text: &str) -> Ticket {
        let opened = at(at_text);
        Ticket {
            status: Status::Open,
            created_at: opened,
            due_on: Some(due_date(&term, opened)),
            term: Some(term),
            ..Ticket::example()
        }
    }

    fn changed(days_off: &[&str], working_days: &[&str]) -> CalendarChanges {
        CalendarChanges {
            days_off: days_off.iter().map(|day| d(day)).collect(),
            working_days: working_days.iter().map(|day| d(day)).collect(),
        }
    }

    fn recounted(ticket: &Ticket, agency: &CalendarChanges) -> Ticket {
        let (term, clock) = recount(ticket, agency).expect("the changes are the ticket's");
        Ticket {
            term: Some(term),
            due_on: Some(clock.due_on),
            suspended: clock.suspended,
            ..ticket.clone()
        }
    }

    #[test]
    fn a_day_off_added_inside_a_termino_moves_its_due_date_and_a_make_up_day_back() {
        // Opened Monday 1 March 2027, due Tuesday 13 April (above).
        let ticket = opened_with(coa(), "2027-03-01T15:00:00Z");
        assert_eq!(ticket.due_on, Some(d("2027-04-13")));
        let bridge = changed(&["2027-03-10"], &[]);
        let moved = recounted(&ticket, &bridge);
        assert_eq!(moved.due_on, Some(d("2027-04-14")));
        assert_eq!(moved.calendar(), &bridge);
        // Its make-up Saturday gives the day back.
        let made_up = changed(&["2027-03-10"], &["2027-03-20"]);
        assert_eq!(recounted(&moved, &made_up).due_on, Some(d("2027-04-13")));
        // Taken back: the national calendar again.
        assert_eq!(recounted(&moved, &NO_CHANGES).due_on, Some(d("2027-04-13")));
        // Changes it cannot meet (years away) are not kept, and change nothing.
        assert_eq!(recount(&ticket, &changed(&["2033-03-10"], &[])), None);
        // A day off added on the day of receipt: received the next business day.
        let on_receipt = recounted(&ticket, &changed(&["2027-03-01"], &[]));
        assert_eq!(on_receipt.due_on, Some(d("2027-04-14")));
    }

    #[test]
    fn a_plazo_moves_only_when_its_last_day_rests() {
        let plazo = Term {
            days: 15,
            kind: DayKind::Calendar,
            ..coa()
        };
        let ticket = opened_with(plazo, "2027-03-01T15:00:00Z");
        assert_eq!(ticket.due_on, Some(d("2027-03-16")));
        let inside = recounted(&ticket, &changed(&["2027-03-10"], &[]));
        assert_eq!(inside.due_on, Some(d("2027-03-16")));
        let last = recounted(&inside, &changed(&["2027-03-10", "2027-03-16"], &[]));
        assert_eq!(last.due_on, Some(d("2027-03-17")));
        // The day off taken back: counted afresh.
        assert_eq!(recounted(&last, &NO_CHANGES).due_on, Some(d("2027-03-16")));
    }

    #[test]
    fn a_stopped_clock_is_recounted_with_its_term() {
        // Stopped on Monday 8 March 2027 for at most 10 business days: it runs again by itself
        // on Monday 22 March, and would then be due on 27 April.
        let ticket = opened_with(coa(), "2027-03-01T15:00:00Z");
        let clock = clock_on(
            &ticket,
            Status::WaitingOnCitizen,
            at("2027-03-08T15:00:00Z"),
            10,
        )
        .unwrap();
        let waiting = Ticket {
            status: Status::WaitingOnCitizen,
            suspended: clock.suspended,
            ..ticket
        };
        let stopped = waiting.suspended.unwrap();
        assert_eq!(
            (stopped.resumes_on, stopped.latest_due),
            (d("2027-03-22"), d("2027-04-27"))
        );
        // A day off on Friday 12 March, inside the stop and the term.
        let moved = recounted(&waiting, &changed(&["2027-03-12"], &[]));
        let stopped = moved.suspended.unwrap();
        assert_eq!(moved.due_on, Some(d("2027-04-14")));
        assert_eq!(
            (stopped.resumes_on, stopped.latest_due),
            (d("2027-03-23"), d("2027-04-28"))
        );
    }

    #[test]
    fn two_changes_recounted_over_stale_snapshots_both_land_in_either_order() {
        // Two admins at once: A adds 10 March, B 11 March. Each recount reads the agency's
        // calendar right after its own save, so one of them may not see the other's day.
        let ticket = opened_with(coa(), "2027-03-01T15:00:00Z");
        let a_only = changed(&["2027-03-10"], &[]);
        let both = changed(&["2027-03-10", "2027-03-11"], &[]);
        let b_only = changed(&["2027-03-11"], &[]);
        let one_day = |ticket: &Ticket, day: &str, agency: &CalendarChanges| {
            recounted(ticket, &ticket.calendar().with_day_of(d(day), agency))
        };
        // A recounts with only its day, B with both, in each order of writes.
        let a_then_b = one_day(
            &one_day(&ticket, "2027-03-10", &a_only),
            "2027-03-11",
            &both,
        );
        let b_then_a = one_day(
            &one_day(&ticket, "2027-03-11", &both),
            "2027-03-10",
            &a_only,
        );
        // B recounts with only its day, A with both.
        let stale_b = one_day(
            &one_day(&ticket, "2027-03-11", &b_only),
            "2027-03-10",
            &both,
        );
        for done in [a_then_b, b_then_a, stale_b] {
            assert_eq!(done.calendar(), &both);
            assert_eq!(done.due_on, Some(d("2027-04-15")));
        }
    }
}
