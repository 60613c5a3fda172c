//! Errors that name the field a citizen or agent got wrong, so that a form can show each
//! one next to its field and an API can answer problem+json with one entry per field.

use std::fmt;

use serde::Serialize;

use crate::Lang;

/// One of a closed list (a status, a category, a role...): written in JSON, forms and store
/// keys by its wire name, which is also its serde name, and read back only from that list.
pub trait Choice: Copy + Into<&'static str> + strum::VariantArray + 'static {
    /// The field a bad value is reported under.
    const FIELD: &'static str;
    /// Every value, in the order a list shows them.
    const ALL: &'static [Self] = Self::VARIANTS;

    fn wire(self) -> &'static str {
        self.into()
    }

    /// By wire name, trimmed and in any case: none is `Required`, another `UnknownValue`.
    fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(FieldError::new(Self::FIELD, FieldProblem::Required));
        }
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.wire() == text)
            .ok_or_else(|| FieldError::new(Self::FIELD, FieldProblem::UnknownValue))
    }
}

/// A choice people read: its label in Spanish and in English.
pub trait Labelled: Choice {
    /// (Spanish, English).
    fn labels(self) -> (&'static str, &'static str);

    fn label(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Es => self.labels().0,
            Lang::En => self.labels().1,
        }
    }
}

/// Declares a closed list: the enum, written by serde and strum under each value's
/// snake_case name; its [`Choice`], with the field a bad value is reported under; and, where
/// every value carries `=> ("Spanish", "English")`, its [`Labelled`]. Attributes before the
/// enum (docs, more derives) and before each value (docs, `#[default]`) are kept.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $field:literal {
            $( $(#[$value_meta:meta])* $value:ident $(=> ($es:literal, $en:literal))? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize,
            ::strum::IntoStaticStr, ::strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $( $(#[$value_meta])* $value ),+
        }

        impl $crate::model::field::Choice for $name {
            const FIELD: &'static str = $field;
        }

        $crate::model::field::choice!(@labels $name $( $value $(($es, $en))? ),+);
    };
    (@labels $name:ident $( $value:ident ($es:literal, $en:literal) ),+) => {
        impl $crate::model::field::Labelled for $name {
            fn labels(self) -> (&'static str, &'static str) {
                match self {
                    $( $name::$value => ($es, $en) ),+
                }
            }
        }
    };
    (@labels $name:ident $( $value:ident ),+) => {};
}
pub(crate) use choice;

/// A name shown in lists (an agency's, an agent's): trimmed, not empty, at most `max_chars`.
pub fn display_name(raw: Option<&str>, max_chars: usize) -> Result<String, FieldError> {
    let name = raw
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| FieldError::new("name", FieldProblem::Required))?;
    if name.chars().count() > max_chars {
        return Err(FieldError::new(
            "name",
            FieldProblem::TooLong { max: max_chars },
        ));
    }
    Ok(name.to_owned())
}

/// What is wrong with a field, independent of language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FieldProblem {
    Required,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    InvalidFormat,
    InvalidCheckDigit,
    InvalidProvince,
    UnknownValue,
    ControlCharacters,
    TooManyFiles {
        max: usize,
    },
    FilesTooLarge {
        max_bytes: u64,
    },
    UnsupportedFileType,
    /// A field that only robots fill in (the form's honeypot).
    MustBeEmpty,
    /// Another record already uses this value (an agent id).
    AlreadyTaken,
    /// Removing this would leave tickets where no console shows them (a queue that still
    /// holds tickets).
    HoldsTickets {
        queue: String,
    },
    /// A day off added on a day nobody works already, or a make-up day on a working day.
    ChangesNothing,
    /// More entries than allowed (changed days of a year).
    TooMany {
        max: usize,
    },
    /// A date outside the years that may be changed.
    OutOfRange {
        first: String,
        last: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    #[serde(flatten)]
    pub problem: FieldProblem,
}

impl FieldError {
    pub fn new(field: &'static str, problem: FieldProblem) -> Self {
        FieldError { field, problem }
    }

