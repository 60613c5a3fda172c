//! Who the requester is: name, nationality, gender and the kind of user, as the agencies'
//! forms ask today.

use crate::model::field::choice;
use crate::model::field::clean_text;
use crate::{FieldError, FieldProblem, Lang};

/// A person's full name as they write it: any script, 2 to 120 characters, at least one
/// letter, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = clean_text("full_name", raw, 2, 120, false)?;
        if !text.chars().any(char::is_alphabetic) {
            return Err(FieldError::new("full_name", FieldProblem::InvalidFormat));
        }
        // Collapse runs of white space typed by accident ("Juan   Pérez").
        Ok(PersonName(
            text.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
super::text_serde!(PersonName, "full_name");

mod countries {
    include!(concat!(env!("OUT_DIR"), "/countries.rs"));
}

/// A nationality as an ISO 3166-1 alpha-2 code, e.g. `EC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nationality(isocountry::CountryCode);

impl Nationality {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_uppercase();
        if text.is_empty() {
            return Err(FieldError::new("nationality", FieldProblem::Required));
        }
        if text.len() != 2 {
            return Err(FieldError::new("nationality", FieldProblem::InvalidFormat));
        }
        isocountry::CountryCode::for_alpha2(&text)
            .map(Nationality)
            .map_err(|_| FieldError::new("nationality", FieldProblem::UnknownValue))
    }

    pub fn as_str(&self) -> &'static str {
        self.0.alpha2()
    }

    /// Every ISO 3166-1 country in a form's order for `lang`: Ecuador first, then as a
    /// reader of that language sorts them (Spanish: accents ignored, Ñ after N).
    pub fn in_form_order(lang: Lang) -> impl Iterator<Item = Nationality> {
        let order = match lang {
            Lang::Es => countries::SPANISH_ORDER,
            Lang::En => countries::ENGLISH_ORDER,
        };
        order.iter().filter_map(|&index| {
            let (code, _, _) = countries::COUNTRY_NAMES[usize::from(index)];
            isocountry::CountryCode::for_alpha2(code)
                .ok()
                .map(Nationality)
        })
    }

    /// The country's name in `lang` (CLDR's), e.g. "Alemania", "Germany".
    pub fn name(&self, lang: Lang) -> &'static str {
        let code = self.as_str();
        match countries::COUNTRY_NAMES.binary_search_by(|(c, _, _)| (*c).cmp(code)) {
            Ok(found) => {
                let (_, es, en) = countries::COUNTRY_NAMES[found];
                match lang {
                    Lang::Es => es,
                    Lang::En => en,
                }
            }
            Err(_) => self.0.name(),
        }
    }
}
super::text_serde!(Nationality, "nationality");

choice! {
    pub enum Gender in "gender" {
        Masculino => ("Masculino", "Male"),
        Femenino => ("Femenino", "Female"),
        /// Any other gender identity.
        Otro => ("Otro", "Other"),
        PrefieroNoDecir => ("Prefiero no decirlo", "Prefer not to say"),
    }
}

choice! {
    pub enum UserType in "user_type" {
        Ciudadano => ("Ciudadano/a", "Citizen"),
        Estudiante => ("Estudiante", "Student"),
        Investigador => ("Investigador/a", "Researcher"),
        Empresa => ("Empresa", "Business"),
        SectorPublico => ("Sector público", "Public sector"),
        Otro => ("Otro", "Other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Choice;

    #[test]
    fn names_keep_any_script_and_collapse_spaces() {
        assert_eq!(
            PersonName::parse("  María   José  Ñáñez ")
                .unwrap()
                .as_str(),
            "María José Ñáñez"
        );
        assert!(PersonName::parse("李小龍").is_ok());
        assert_eq!(
            PersonName::parse("12345").unwrap_err().problem,
            FieldProblem::InvalidFormat
        );
        assert_eq!(
            PersonName::parse("Juan\r\nBcc: x@y.com")
                .unwrap_err()
                .problem,
            FieldProblem::ControlCharacters
        );
        assert_eq!(
            PersonName::parse("").unwrap_err().problem,
            FieldProblem::Required
        );
        assert_eq!(
            PersonName::parse(&"a".repeat(121)).unwrap_err().problem,
            FieldProblem::TooLong { max: 120 }
        );
    }

    #[test]
    fn nationalities_are_iso_codes() {
        assert_eq!(Nationality::parse("ec").unwrap().as_str(), "EC");
        assert_eq!(Nationality::parse("EC").unwrap().name(Lang::En), "Ecuador");
    }

    #[test]
    fn nationalities_read_and_sort_as_each_language_does() {
        let name = |code, lang| Nationality::parse(code).unwrap().name(lang);
        assert_eq!(name("DE", Lang::Es), "Alemania");
        assert_eq!(name("DE", Lang::En), "Germany");
        assert_eq!(name("US", Lang::Es), "Estados Unidos");
        let spanish: Vec<&str> = Nationality::in_form_order(Lang::Es)
            .map(|n| n.name(Lang::Es))
            .collect();
        assert_eq!(spanish.len(), Nationality::in_form_order(Lang::En).count());
        assert!(spanish.len() >= 249, "every ISO 3166-1 country");
        assert_eq!(spanish[0], "Ecuador", "Ecuador first");
        let at = |name: &str| spanish.iter().position(|n| *n == name).unwrap();
        // Accents do not count: Bélgica before Belice (by bytes "é" sorts after "i").
        assert!(at("Bélgica") < at("Belice"), "{spanish:?}");
        assert!(at("Perú") < at("Polonia"));
        assert!(at("Alemania") < at("Zambia"));
        let english: Vec<&str> = Nationality::in_form_order(Lang::En)
            .map(|n| n.name(Lang::En))
            .collect();
        assert_eq!(english[0], "Ecuador");
        assert!(
            english.iter().position(|n| *n == "Germany")
                < english.iter().position(|n| *n == "Peru")
        );
        assert_eq!(
            Nationality::parse("XX").unwrap_err().problem,
            FieldProblem::UnknownValue
        );
        assert_eq!(
            Nationality::parse("ECU").unwrap_err().problem,
            FieldProblem::InvalidFormat
        );
    }

    #[test]
    fn genders_include_other_and_prefer_not_to_say() {
        for &g in Gender::ALL {
            assert_eq!(Gender::parse(g.wire()).unwrap(), g);
            assert_eq!(
                serde_json::to_string(&g).unwrap(),
                format!("\"{}\"", g.wire())
            );
        }
        assert_eq!(Gender::parse("x").unwrap_err().field, "gender");
    }

    #[test]
    fn user_types_round_trip() {
        for &u in UserType::ALL {
            assert_eq!(UserType::parse(u.wire()).unwrap(), u);
            assert_eq!(
                serde_json::to_string(&u).unwrap(),
                format!("\"{}\"", u.wire())
            );
        }
        assert_eq!(UserType::parse("alien").unwrap_err().field, "user_type");
    }
}
