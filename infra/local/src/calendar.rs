//! `ventanilla-local calendar`: Ecuador's national calendar as the deadlines will use it, for
//! an agent or an engineer to check a date against the official one.

use chrono::{Datelike, NaiveDate, Weekday};
use ventanilla_domain::rules::calendar::{Calendar, YEARS, national_rest_days};

fn weekday_es(day: NaiveDate) -> &'static str {
    match day.weekday() {
        Weekday::Mon => "lunes",
        Weekday::Tue => "martes",
        Weekday::Wed => "miércoles",
        Weekday::Thu => "jueves",
        Weekday::Fri => "viernes",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

/// One line per rest day of `year`'s holidays: the day, its weekday, the holiday and, when the
/// law moved the rest, the date the holiday falls on.
pub fn holidays(year: i32) -> String {
    national_rest_days(year)
        .iter()
        .map(|rest| {
            let moved = if rest.date == rest.falls_on {
                String::new()
            } else {
                format!(" (cae el {} {})", weekday_es(rest.falls_on), rest.falls_on)
            };
            let (date, day) = (rest.date, weekday_es(rest.date));
            format!("{date} {day:<9} {}{moved}\n", rest.holiday.name_es())
        })
        .collect()
}

/// The last day of a term of `days` business days for a request received on `from`.
pub fn due(from: NaiveDate, days: u32) -> Result<String, String> {
    // Over 200 business days a year, whatever the holidays: one year more per 200 days, and
    // one more for the term's last weeks, covers the whole term.
    let last = from.year() + 1 + i32::try_from(days / 200).unwrap_or(i32::MAX / 2);
    if !YEARS.contains(&from.year()) || !YEARS.contains(&last) {
        return Err(format!(
            "the calendar covers {} to {}: a term from {from} leaves it",
            YEARS.start(),
            YEARS.end()
        ));
    }
    let calendar = Calendar::national(from.year(), last);
    let end = calendar.term_ends(from, days);
    Ok(format!("{end} {}\n", weekday_es(end)))
}
