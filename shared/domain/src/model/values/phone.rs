//! Phone numbers, parsed by the `phonenumber` crate (a port of libphonenumber) with Ecuador
//! as the default region and kept in E.164, so `099 123 4567` and `+593991234567` are one.

use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Database};

/// Ecuador's metadata alone (`phone_ec.xml`, copied from the crate's): built in well under a
/// millisecond, where the crate's database of every country costs ~100 ms of CPU on first
/// use, most of what a citizen waited for on create-ticket's cold start (docs/PERFORMANCE.md).
/// A foreign number still builds that database; `None` (it cannot happen with the file the
/// test reads) sends every number there.
static ECUADOR: LazyLock<Option<Database>> =
    LazyLock::new(|| Database::parse(include_str!("phone_ec.xml")).ok());

/// `text` in E.164 when it is a valid number by `database`'s countries.
///
/// E.164 is written here, not by the crate's formatter: `Formatter`'s `Display` builds the
/// whole database even when given another one (`database.unwrap_or(&DATABASE)` dereferences
/// the lazy default first), which undid the point of [`ECUADOR`] until 2026-12-03. E.164 is
/// the country code and the national number (its leading zeros included), as the
/// formatter writes it once the code is known, which validity has already checked.
fn e164_by(database: &Database, text: &str) -> Option<String> {
    let number = phonenumber::parse_with(database, Some(Id::EC), text).ok()?;
    phonenumber::is_valid_with(database, &number)
        .then(|| format!("+{}{}", number.country().code(), number.national()))
}

use crate::{FieldError, FieldProblem};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

const FIELD: &str = "phone";

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(FIELD, FieldProblem::Required));
        }
        if text.len() > 32 {
            return Err(FieldError::new(FIELD, FieldProblem::TooLong { max: 32 }));
        }
        ECUADOR
            .as_ref()
            .and_then(|ecuador| e164_by(ecuador, text))
            // A foreign number, or none: every country's metadata.
            .or_else(|| e164_by(&DATABASE, text))
            .map(Phone)
            .ok_or_else(|| FieldError::new(FIELD, FieldProblem::InvalidFormat))
    }

    /// E.164, e.g. `+593991234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A number [`Phone::parse`] wrote in E.164 earlier (a stored ticket), read back by its
    /// form alone: `+` and 8 to 15 digits. Loading the phone metadata of every country
    /// costs ~100 ms of CPU on first use (docs/PERFORMANCE.md), which a function that only
    /// reads tickets should not pay on its first request.
    fn from_e164(text: &str) -> Result<Self, FieldError> {
        let digits = text.strip_prefix('+').unwrap_or_default();
        if (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(Phone(text.to_owned()))
        } else {
            Err(FieldError::new(FIELD, FieldProblem::InvalidFormat))
        }
    }
}

impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Serialised phones are E.164 ([`Phone::from_e164`]); what a person typed goes through
/// [`Phone::parse`] (or [`std::str::FromStr`]).
impl<'de> serde::Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Phone::from_e164(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Phone {
    type Err = FieldError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Phone::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecuadorian_numbers_in_any_usual_spelling() {
        for raw in [
            "0991234567",
            "099 123 4567",
            "+593 99 123 4567",
            "593991234567",
        ] {
            assert_eq!(
                Phone::parse(raw).unwrap().as_str(),
                "+593991234567",
                "{raw}"
            );
        }
        // Quito landline.
        assert_eq!(
            Phone::parse("(02) 2345 678").unwrap().as_str(),
            "+59322345678"
        );
    }

    /// Ecuador's metadata alone reads every Ecuadorian spelling as the crate's whole
    /// database does: mobiles, landlines of every province, toll-free and wrong lengths.
    #[test]
    fn ecuadors_metadata_alone_agrees_with_every_countrys() {
        let ecuador = ECUADOR.as_ref().expect("phone_ec.xml loads");
        let mut checked = 0;
        for prefix in [
            "09", "02", "03", "04", "05", "06", "07", "1800", "1700", "+5939", "+5932", "5939",
            "00593 9", "08", "01",
        ] {
            for length in 5..=11 {
                for seed in [1_234_567_890_123_u64, 9_876_543_210_987, 5_550_001_112_223] {
                    let digits: String = seed.to_string().chars().take(length).collect();
                    let text = format!("{prefix}{digits}");
                    let alone = e164_by(ecuador, &text);
                    let all = e164_by(&DATABASE, &text);
                    if text.starts_with('+') || text.starts_with("00") || text.starts_with("593") {
                        // Ecuador's alone may refuse a foreign reading the whole database
                        // accepts (Phone::parse then asks the whole database).
                        assert!(alone.is_none() || alone == all, "{text}: {alone:?} {all:?}");
                    } else {
                        assert_eq!(alone, all, "{text}");
                    }
                    checked += usize::from(all.is_some());
                }
            }
        }
        assert!(checked > 20, "only {checked} valid numbers among the cases");
    }

    #[test]
    fn foreign_numbers_need_their_country_code() {
        assert_eq!(
            Phone::parse("+1 202 456 1111").unwrap().as_str(),
            "+12024561111"
        );
        assert_eq!(
            Phone::parse("+34 912 345 678").unwrap().as_str(),
            "+34912345678"
        );
    }

    #[test]
    fn refuses_what_is_not_a_phone() {
        for bad in [
            "12",
            "0991234",
            "abc",
            "+593 99 123 4567 8888 999",
            "099-123-456x",
        ] {
            assert_eq!(Phone::parse(bad).unwrap_err().field, "phone", "{bad}");
        }
    }

    #[test]
    fn a_stored_number_reads_back_by_its_e164_form() {
        let stored = Phone::parse("099 123 4567").unwrap();
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(json, "\"+593991234567\"");
        assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), stored);
        for bad in [
            "\"0991234567\"",
            "\"+59399123456789012\"",
            "\"+593 99\"",
            "\"+\"",
        ] {
            assert!(serde_json::from_str::<Phone>(bad).is_err(), "{bad}");
        }
    }
}
