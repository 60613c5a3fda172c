//! Ticket numbers such as `MDT-PRE-2024-00089`: agency acronym, category code, year and a
//! sequence of at least five digits. One parser reads them everywhere: forms, URLs and the
//! `[MDT-PRE-2024-00089]` tags in mail subjects.

use crate::{FieldError, FieldProblem};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNumber {
    text: String,
    agency_len: usize,
    code_len: usize,
    year: u16,
    sequence: u64,
}

const FIELD: &str = "number";
const MIN_SEQUENCE_DIGITS: usize = 5;

impl TicketNumber {
    /// Builds the number the store allocated; the parts were parsed already.
    pub fn new(agency: &crate::AgencyCode, code: &str, year: u16, sequence: u64) -> Self {
        let text = format!("{agency}-{code}-{year}-{sequence:0MIN_SEQUENCE_DIGITS$}");
        // The parts come from typed values, so the result always parses; parse it anyway so
        // that there is exactly one definition of a well-formed number.
        TicketNumber::parse(&text).unwrap_or_else(|_| {
            unreachable!("numbers built from typed parts are well formed: {text}")
        })
    }

    /// The anchored parser: the whole text must be one number. Surrounding white space is
    /// forgiven and letters are upper-cased, since citizens type numbers by hand.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_uppercase();
        if text.is_empty() {
            return Err(FieldError::new(FIELD, FieldProblem::Required));
        }
        let bad = || FieldError::new(FIELD, FieldProblem::InvalidFormat);
        let mut parts = text.split('-');
        let (Some(agency), Some(code), Some(year), Some(sequence), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if !is_acronym(agency) || !is_category_code(code) {
            return Err(bad());
        }
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || year.starts_with('0') {
            return Err(bad());
        }
        // Zero padding only up to five digits, so every number has exactly one spelling.
        let canonical = sequence.len() == MIN_SEQUENCE_DIGITS
            || (sequence.len() > MIN_SEQUENCE_DIGITS && !sequence.starts_with('0'));
        if !canonical || sequence.len() > 12 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let sequence: u64 = sequence.parse().map_err(|_| bad())?;
        if sequence == 0 {
            return Err(bad());
        }
        Ok(TicketNumber {
            agency_len: agency.len(),
            code_len: code.len(),
            year: year.parse().map_err(|_| bad())?,
            sequence,
            text,
        })
    }

