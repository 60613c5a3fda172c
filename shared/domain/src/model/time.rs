//! Instants as the domain stores them: UTC, millisecond precision, and a fixed-width text
//! form, so that text order is time order in sort keys of every store.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Timestamp(at.trunc_subsecs(3))
    }

    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Timestamp)
    }

    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| Timestamp::from_datetime(at.with_timezone(&Utc)))
    }

    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// The instant in Ecuador's time (America/Guayaquil: UTC-5 all year, no daylight saving
    /// since 1993, so a fixed offset is the zone exactly).
    pub fn in_ecuador(self) -> DateTime<chrono::FixedOffset> {
        let offset = chrono::FixedOffset::west_opt(5 * 3600)
            .unwrap_or_else(|| unreachable!("five hours is an offset"));
        self.0.with_timezone(&offset)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    pub fn year(self) -> u16 {
        use chrono::Datelike;
        // Years outside u16 are not representable by chrono's parser in our format anyway.
        u16::try_from(self.0.year()).unwrap_or(0)
    }

    pub fn plus(self, duration: chrono::Duration) -> Self {
        Timestamp::from_datetime(self.0 + duration)
    }
}

impl fmt::Display for Timestamp {
    /// `2025-03-01T10:00:00.123Z`, its digits put in place: every stored record writes
    /// several timestamps, and `write!` with seven padded fields was 3.5% of an opening's
    /// instructions (chrono's format string, before it, was interpreted on every call). A
    /// leap second, which `parse` accepts, is written as `:59.999`, as it always was here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = &self.0;
        let Ok(year @ 0..=9999) = u32::try_from(t.year()) else {
            // Outside four digits (never parsed from a stored record): as chrono writes it.
            return write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        };
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let fields = [
            (0, 4, year),
            (5, 2, t.month()),
            (8, 2, t.day()),
            (11, 2, t.hour()),
            (14, 2, t.minute()),
            (17, 2, t.second()),
            (20, 3, (t.nanosecond() / 1_000_000).min(999)),
        ];
        for (at, width, mut value) in fields {
            for digit in text[at..at + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 instant: {text}")))
    }
}

/// A date as a person reads it: "miércoles 17 de marzo de 2027", "Wednesday 17 March 2027"
/// (the es-EC names of chrono's locale data).
pub fn long_date(date: chrono::NaiveDate, lang: crate::model::lang::Lang) -> String {
    use crate::model::lang::Lang;
    match lang {
        Lang::Es => date
            .format_localized("%A %-d de %B de %Y", chrono::Locale::es_EC)
            .to_string(),
        Lang::En => date.format("%A %-d %B %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_and_round_trips() {
        let a = Timestamp::from_unix_millis(1_700_000_000_000).unwrap();
        let b = Timestamp::from_unix_millis(1_700_000_000_123).unwrap();
        assert_eq!(a.to_string(), "2023-11-14T22:13:20.000Z");
        assert_eq!(Timestamp::parse(&b.to_string()), Some(b));
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn text_form_is_chronos_format() {
        // The last: year 10 000, past four digits.
        for millis in [
            0,
            -1,
            1_700_000_000_123,
            951_782_400_999,
            4_102_444_799_500,
            253_402_300_800_000,
        ] {
            let t = Timestamp::from_unix_millis(millis).unwrap();
            assert_eq!(
                t.to_string(),
                t.0.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
        }
    }

    #[test]
    fn a_leap_second_is_written_as_the_last_millisecond_before_it() {
        let leap = Timestamp::parse("2016-12-31T23:59:60.500Z").unwrap();
        assert_eq!(leap.to_string(), "2016-12-31T23:59:59.999Z");
    }

    #[test]
    fn precision_is_cut_to_milliseconds() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let t = Timestamp::from_datetime(at);
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn a_long_date_reads_in_each_language() {
        use crate::model::lang::Lang;
        let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 17).unwrap();
        assert_eq!(long_date(day, Lang::Es), "miércoles 17 de marzo de 2027");
        assert_eq!(long_date(day, Lang::En), "Wednesday 17 March 2027");
    }
}
