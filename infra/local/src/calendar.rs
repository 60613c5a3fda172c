//! `ventanilla-local calendar`: Ecuador's national calendar as the deadlines will use it, for
//! an agent or an engineer to check a date against the official one.

use chrono::{Datelike, NaiveDate, Weekday};
use ventanilla_domain::model::term::DayKind;
use ventanilla_domain::rules::calendar::national_rest_days;
use ventanilla_domain::rules::deadline::ask_term_end;

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

/// The last day of a term of `days` days of `kind` for a request received on `from`.
pub fn due(from: NaiveDate, days: u32, kind: DayKind) -> Result<String, String> {
    let end = ask_term_end(kind, days, from).map_err(|e| e.to_string())?;
    Ok(format!("{end} {}\n", weekday_es(end)))
}
