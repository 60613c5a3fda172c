//! Ecuador's national calendar of rest days, computed, and the business days it leaves.
//!
//! The holidays and how they move are those of the Ley Orgánica Reformatoria a la LOSEP y al
//! Código del Trabajo (Registro Oficial 906, 20 December 2016), in force since 2017:
//!
//! - New Year (1 January), Carnival (the Monday and Tuesday before Ash Wednesday), Good Friday,
//!   Labour Day (1 May), the Battle of Pichincha (24 May), the First Cry of Independence
//!   (10 August), the Independence of Guayaquil (9 October), All Souls' Day and the Independence
//!   of Cuenca (2 and 3 November), Christmas (25 December).
//! - A holiday on a Tuesday rests on the Monday before; on a Wednesday or Thursday, on the
//!   Friday after; on a Saturday, on the Friday before; on a Sunday, on the Monday after.
//! - 1 January and 25 December keep their weekday and move only off a weekend; Carnival and
//!   Good Friday never move.
//! - 2 and 3 November move as a pair: Monday-Tuesday, Thursday-Friday stay; Tuesday-Wednesday
//!   rest Monday-Tuesday; Wednesday-Thursday rest Thursday-Friday; Friday-Saturday rest
//!   Thursday-Friday; Saturday-Sunday rest Friday-Monday; Sunday-Monday rest Monday-Tuesday.
//!
//! When a holiday moves, its own date is a working day. Decreed bridges, their make-up days and
//! an agency's local holidays are not computed: an admin adds them (`CalendarChanges`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// A national holiday, by what it commemorates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    NewYear,
    Carnival,
    GoodFriday,
    LabourDay,
    BattleOfPichincha,
    FirstCryOfIndependence,
    IndependenceOfGuayaquil,
    AllSouls,
    IndependenceOfCuenca,
    Christmas,
}

impl Holiday {
    /// Its name in Spanish, as the official calendar writes it.
    pub fn name_es(self) -> &'static str {
        match self {
            Holiday::NewYear => "Año Nuevo",
            Holiday::Carnival => "Carnaval",
            Holiday::GoodFriday => "Viernes Santo",
            Holiday::LabourDay => "Día del Trabajo",
            Holiday::BattleOfPichincha => "Batalla de Pichincha",
            Holiday::FirstCryOfIndependence => "Primer Grito de Independencia",
            Holiday::IndependenceOfGuayaquil => "Independencia de Guayaquil",
            Holiday::AllSouls => "Día de los Difuntos",
            Holiday::IndependenceOfCuenca => "Independencia de Cuenca",
            Holiday::Christmas => "Navidad",
        }
    }
}

/// A day of rest: the day nobody works, the holiday it is for and the date that holiday
/// falls on (the same day unless the law moved the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestDay {
    pub date: NaiveDate,
    pub holiday: Holiday,
    pub falls_on: NaiveDate,
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous algorithm of Meeus,
/// Jones and Butcher).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as u32, day as u32)
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap_or_else(|| unreachable!("{year}-{month}-{day} is a date of the calendar"))
}

/// Where the rest of a movable holiday goes.
fn moved(day: NaiveDate) -> NaiveDate {
    let shift = match day.weekday() {
        Weekday::Tue => -1,
        Weekday::Wed => 2,
        Weekday::Thu => 1,
        Weekday::Sat => -1,
        Weekday::Sun => 1,
        Weekday::Mon | Weekday::Fri => 0,
    };
    day + Duration::days(shift)
}

/// Where the rest of 1 January or 25 December goes: only off a weekend.
fn off_weekend(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => day - Duration::days(1),
        Weekday::Sun => day + Duration::days(1),
        _ => day,
    }
}

/// Where the rests of 2 and 3 November go, as a pair.
fn all_souls_and_cuenca(year: i32) -> [NaiveDate; 2] {
    let (second, third) = (date(year, 11, 2), date(year, 11, 3));
    let day = |n: i64| second + Duration::days(n);
    match second.weekday() {
        Weekday::Mon | Weekday::Thu => [second, third],
        Weekday::Tue => [day(-1), second],
        Weekday::Wed => [third, day(2)],
        Weekday::Fri => [day(-1), second],
        Weekday::Sat => [day(-1), day(2)],
        Weekday::Sun => [third, day(2)],
    }
}

