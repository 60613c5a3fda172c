//! The fields of a ticket request, as a citizen types them at the form or an agent for a
//! caller: read from JSON or multipart, parsed into the domain's types with every error at
//! once.

use serde::Deserialize;
use ventanilla_domain::Choice;
use ventanilla_domain::{
    Body, Category, Email, FieldError, FieldErrors, FieldProblem, Gender, IdDocument, IdType,
    Nationality, PersonName, Phone, Requester, Subject, UserType,
};

use crate::config::{Agency, Settings};

/// The fields as the citizen typed them. Unknown JSON fields are ignored, so that clients
/// written against a later version keep working.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TicketFields {
    pub agency: String,
    pub category: String,
    pub nationality: String,
    pub id_type: String,
    pub id_number: String,
    pub full_name: String,
    pub email: String,
    pub gender: String,
    pub phone: String,
    pub user_type: String,
    pub subject: String,
    pub description: String,
}

impl TicketFields {
    /// Sets a field by its form name; `false` for a name the form does not have.
    pub fn set(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "agency" => &mut self.agency,
            "category" => &mut self.category,
            "nationality" => &mut self.nationality,
            "id_type" => &mut self.id_type,
            "id_number" => &mut self.id_number,
            "full_name" => &mut self.full_name,
            "email" => &mut self.email,
            "gender" => &mut self.gender,
            "phone" => &mut self.phone,
            "user_type" => &mut self.user_type,
            "subject" => &mut self.subject,
            "description" => &mut self.description,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// What a blank form starts with: the only agency if there is one, Ecuador, cédula.
    pub fn blank(settings: &Settings) -> Self {
        TicketFields {
            agency: match settings.agencies.as_slice() {
                [only] => only.code.to_string(),
                _ => String::new(),
            },
            nationality: "EC".into(),
            id_type: "cedula".into(),
            ..TicketFields::default()
        }
    }
}

/// A request that parsed: every value typed, the agency found in the configuration.
#[derive(Debug, Clone)]
pub struct ParsedTicket<'a> {
    pub agency: &'a Agency,
    pub category: Category,
    pub requester: Requester,
    pub subject: Subject,
    pub description: Body,
}

fn optional<T>(
    raw: &str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some)
    }
}

/// Whether a ticket needs the requester's e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// The form's ticket is followed by mail and its link.
    Required,
    /// A caller may have none: they follow it with its number and their ID document.
    Optional,
}

/// Parses every field, collecting all errors so the citizen fixes them in one go.
pub fn parse<'a>(
    fields: &TicketFields,
    settings: &'a Settings,
    address: Address,
) -> Result<ParsedTicket<'a>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let agency = errors.check(
        ventanilla_domain::AgencyCode::parse(&fields.agency).and_then(|code| {
            settings
                .agency(&code)
                .ok_or_else(|| FieldError::new("agency", FieldProblem::UnknownValue))
        }),
    );
    let category = errors.check(Category::parse(&fields.category));
    // A request under a law of its own goes only to an agency that takes it.
    if let (Some(agency), Some(category)) = (agency, category)
        && !agency.offers(category)
    {
        errors.push(FieldError::new("category", FieldProblem::UnknownValue));
    }
    let nationality = errors.check(Nationality::parse(&fields.nationality));
    let id_type = errors.check(IdType::parse(&fields.id_type));
    let id_document = match id_type {
        Some(id_type) => errors.check(IdDocument::parse(id_type, &fields.id_number)),
        None => None,
    };
    let name = errors.check(PersonName::parse(&fields.full_name));
    let email = match address {
        Address::Required => errors.check(Email::parse(&fields.email).map(Some)),
        Address::Optional => errors.check(optional(&fields.email, Email::parse)),
    };
    let gender = errors.check(optional(&fields.gender, Gender::parse));
    let phone = errors.check(optional(&fields.phone, Phone::parse));
    let user_type = errors.check(UserType::parse(&fields.user_type));
    let subject = errors.check(Subject::parse(&fields.subject));
    let description = errors.check(Body::parse(&fields.description));
    match (
        agency,
        category,
        nationality,
        id_document,
        name,
        email,
        gender,
        phone,
        user_type,
        subject,
        description,
    ) {
        (
            Some(agency),
            Some(category),
            Some(nationality),
            Some(id_document),
            Some(name),
            Some(email),
            Some(gender),
            Some(phone),
            Some(user_type),
            Some(subject),
            Some(description),
        ) if errors.is_empty() => Ok(ParsedTicket {
            agency,
            category,
            requester: Requester {
                name,
                email,
                id_document: Some(id_document),
                phone,
                nationality: Some(nationality),
                gender,
                user_type: Some(user_type),
            },
            subject,
            description,
        }),
        _ => Err(errors),
    }
}
