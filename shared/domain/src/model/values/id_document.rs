//! Identity documents: the Ecuadorian cédula (with its check digit) or a passport.
//!
//! The cédula rule, decided against the vectors in `testdata/01_cedula_ruc`:
//! - spaces and hyphens are separators (`171430710-3` is `1714307103`), as python-stdnum
//!   reads them; citizens copy numbers from documents that print them that way;
//! - ten digits; the first two a province, 01–24, or 30 (Ecuadorians registered abroad);
//! - third digit 0–6: 6 is issued to foreign residents since 2020 (python-stdnum accepts it;
//!   the older published rule says < 6), and refusing a real cédula locks a citizen out;
//! - módulo 10 with coefficients 2,1,2,1,… (products over 9 minus 9), over all ten digits.
//!
//! Deliberate difference from python-stdnum: province 50 is refused. No registry source
//! names it and every other validator refuses it; the agencies' forms ask for 01–24 or 30.

use serde::{Deserialize, Serialize};

use crate::model::field::choice;
use crate::{FieldError, FieldProblem};

const NUMBER_FIELD: &str = "id_number";

/// A document number as typed, without the spaces and hyphens people put in it.
fn without_separators(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cedula(String);

impl Cedula {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let digits = without_separators(raw);
        let fail = |problem| Err(FieldError::new(NUMBER_FIELD, problem));
        if digits.is_empty() {
            return fail(FieldProblem::Required);
        }
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return fail(FieldProblem::InvalidFormat);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let province = d[0] * 10 + d[1];
        if !((1..=24).contains(&province) || province == 30) {
            return fail(FieldProblem::InvalidProvince);
        }
        if d[2] > 6 {
            return fail(FieldProblem::InvalidFormat);
        }
        if !modulo_10_sum(&d).is_multiple_of(10) {
            return fail(FieldProblem::InvalidCheckDigit);
        }
        Ok(Cedula(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The sum over all ten digits with coefficients 2,1,2,1,…; a valid cédula sums to a
/// multiple of ten (equivalent to the published "10 − sum mod 10" check digit).
fn modulo_10_sum(digits: &[u32]) -> u32 {
    digits
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            if p > 9 { p - 9 } else { p }
        })
        .sum()
}
super::text_serde!(Cedula, "id_number");

/// A passport number as printed: letters and digits, 5 to 20 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Passport(String);

impl Passport {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = without_separators(raw).to_ascii_uppercase();
        if text.is_empty() {
            return Err(FieldError::new(NUMBER_FIELD, FieldProblem::Required));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FieldError::new(NUMBER_FIELD, FieldProblem::InvalidFormat));
        }
        if text.len() < 5 {
            return Err(FieldError::new(
                NUMBER_FIELD,
                FieldProblem::TooShort { min: 5 },
            ));
        }
        if text.len() > 20 {
            return Err(FieldError::new(
                NUMBER_FIELD,
                FieldProblem::TooLong { max: 20 },
            ));
        }
        Ok(Passport(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(Passport, "id_number");

choice! {
    pub enum IdType in "id_type" {
        Cedula,
        Pasaporte,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "number", rename_all = "snake_case")]
pub enum IdDocument {
    Cedula(Cedula),
    Pasaporte(Passport),
}

impl IdDocument {
    pub fn parse(id_type: IdType, number: &str) -> Result<Self, FieldError> {
        match id_type {
            IdType::Cedula => Cedula::parse(number).map(IdDocument::Cedula),
            IdType::Pasaporte => Passport::parse(number).map(IdDocument::Pasaporte),
        }
    }

    pub fn id_type(&self) -> IdType {
        match self {
            IdDocument::Cedula(_) => IdType::Cedula,
            IdDocument::Pasaporte(_) => IdType::Pasaporte,
        }
    }

    pub fn number(&self) -> &str {
        match self {
            IdDocument::Cedula(c) => c.as_str(),
            IdDocument::Pasaporte(p) => p.as_str(),
        }
    }

    /// A document number as people write it (spaces, hyphens, lower case), in the form
    /// documents keep it: what a typed number is compared and counted as.
    pub fn typed_number(raw: &str) -> String {
        without_separators(raw).to_ascii_uppercase()
    }

    /// Whether `typed` is this document's number, however it was written.
    pub fn has_number(&self, typed: &str) -> bool {
        let typed = Self::typed_number(typed);
        !typed.is_empty() && typed == self.number()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_number_matches_its_document_however_it_is_written() {
        let cedula = IdDocument::parse(IdType::Cedula, "1714307103").unwrap();
        assert!(cedula.has_number("171430710-3"));
        assert!(cedula.has_number(" 1714307103 "));
        assert!(!cedula.has_number("1714307104"));
        assert!(!cedula.has_number(""));
        let passport = IdDocument::parse(IdType::Pasaporte, "ab123456").unwrap();
        assert!(passport.has_number("AB 123456"));
        assert!(!passport.has_number("AB12345"));
    }

    fn problem(raw: &str) -> FieldProblem {
        Cedula::parse(raw).unwrap_err().problem
    }

    #[test]
    fn accepts_valid_cedulas_with_or_without_separators() {
        for ok in [
            "1714307103",
            "0602910945",
            "0926687856",
            "171430710-3",
            " 17 1430 7103 ",
        ] {
            assert!(Cedula::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Cedula::parse("171430710-3").unwrap().as_str(), "1714307103");
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(problem(""), FieldProblem::Required);
        assert_eq!(problem("171430710"), FieldProblem::InvalidFormat);
        assert_eq!(problem("17143071O3"), FieldProblem::InvalidFormat);
        assert_eq!(problem("2514307103"), FieldProblem::InvalidProvince);
        assert_eq!(problem("0014307103"), FieldProblem::InvalidProvince);
        assert_eq!(problem("1774307103"), FieldProblem::InvalidFormat);
        assert_eq!(problem("1714307104"), FieldProblem::InvalidCheckDigit);
    }

    #[test]
    fn province_30_and_third_digit_6_are_valid_but_province_50_is_not() {
        // Check digits computed by the rule: these differ only in the contested parts.
        assert!(Cedula::parse(&complete("301234567")).is_ok());
        assert!(Cedula::parse(&complete("176234567")).is_ok());
        assert_eq!(
            problem(&complete("501234567")),
            FieldProblem::InvalidProvince
        );
    }

    /// Appends the check digit that makes nine digits a valid cédula.
    fn complete(nine: &str) -> String {
        let d: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
        let check = (10 - modulo_10_sum(&d) % 10) % 10;
        format!("{nine}{check}")
    }

    #[test]
    fn passports_are_alphanumeric() {
        assert_eq!(Passport::parse("ab-123 456").unwrap().as_str(), "AB123456");
        assert_eq!(
            Passport::parse("A1").unwrap_err().problem,
            FieldProblem::TooShort { min: 5 }
        );
        assert_eq!(
            Passport::parse("AB12#45").unwrap_err().problem,
            FieldProblem::InvalidFormat
        );
    }

    #[test]
    fn documents_serialize_with_their_type() {
        let doc = IdDocument::parse(IdType::Cedula, "1714307103").unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "cedula", "number": "1714307103"})
        );
        assert_eq!(serde_json::from_value::<IdDocument>(json).unwrap(), doc);
        let forged = serde_json::json!({"type": "cedula", "number": "1714307104"});
        assert!(serde_json::from_value::<IdDocument>(forged).is_err());
    }
}