/// The years the law's rules apply to: from its first year to the last chrono dates fully.
pub const YEARS: std::ops::RangeInclusive<i32> = 2017..=9999;

/// The national rest days of the holidays of `year`, in date order; none outside [`YEARS`].
/// A 1 January on a Saturday rests on 31 December of the year before: it is in the list of
/// `year`, dated in the year before.
pub fn national_rest_days(year: i32) -> Vec<RestDay> {
    if !YEARS.contains(&year) {
        return Vec::new();
    }
    let easter = easter(year);
    let rest = |date: NaiveDate, holiday: Holiday, falls_on: NaiveDate| RestDay {
        date,
        holiday,
        falls_on,
    };
    let fixed = |month: u32, day: u32, holiday: Holiday| {
        let falls_on = date(year, month, day);
        rest(moved(falls_on), holiday, falls_on)
    };
    let [all_souls, cuenca] = all_souls_and_cuenca(year);
    let new_year = date(year, 1, 1);
    let christmas = date(year, 12, 25);
    let carnival_monday = easter - Duration::days(48);
    let carnival_tuesday = easter - Duration::days(47);
    let good_friday = easter - Duration::days(2);
    let mut days = vec![
        rest(off_weekend(new_year), Holiday::NewYear, new_year),
        rest(carnival_monday, Holiday::Carnival, carnival_monday),
        rest(carnival_tuesday, Holiday::Carnival, carnival_tuesday),
        rest(good_friday, Holiday::GoodFriday, good_friday),
        fixed(5, 1, Holiday::LabourDay),
        fixed(5, 24, Holiday::BattleOfPichincha),
        fixed(8, 10, Holiday::FirstCryOfIndependence),
        fixed(10, 9, Holiday::IndependenceOfGuayaquil),
        rest(all_souls, Holiday::AllSouls, date(year, 11, 2)),
        rest(cuenca, Holiday::IndependenceOfCuenca, date(year, 11, 3)),
        rest(off_weekend(christmas), Holiday::Christmas, christmas),
    ];
    days.sort_by_key(|day| day.date);
    days
}

/// What an agency's calendar changes of the national one: days it rests besides (a decreed
/// bridge, a local holiday) and days it works that would rest (a make-up Saturday).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarChanges {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub days_off: BTreeSet<NaiveDate>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub working_days: BTreeSet<NaiveDate>,
}

/// No changes: the national calendar as computed.
pub static NO_CHANGES: CalendarChanges = CalendarChanges {
    days_off: BTreeSet::new(),
    working_days: BTreeSet::new(),
};

impl CalendarChanges {
    pub fn is_empty(&self) -> bool {
        self.days_off.is_empty() && self.working_days.is_empty()
    }

    /// These changes with `day` as `agency` has it: what a change of one day makes of a
    /// ticket's, whatever other changes are being written meanwhile.
    pub fn with_day_of(&self, day: NaiveDate, agency: &CalendarChanges) -> CalendarChanges {
        let mut changed = self.clone();
        changed.days_off.remove(&day);
        changed.working_days.remove(&day);
        if agency.days_off.contains(&day) {
            changed.days_off.insert(day);
        }
        if agency.working_days.contains(&day) {
            changed.working_days.insert(day);
        }
        changed
    }

    /// Those from `first` to `last`: what a ticket keeps of its agency's (a term runs for
    /// weeks, an agency's changes may be added years ahead).
    pub fn between(&self, first: NaiveDate, last: NaiveDate) -> CalendarChanges {
        let keep = |days: &BTreeSet<NaiveDate>| days.range(first..=last).copied().collect();
        CalendarChanges {
            days_off: keep(&self.days_off),
            working_days: keep(&self.working_days),
        }
    }
}

