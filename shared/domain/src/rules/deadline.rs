//! The date a ticket is due: its term counted on Ecuador's calendar (`rules::calendar`) from
//! the day it was received, in America/Guayaquil. A request received on a day off counts as
//! received on the next business day, and the term starts the business day after.

use chrono::{Datelike, NaiveDate};

use crate::model::status::Status;
use crate::model::term::{DayKind, Suspension, Term, TermClock};
use crate::model::ticket::Ticket;
use crate::model::time::Timestamp;
use crate::rules::calendar::{Calendar, YEARS};

/// The day it is in Ecuador at `at`.
pub fn day_in_ecuador(at: Timestamp) -> NaiveDate {
    at.in_ecuador().date_naive()
}

/// The national calendar from `first`'s year through as many years as `days` days may run.
fn calendar_for(first: NaiveDate, days: u32) -> Calendar {
    let year = first.year().max(*YEARS.start());
    // A business day is at most a week away: 250 of them a year is a safe measure.
    let years = i32::try_from(days / 200)
        .unwrap_or(i32::MAX)
        .saturating_add(1);
    Calendar::national(year, year.saturating_add(years))
}

/// The last day of `term` for a request received at `received`.
pub fn due_date(term: &Term, received: Timestamp) -> NaiveDate {
    term_ends_on(term.kind, term.days, day_in_ecuador(received))
}

/// The last day of a term of `days` days of `kind` for a request received on `day` (in
/// Ecuador): what an agent asks the calendar ("the 30th business day after 5 February").
pub fn term_ends_on(kind: DayKind, days: u32, day: NaiveDate) -> NaiveDate {
    let calendar = calendar_for(day, days);
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
    Ok(term_ends_on(kind, days, from))
}

/// Business days from `today` to `due`: 0 on the due day, negative once it has passed (at
/// least -1 on the weekend after a Friday's due date).
pub fn business_days_left(due: NaiveDate, today: NaiveDate) -> i64 {
    if today <= due {
        i64::from(business_days_between(today, due))
    } else {
        -i64::from(business_days_between(due, today).max(1))
    }
}

/// The business days after `from` up to and including `to`; 0 when `to` is not later.
pub fn business_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let calendar = Calendar::national(from.year().max(*YEARS.start()), to.year());
    from.iter_days()
        .skip(1)
        .take_while(|day| *day <= to)
        .filter(|day| calendar.is_business_day(*day))
        .count()
        .try_into()
        .unwrap_or(u32::MAX)
}

/// The `days`th business day after `day` (a business day): a due date moved on.
pub fn business_days_after(day: NaiveDate, days: u32) -> NaiveDate {
    calendar_for(day, days).term_ends(day, days)
}

/// The term's clock after `ticket` goes to `to` at `at`. It stops when the agency starts
/// waiting on the citizen, and starts again when it stops waiting, the due date moved by the
/// business days it was stopped, `max_days` at most (after which it ran again by itself).
/// `None` when the clock does not change, or when suspensions are off (`max_days` 0).
pub fn clock_on(ticket: &Ticket, to: Status, at: Timestamp, max_days: u32) -> Option<TermClock> {
    let due_on = ticket.due_on?;
    let today = day_in_ecuador(at);
    match ticket.suspended {
        None if to == Status::WaitingOnCitizen && max_days > 0 => Some(TermClock {
            due_on,
            suspended: Some(Suspension {
                since: today,
                resumes_on: business_days_after(today, max_days),
                latest_due: business_days_after(due_on, max_days),
            }),
        }),
        Some(stopped) if to != Status::WaitingOnCitizen => {
            let days = business_days_between(stopped.since, today).min(max_days);
            Some(TermClock {
                due_on: business_days_after(due_on, days),
                suspended: None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(business_days_left(ends, d("2027-12-20")), 30, "{ends}");
        assert_eq!(ends, d("2028-02-02"));
    }

    #[test]
    fn a_calendar_term_ending_on_a_day_off_moves_to_the_next_business_day() {
        let plazo = Term {
            days: 15,
            kind: DayKind::Calendar,
            basis: "LOPDP".into(),
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
        assert_eq!(business_days_left(d("2027-03-05"), d("2027-03-01")), 4);
        assert_eq!(business_days_left(d("2027-03-05"), d("2027-03-05")), 0);
        assert_eq!(business_days_left(d("2027-03-05"), d("2027-03-08")), -1);
        // Due on Friday 5 March: overdue on the Saturday already.
        assert_eq!(business_days_left(d("2027-03-05"), d("2027-03-06")), -1);
        assert_eq!(business_days_left(d("2027-03-05"), d("2027-03-09")), -2);
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
}
