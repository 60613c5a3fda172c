//! `ventanilla-local calendar`: Ecuador's national calendar as the deadlines will use it, for
//! an agent or an engineer to check a date against the official one.

use chrono::{Datelike, NaiveDate, Weekday};
use ventanilla_app::change_calendar::year_of;
use ventanilla_domain::model::agencies::{CalendarDay, DayChange};
use ventanilla_domain::model::term::DayKind;
use ventanilla_domain::rules::calendar::CalendarChanges;
use ventanilla_domain::rules::deadline::ask_term_end;
use ventanilla_domain::{AgencyCode, Choice, Labelled};

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

/// One line per rest day of `year`: the day, its weekday, the holiday and, when the law
/// moved the rest, the date the holiday falls on; with an agency, its own days too (those in
/// `changed`, what its admins set), each saying what it is.
pub fn holidays(year: i32, changed: &[CalendarDay], agency: Option<&AgencyCode>) -> String {
    year_of(year, changed, agency)
        .iter()
        .map(|rest| {
            let note = match (rest.falls_on, rest.kind) {
                (Some(falls_on), _) => {
                    format!(" (cae el {} {falls_on})", weekday_es(falls_on))
                }
                (None, "national_holiday") => String::new(),
                (None, kind) => {
                    let label = DayChange::parse(kind)
                        .map(|k| k.labels().0.to_lowercase())
                        .unwrap_or_default();
                    let works = if rest.works { ": se trabaja" } else { "" };
                    format!(" ({label}{works})")
                }
            };
            let (date, day) = (rest.day, weekday_es(rest.day));
            format!("{date} {day:<9} {}{note}\n", rest.name)
        })
        .collect()
}

/// The last day of a term of `days` days of `kind` for a request received on `from`, on the
/// national calendar with an agency's `changes`.
pub fn due(
    from: NaiveDate,
    days: u32,
    kind: DayKind,
    changes: &CalendarChanges,
) -> Result<String, String> {
    let end = ask_term_end(kind, days, from, changes).map_err(|e| e.to_string())?;
    Ok(format!("{end} {}\n", weekday_es(end)))
}
