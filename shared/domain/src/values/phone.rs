//! Phone numbers, parsed by the `phonenumber` crate (a port of libphonenumber) with Ecuador
//! as the default region and kept in E.164, so `099 123 4567` and `+593991234567` are one.

use phonenumber::country::Id;

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
        let bad = || FieldError::new(FIELD, FieldProblem::InvalidFormat);
        let number = phonenumber::parse(Some(Id::EC), text).map_err(|_| bad())?;
        if !phonenumber::is_valid(&number) {
            return Err(bad());
        }
        Ok(Phone(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// E.164, e.g. `+593991234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(Phone, "phone");

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
}
