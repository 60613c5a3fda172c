//! The date a ticket is due: its term counted on Ecuador's calendar (`rules::calendar`) from
//! the day it was received, in America/Guayaquil. A request received on a day off counts as
//! received on the next business day, and the term starts the business day after.

use chrono::{Datelike, NaiveDate};

use crate::model::term::{DayKind, Term};
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
    let day = day_in_ecuador(received);
    let calendar = calendar_for(day, term.days);
    match term.kind {
        DayKind::Business => calendar.term_ends(day, term.days),
        DayKind::Calendar => {
            // Day one is the business day after receipt, as for a término.
            let first = calendar.term_ends(day, 1);
            let end = first
                .checked_add_days(chrono::Days::new(term.days.saturating_sub(1).into()))
                .unwrap_or(first);
            calendar.received_on(end)
        }
    }
}

/// Business days from `today` to `due`: 0 on the due day, negative once it has passed (at
/// least -1 on the weekend after a Friday's due date).
pub fn business_days_left(due: NaiveDate, today: NaiveDate) -> i64 {
    let (from, to, sign) = if today <= due {
        (today, due, 1)
    } else {
        (due, today, -1)
    };
    let calendar = Calendar::national(from.year().max(*YEARS.start()), to.year());
    let mut count = 0;
    let mut day = from;
    while day < to {
        let Some(next) = day.succ_opt() else { break };
        day = next;
        if calendar.is_business_day(day) {
            count += 1;
        }
    }
    if sign < 0 { -count.max(1) } else { count }
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
}
