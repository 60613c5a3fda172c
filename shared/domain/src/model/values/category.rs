//! What a citizen writes about. The categories are the ones the agencies ask for today; each
//! has a wire value (API, forms) and a code that goes into its tickets' numbers.

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldProblem, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Requerimiento,
    Queja,
    /// Denuncia administrativa: a complaint about a public servant's conduct.
    Denuncia,
    Sugerencia,
    Felicitacion,
    Capacitacion,
    Asesoria,
    ProblemaTecnico,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Requerimiento,
        Category::Queja,
        Category::Denuncia,
        Category::Sugerencia,
        Category::Felicitacion,
        Category::Capacitacion,
        Category::Asesoria,
        Category::ProblemaTecnico,
    ];

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(FieldError::new("category", FieldProblem::Required));
        }
        Category::ALL
            .into_iter()
            .find(|c| c.wire() == text)
            .ok_or_else(|| FieldError::new("category", FieldProblem::UnknownValue))
    }

    /// The value in JSON and forms.
    pub fn wire(self) -> &'static str {
        match self {
            Category::Requerimiento => "requerimiento",
            Category::Queja => "queja",
            Category::Denuncia => "denuncia",
            Category::Sugerencia => "sugerencia",
            Category::Felicitacion => "felicitacion",
            Category::Capacitacion => "capacitacion",
            Category::Asesoria => "asesoria",
            Category::ProblemaTecnico => "problema_tecnico",
        }
    }

    /// The code in ticket numbers: `MDT-REQ-2025-00001`.
    pub fn number_code(self) -> &'static str {
        match self {
            Category::Requerimiento => "REQ",
            Category::Queja => "QUE",
            Category::Denuncia => "DEN",
            Category::Sugerencia => "SUG",
            Category::Felicitacion => "FEL",
            Category::Capacitacion => "CAP",
            Category::Asesoria => "ASE",
            Category::ProblemaTecnico => "TEC",
        }
    }

    pub fn from_number_code(code: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.number_code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Es, Category::Requerimiento) => "Requerimiento",
            (Lang::Es, Category::Queja) => "Queja",
            (Lang::Es, Category::Denuncia) => "Denuncia administrativa",
            (Lang::Es, Category::Sugerencia) => "Sugerencia",
            (Lang::Es, Category::Felicitacion) => "Felicitación",
            (Lang::Es, Category::Capacitacion) => "Capacitación",
            (Lang::Es, Category::Asesoria) => "Asesoría",
            (Lang::Es, Category::ProblemaTecnico) => "Problema técnico",
            (Lang::En, Category::Requerimiento) => "Request",
            (Lang::En, Category::Queja) => "Complaint",
            (Lang::En, Category::Denuncia) => "Report of misconduct",
            (Lang::En, Category::Sugerencia) => "Suggestion",
            (Lang::En, Category::Felicitacion) => "Compliment",
            (Lang::En, Category::Capacitacion) => "Training",
            (Lang::En, Category::Asesoria) => "Advice",
            (Lang::En, Category::ProblemaTecnico) => "Technical problem",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn wire_values_and_codes_are_unique_and_round_trip() {
        let wires: HashSet<_> = Category::ALL.iter().map(|c| c.wire()).collect();
        let codes: HashSet<_> = Category::ALL.iter().map(|c| c.number_code()).collect();
        assert_eq!(wires.len(), 8);
        assert_eq!(codes.len(), 8);
        for c in Category::ALL {
            assert_eq!(Category::parse(c.wire()).unwrap(), c);
            assert_eq!(Category::from_number_code(c.number_code()), Some(c));
            assert!(crate::model::values::ticket_number::is_category_code(
                c.number_code()
            ));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.wire()));
        }
    }

    #[test]
    fn unknown_categories_are_named() {
        let e = Category::parse("reclamo").unwrap_err();
        assert_eq!(
            (e.field, e.problem),
            ("category", FieldProblem::UnknownValue)
        );
        assert_eq!(
            Category::parse(" ").unwrap_err().problem,
            FieldProblem::Required
        );
    }
}