/// The national rest days of a range of years, with an agency's changes, to ask which days
/// are business days.
#[derive(Debug, Clone)]
pub struct Calendar {
    rest_days: BTreeSet<NaiveDate>,
    working_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The national calendar from `first` to `last` year and the year after (whose 1 January
    /// may rest on the last day of `last`). A term is counted right only while it ends inside
    /// those years: a caller asks for as many as its longest term needs.
    pub fn national(first: i32, last: i32) -> Calendar {
        Calendar::changed(first, last, &NO_CHANGES)
    }

    /// The national calendar of those years (as [`Calendar::national`]) with an agency's
    /// `changes`.
    pub fn changed(first: i32, last: i32, changes: &CalendarChanges) -> Calendar {
        let mut rest_days: BTreeSet<NaiveDate> = (first..=last.saturating_add(1))
            .flat_map(national_rest_days)
            .map(|day| day.date)
            .collect();
        rest_days.extend(changes.days_off.iter().copied());
        Calendar {
            rest_days,
            working_days: changes.working_days.clone(),
        }
    }

    /// A day worked (a make-up day), or neither a weekend nor a rest day.
    pub fn is_business_day(&self, day: NaiveDate) -> bool {
        self.working_days.contains(&day)
            || (!matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
                && !self.rest_days.contains(&day))
    }

    /// The business day a request received on `day` counts as received: `day` itself, or the
    /// next business day after a weekend or a rest day.
    pub fn received_on(&self, day: NaiveDate) -> NaiveDate {
        let mut day = day;
        while !self.is_business_day(day) {
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        day
    }

    /// The last day of a term of `days` business days for a request received on `received`:
    /// the term starts the business day after the (business) day of receipt.
    pub fn term_ends(&self, received: NaiveDate, days: u32) -> NaiveDate {
        let mut day = self.received_on(received);
        let mut left = days;
        while left > 0 {
            // The calendar's last day ends any term (chrono's dates end in the year 262143).
            let Some(next) = day.succ_opt() else { break };
            day = next;
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn rest_days(year: i32) -> Vec<String> {
        national_rest_days(year)
            .iter()
            .map(|day| day.date.to_string())
            .collect()
    }

    #[test]
    fn easter_matches_the_tables() {
        for (year, sunday) in [
            (2016, "2016-03-27"),
            (2017, "2017-04-16"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter(year), d(sunday), "{year}");
        }
    }

    /// 2017 as the Presidency announced it when the law was signed (December 2016).
    #[test]
    fn the_first_year_of_the_law_is_the_announced_one() {
        assert_eq!(
            rest_days(2017),
            [
                "2017-01-02", // New Year on a Sunday
                "2017-02-27",
                "2017-02-28",
                "2017-04-14",
                "2017-05-01",
                "2017-05-26", // 24 May, a Wednesday
                "2017-08-11", // 10 August, a Thursday
                "2017-10-09",
                "2017-11-02", // Thursday and Friday stay
                "2017-11-03",
                "2017-12-25",
            ]
        );
    }

    #[test]
    fn holidays_move_to_the_weekend_beside_them() {
        let rest = |year| rest_days(year);
        // 2025: 1 May a Thursday, 24 May a Saturday, 10 August a Sunday, 9 October a Thursday.
        for day in ["2025-05-02", "2025-05-23", "2025-08-11", "2025-10-10"] {
            assert!(rest(2025).contains(&day.to_owned()), "{day}");
        }
        for day in ["2025-05-01", "2025-05-24", "2025-08-10", "2025-10-09"] {
            assert!(!rest(2025).contains(&day.to_owned()), "{day}");
        }
        // 9 October 2018, a Tuesday, rested on Monday 8; in 2019, a Wednesday, on Friday 11.
        assert!(rest(2018).contains(&"2018-10-08".to_owned()));
        assert!(rest(2019).contains(&"2019-10-11".to_owned()));
        // Christmas and New Year keep a weekday: 25 December 2019 a Wednesday, 1 January 2025.
        assert!(rest(2019).contains(&"2019-12-25".to_owned()));
        assert!(rest(2025).contains(&"2025-01-01".to_owned()));
    }

    #[test]
    fn all_souls_and_cuenca_move_as_a_pair() {
        let pair = |year: i32| {
            let [a, b] = all_souls_and_cuenca(year);
            [a.to_string(), b.to_string()]
        };
        assert_eq!(pair(2020), ["2020-11-02", "2020-11-03"]); // Monday-Tuesday
        assert_eq!(pair(2021), ["2021-11-01", "2021-11-02"]); // Tuesday-Wednesday
        assert_eq!(pair(2022), ["2022-11-03", "2022-11-04"]); // Wednesday-Thursday
        assert_eq!(pair(2023), ["2023-11-02", "2023-11-03"]); // Thursday-Friday
        assert_eq!(pair(2018), ["2018-11-01", "2018-11-02"]); // Friday-Saturday
        assert_eq!(pair(2019), ["2019-11-01", "2019-11-04"]); // Saturday-Sunday
        assert_eq!(pair(2025), ["2025-11-03", "2025-11-04"]); // Sunday-Monday
    }

    #[test]
    fn a_new_year_on_a_saturday_rests_the_friday_before() {
        // 1 January 2022 was a Saturday: the rest was Friday 31 December 2021.
        assert_eq!(national_rest_days(2022)[0].date, d("2021-12-31"));
        let calendar = Calendar::national(2021, 2021);
        assert!(!calendar.is_business_day(d("2021-12-31")));
        assert!(calendar.is_business_day(d("2021-12-30")));
    }

    #[test]
    fn every_year_has_eleven_rest_days_on_weekdays() {
        for year in 2017..=2060 {
            let days = national_rest_days(year);
            assert_eq!(days.len(), 11, "{year}");
            for day in &days {
                assert!(
                    !matches!(day.date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{year}: {day:?}"
                );
                assert!((day.date - day.falls_on).num_days().abs() <= 2, "{day:?}");
            }
            let unique: BTreeSet<_> = days.iter().map(|day| day.date).collect();
            assert_eq!(unique.len(), 11, "{year}: two holidays on one day");
        }
    }

    #[test]
    fn terms_count_business_days_from_the_day_after_receipt() {
        let calendar = Calendar::national(2026, 2027);
        // Received Friday 5 February 2027: Carnival is Monday 8 and Tuesday 9 February.
        assert_eq!(calendar.term_ends(d("2027-02-05"), 1), d("2027-02-10"));
        // Received on a Saturday: it counts as received on Monday.
        assert_eq!(calendar.received_on(d("2026-03-07")), d("2026-03-09"));
        assert_eq!(calendar.term_ends(d("2026-03-07"), 1), d("2026-03-10"));
        // Across Christmas (Friday 25 December 2026) and New Year (Friday 1 January 2027).
        assert_eq!(calendar.term_ends(d("2026-12-23"), 3), d("2026-12-29"));
        assert_eq!(calendar.term_ends(d("2026-12-30"), 2), d("2027-01-04"));
        // Thirty business days (COA art. 207) from Monday 2 March 2026: Good Friday is 3 April.
        assert_eq!(calendar.term_ends(d("2026-03-02"), 30), d("2026-04-14"));
        // No term runs past the last date there is.
        assert_eq!(calendar.term_ends(NaiveDate::MAX, 5), NaiveDate::MAX);
    }

    #[test]
    fn an_agency_rests_on_its_own_days_and_works_its_make_up_days() {
        // A bridge decreed for Friday 12 February 2027 (after Carnival), made up on Saturday
        // 20 February; Quito's foundation day, Monday 6 December 2027, rests there.
        let changes = CalendarChanges {
            days_off: [d("2027-02-12"), d("2027-12-06")].into(),
            working_days: [d("2027-02-20")].into(),
        };
        let calendar = Calendar::changed(2027, 2027, &changes);
        assert!(!calendar.is_business_day(d("2027-02-12")));
        assert!(calendar.is_business_day(d("2027-02-20")));
        assert!(!calendar.is_business_day(d("2027-02-21")));
        // Received Wednesday 10 February: Thursday 11 is the first day, then the rest day and
        // the weekend; the make-up Saturday of the next week counts.
        assert_eq!(calendar.term_ends(d("2027-02-10"), 2), d("2027-02-15"));
        assert_eq!(calendar.term_ends(d("2027-02-15"), 5), d("2027-02-20"));
        let national = Calendar::national(2027, 2027);
        assert_eq!(national.term_ends(d("2027-02-15"), 5), d("2027-02-22"));
        // A ticket keeps the changes its term may meet.
        let kept = changes.between(d("2027-01-01"), d("2027-06-30"));
        assert_eq!(kept.days_off, [d("2027-02-12")].into());
        assert_eq!(kept.working_days, [d("2027-02-20")].into());
        assert!(NO_CHANGES.is_empty() && !kept.is_empty());
        // One day's change, over changes that differ on others.
        let one = NO_CHANGES.with_day_of(d("2027-02-20"), &changes);
        assert_eq!(one.working_days, [d("2027-02-20")].into());
        assert!(one.days_off.is_empty());
        assert_eq!(one.with_day_of(d("2027-02-20"), &NO_CHANGES), NO_CHANGES);
    }
}
