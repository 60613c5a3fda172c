//! What a citizen writes about. The categories are the ones the agencies ask for today; each
//! has a wire value (API, forms) and a code that goes into its tickets' numbers.

use crate::model::field::{Choice, choice};

choice! {
    #[derive(PartialOrd, Ord)]
    pub enum Category in "category" {
        Requerimiento => ("Requerimiento", "Request"),
        Queja => ("Queja", "Complaint"),
        /// Denuncia administrativa: a complaint about a public servant's conduct.
        Denuncia => ("Denuncia administrativa", "Report of misconduct"),
        Sugerencia => ("Sugerencia", "Suggestion"),
        Felicitacion => ("Felicitación", "Compliment"),
        Capacitacion => ("Capacitación", "Training"),
        Asesoria => ("Asesoría", "Advice"),
        ProblemaTecnico => ("Problema técnico", "Technical problem"),
        /// A request for public information under the transparency law (LOTAIP), reported
        /// to the Defensoría del Pueblo every year.
        AccesoInformacion => (
            "Acceso a información pública (LOTAIP)",
            "Access to public information (LOTAIP)"
        ),
        /// A data subject's request under the data-protection law (LOPDP): access,
        /// rectification, erasure, objection.
        DatosPersonales => (
            "Derechos sobre datos personales (LOPDP)",
            "Personal data rights (LOPDP)"
        ),
    }
}

impl Category {
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
            Category::AccesoInformacion => "AIP",
            Category::DatosPersonales => "DAT",
        }
    }

    /// Requests under a law of their own: an agency takes them only where it says so
    /// (`special_categories`), since its desk must then answer them on that law's terms.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            Category::AccesoInformacion | Category::DatosPersonales
        )
    }

    pub fn from_number_code(code: &str) -> Option<Self> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.number_code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldProblem;
    use std::collections::HashSet;

    #[test]
    fn wire_values_and_codes_are_unique_and_round_trip() {
        let wires: HashSet<_> = Category::ALL.iter().map(|c| c.wire()).collect();
        let codes: HashSet<_> = Category::ALL.iter().map(|c| c.number_code()).collect();
        assert_eq!(wires.len(), 10);
        assert_eq!(codes.len(), 10);
        for &c in Category::ALL {
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