    /// The sentence shown next to the field.
    pub fn message(&self, lang: Lang) -> String {
        use FieldProblem::*;
        match (lang, &self.problem) {
            (Lang::Es, Required) => "Este campo es obligatorio.".into(),
            (Lang::En, Required) => "This field is required.".into(),
            (Lang::Es, TooShort { min }) => format!("Debe tener al menos {min} caracteres."),
            (Lang::En, TooShort { min }) => format!("Must be at least {min} characters long."),
            (Lang::Es, TooLong { max }) => format!("Debe tener como máximo {max} caracteres."),
            (Lang::En, TooLong { max }) => format!("Must be at most {max} characters long."),
            (Lang::Es, InvalidFormat) => "El formato no es válido.".into(),
            (Lang::En, InvalidFormat) => "The format is not valid.".into(),
            (Lang::Es, InvalidCheckDigit) => {
                "El dígito verificador no corresponde; revise el número.".into()
            }
            (Lang::En, InvalidCheckDigit) => {
                "The check digit does not match; please check the number.".into()
            }
            (Lang::Es, InvalidProvince) => {
                "Los dos primeros dígitos no corresponden a una provincia (01–24 o 30).".into()
            }
            (Lang::En, InvalidProvince) => {
                "The first two digits are not a province code (01–24 or 30).".into()
            }
            (Lang::Es, UnknownValue) => "El valor no está entre las opciones permitidas.".into(),
            (Lang::En, UnknownValue) => "The value is not one of the allowed options.".into(),
            (Lang::Es, ControlCharacters) => "Contiene caracteres no permitidos.".into(),
            (Lang::En, ControlCharacters) => "Contains characters that are not allowed.".into(),
            (Lang::Es, TooManyFiles { max }) => {
                format!("Puede adjuntar como máximo {max} archivos.")
            }
            (Lang::En, TooManyFiles { max }) => format!("You can attach at most {max} files."),
            (Lang::Es, FilesTooLarge { max_bytes }) => format!(
                "Los archivos suman más de {} MB; reduzca su tamaño o envíe menos.",
                max_bytes / (1024 * 1024)
            ),
            (Lang::En, FilesTooLarge { max_bytes }) => format!(
                "The files add up to more than {} MB; make them smaller or send fewer.",
                max_bytes / (1024 * 1024)
            ),
            (Lang::Es, UnsupportedFileType) => {
                "Solo se aceptan imágenes PNG, JPEG o WebP y documentos PDF.".into()
            }
            (Lang::En, UnsupportedFileType) => {
                "Only PNG, JPEG or WebP images and PDF documents are accepted.".into()
            }
            (Lang::Es, MustBeEmpty) => "Este campo debe quedar vacío.".into(),
            (Lang::En, MustBeEmpty) => "This field must be left empty.".into(),
            (Lang::Es, AlreadyTaken) => "Este valor ya está en uso.".into(),
            (Lang::En, AlreadyTaken) => "This value is already taken.".into(),
            (Lang::Es, HoldsTickets { queue }) => {
                format!("La cola {queue} todavía tiene tickets; transfiéralos antes de quitarla.")
            }
            (Lang::En, HoldsTickets { queue }) => {
                format!("The queue {queue} still holds tickets; transfer them before removing it.")
            }
            (Lang::Es, ChangesNothing) => {
                "Ese día ya es así en el calendario: un día de descanso va en un día laborable, \
                 un día de recuperación en uno de descanso."
                    .into()
            }
            (Lang::En, ChangesNothing) => {
                "That day is already so in the calendar: a day off goes on a working day, a \
                 make-up day on a day of rest."
                    .into()
            }
            (Lang::Es, TooMany { max }) => format!("No se admiten más de {max}."),
            (Lang::En, TooMany { max }) => format!("At most {max} are allowed."),
            (Lang::Es, OutOfRange { first, last }) => {
                format!("Debe estar entre el {first} y el {last}.")
            }
            (Lang::En, OutOfRange { first, last }) => {
                format!("It must be between {first} and {last}.")
            }
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message(Lang::En))
    }
}

impl std::error::Error for FieldError {}

/// Every bad field of one request, collected so a citizen fixes them all in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value when it parsed, records the error when it did not.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.0.iter().map(|e| e.to_string()).collect();
        f.write_str(&fields.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// Trims and checks a free-text field for length (in characters) and stray control characters.
/// `multiline` lets line breaks and tabs through (descriptions), never anything else.
pub(crate) fn clean_text(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, FieldProblem::Required));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(FieldError::new(field, FieldProblem::ControlCharacters));
    }
    let len = text.chars().count();
    if len < min {
        return Err(FieldError::new(field, FieldProblem::TooShort { min }));
    }
    if len > max {
        return Err(FieldError::new(field, FieldProblem::TooLong { max }));
    }
    Ok(text.to_owned())
}