    /// Finds the first `[NUMBER]` tag in a mail subject, e.g. `RE: [MDT-PRE-2024-00089] Consulta`.
    pub fn find_tag(subject: &str) -> Option<Self> {
        // One pass: only the text between a `]` and the last `[` before it can be a tag (a
        // number holds no brackets). Looking for the `]` after every `[` took seconds on a
        // subject of 200,000 `[`.
        let mut open = None;
        for (at, c) in subject.char_indices() {
            match c {
                '[' => open = Some(at + 1),
                ']' => {
                    let Some(start) = open.take() else {
                        continue;
                    };
                    let inner = &subject[start..at];
                    // A tag is written by us, upper case and without spaces; do not read one
                    // into free text such as "[ mdt-pre-2024-00089 ]".
                    if inner.trim() != inner || inner.to_ascii_uppercase() != inner {
                        continue;
                    }
                    if let Ok(number) = TicketNumber::parse(inner) {
                        return Some(number);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The tag we put in subjects.
    pub fn tag(&self) -> String {
        format!("[{}]", self.text)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn agency(&self) -> &str {
        &self.text[..self.agency_len]
    }

    pub fn category_code(&self) -> &str {
        &self.text[self.agency_len + 1..self.agency_len + 1 + self.code_len]
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

pub(crate) fn is_acronym(text: &str) -> bool {
    (2..=10).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub(crate) fn is_category_code(text: &str) -> bool {
    (2..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase())
}

super::text_serde!(TicketNumber, "number");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_parts_of_a_number() {
        let n = TicketNumber::parse("MDT-PRE-2024-00089").unwrap();
        assert_eq!(n.agency(), "MDT");
        assert_eq!(n.category_code(), "PRE");
        assert_eq!(n.year(), 2024);
        assert_eq!(n.sequence(), 89);
        assert_eq!(n.as_str(), "MDT-PRE-2024-00089");
        assert_eq!(n.tag(), "[MDT-PRE-2024-00089]");
    }

    #[test]
    fn forgives_case_and_surrounding_space() {
        let n = TicketNumber::parse("  mdt-pre-2024-00089\n").unwrap();
        assert_eq!(n.as_str(), "MDT-PRE-2024-00089");
    }

    #[test]
    fn sequences_grow_past_five_digits() {
        let n = TicketNumber::parse("MINTEL-TEC-2031-123456").unwrap();
        assert_eq!(n.sequence(), 123_456);
        assert_eq!(n.agency(), "MINTEL");
    }

    #[test]
    fn refuses_malformed_numbers() {
        for bad in [
            "",
            "MDT-PRE-2024-0089",
            "MDT-PRE-2024-000089",
            "MDT-PRE-24-00089",
            "MDT-PRE-0024-00089",
            "MDT-PRE-2024-00000",
            "MDT-PRE-2024-00089-1",
            "MDT-PR3-2024-00089",
            "M-PRE-2024-00089",
            "1MDT-PRE-2024-00089",
            "MDT-PRE-2024-0008a",
            "MDT PRE 2024 00089",
            "#MDT-PRE-2024-00089",
            "MDT-PRE-2024-00089]",
            "MDT--2024-00089",
            "MDT-PRE-2024-+0089",
        ] {
            let error = TicketNumber::parse(bad).unwrap_err();
            assert_eq!(error.field, "number", "{bad}");
        }
    }

    #[test]
    fn finds_the_tag_in_a_subject() {
        let subject = "RE: RV: [MDT-PRE-2024-00089] Consulta sobre trámite";
        assert_eq!(
            TicketNumber::find_tag(subject).unwrap().as_str(),
            "MDT-PRE-2024-00089"
        );
        assert!(TicketNumber::find_tag("Consulta MDT-PRE-2024-00089").is_none());
        assert!(TicketNumber::find_tag("[mdt-pre-2024-00089]").is_none());
        assert!(TicketNumber::find_tag("[urgente] [MDT-PRE-2024-00089x]").is_none());
        assert_eq!(
            TicketNumber::find_tag("[urgente] re [MDT-QUE-2025-00001]")
                .unwrap()
                .as_str(),
            "MDT-QUE-2025-00001"
        );
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let n: TicketNumber = serde_json::from_str("\"MDT-PRE-2024-00089\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"MDT-PRE-2024-00089\"");
        assert!(serde_json::from_str::<TicketNumber>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn built_numbers_parse_back_to_themselves(
            agency in "[A-Z][A-Z0-9]{1,9}",
            code in "[A-Z]{2,5}",
            year in 2000u16..2999,
            sequence in 1u64..10_000_000,
        ) {
            let agency = crate::AgencyCode::parse(&agency).unwrap();
            let n = TicketNumber::new(&agency, &code, year, sequence);
            let back = TicketNumber::parse(n.as_str()).unwrap();
            prop_assert_eq!(&back, &n);
            prop_assert_eq!(back.sequence(), sequence);
            prop_assert_eq!(TicketNumber::find_tag(&format!("Re: {} hola", n.tag())), Some(n));
        }

        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = TicketNumber::parse(&text);
            let _ = TicketNumber::find_tag(&text);
        }
    }

    #[test]
    fn finding_a_tag_is_linear() {
        let brackets = "[".repeat(200_000);
        assert!(TicketNumber::find_tag(&brackets).is_none());
        let closed = format!("{brackets}{}", "]".repeat(200_000));
        assert!(TicketNumber::find_tag(&closed).is_none());
        let tagged = format!("{brackets}MDT-QUE-2025-00001] [x]");
        assert_eq!(
            TicketNumber::find_tag(&tagged).unwrap().as_str(),
            "MDT-QUE-2025-00001"
        );
    }
}
