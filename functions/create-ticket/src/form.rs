//! The ticket form's fields drawn back into the form with the citizen's values and errors
//! when something is wrong (`ventanilla_app::ticket_fields` reads and parses them).

use ventanilla_app::config::Settings;
use ventanilla_app::ticket_fields::TicketFields;
use ventanilla_domain::Choice;
use ventanilla_domain::Labelled;
use ventanilla_domain::{
    Body, Category, FieldErrors, Gender, Lang, Nationality, Subject, UserType,
};
use ventanilla_web::pages::{FieldKind, FieldView, SelectOption, attach_errors};
use ventanilla_web::texts::texts;

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
    // Ecuador first (most citizens are Ecuadorian), then as a reader of `lang` sorts them.
    let countries: Vec<(&str, &str)> = Nationality::in_form_order(lang)
        .map(|n| (n.as_str(), n.name(lang)))
        .collect();
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
