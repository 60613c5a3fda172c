//! The ticket form's fields: read from JSON or multipart, parsed into the domain's types, and
//! drawn back into the form with the citizen's values and errors when something is wrong.

use serde::Deserialize;
use ventanilla_app::config::{Agency, Settings};
use ventanilla_domain::Choice;
use ventanilla_domain::Labelled;
use ventanilla_domain::{
    Body, Category, Email, FieldError, FieldErrors, FieldProblem, Gender, IdDocument, IdType, Lang,
    Nationality, PersonName, Phone, Requester, Subject, UserType,
};
use ventanilla_web::pages::{FieldKind, FieldView, SelectOption, attach_errors};
use ventanilla_web::texts::texts;

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

/// Parses every field, collecting all errors so the citizen fixes them in one go.
pub fn parse<'a>(
    fields: &TicketFields,
    settings: &'a Settings,
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
    let email = errors.check(Email::parse(&fields.email));
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

/// The form's fields in the order the citizen fills them, with the values typed so far and
/// the errors next to them.
pub fn field_views(
    fields: &TicketFields,
    settings: &Settings,
    errors: &FieldErrors,
    lang: Lang,
) -> Vec<FieldView> {
    let t = texts(lang);
    let agencies: Vec<(String, String)> = settings
        .agencies
        .iter()
        .map(|a| (a.code.to_string(), a.name.clone()))
        .collect();
    let mut countries: Vec<(&str, &str)> = Nationality::all()
        .map(|n| (n.as_str(), n.name_en()))
        .collect();
    // Ecuador first: most citizens are Ecuadorian; the rest in alphabetical order.
    countries.sort_by_key(|(code, name)| (*code != "EC", *name));
    let mut views = vec![
        FieldView::new("agency", t.agency, FieldKind::Select, &fields.agency).options(
            SelectOption::list(
                agencies.iter().map(|(c, n)| (c.as_str(), n.as_str())),
                &fields.agency,
            ),
        ),
        FieldView::new("category", t.category, FieldKind::Select, &fields.category).options(
            SelectOption::list(
                Category::ALL
                    .iter()
                    // Those under a law of their own where some agency takes them.
                    .filter(|c| settings.agencies.iter().any(|a| a.offers(**c)))
                    .map(|c| (c.wire(), c.label(lang))),
                &fields.category,
            ),
        ),
        FieldView::new(
            "nationality",
            t.nationality,
            FieldKind::Select,
            &fields.nationality,
        )
        .options(SelectOption::list(countries, &fields.nationality)),
        FieldView::new("id_type", t.id_type, FieldKind::Select, &fields.id_type).options(
            SelectOption::list(
                [("cedula", t.id_cedula), ("pasaporte", t.id_passport)],
                &fields.id_type,
            ),
        ),
        FieldView::new("id_number", t.id_number, FieldKind::Text, &fields.id_number)
            .hint(t.id_number_hint)
            .max_length(20),
        FieldView::new("full_name", t.full_name, FieldKind::Text, &fields.full_name)
            .autocomplete("name")
            .max_length(120),
        FieldView::new("email", t.email, FieldKind::Email, &fields.email)
            .hint(t.email_hint)
            .autocomplete("email")
            .max_length(254),
        FieldView::new("gender", t.gender, FieldKind::Select, &fields.gender)
            .optional()
            .options(SelectOption::list(
                Gender::ALL.iter().map(|g| (g.wire(), g.label(lang))),
                &fields.gender,
            )),
        FieldView::new("phone", t.phone, FieldKind::Tel, &fields.phone)
            .optional()
            .hint(t.phone_hint)
            .autocomplete("tel")
            .max_length(30),
        FieldView::new(
            "user_type",
            t.user_type,
            FieldKind::Select,
            &fields.user_type,
        )
        .options(SelectOption::list(
            UserType::ALL.iter().map(|u| (u.wire(), u.label(lang))),
            &fields.user_type,
        )),
        FieldView::new("subject", t.subject, FieldKind::Text, &fields.subject)
            .max_length(Subject::MAX),
        FieldView::new(
            "description",
            t.description,
            FieldKind::TextArea,
            &fields.description,
        )
        .max_length(Body::MAX),
    ];
    attach_errors(&mut views, errors, lang);
    views
}
