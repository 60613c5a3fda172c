//! The wire shapes of the agent API: a ticket in a queue, and a whole ticket with its thread.

use serde::Serialize;
use ventanilla_app::show_ticket::{LinkedMessage, ShownTicket};
use ventanilla_domain::Choice;
use ventanilla_domain::model::information_answer::InformationAnswer;
use ventanilla_domain::model::rating::Rating;
use ventanilla_domain::rules::deadline::{business_days_left, day_in_ecuador};
use ventanilla_domain::{Author, MessageKind, Ticket, Timestamp};

/// A ticket as a queue lists it: no personal data beyond the subject.
#[derive(Debug, Serialize)]
pub struct TicketSummary {
    pub number: String,
    pub version: u64,
    pub agency: String,
    pub queue: String,
    pub status: &'static str,
    pub priority: &'static str,
    pub category: &'static str,
    pub subject: String,
    pub assignee: Option<String>,
    pub created_at: String,
    pub last_activity: String,
    pub linked_to: Option<String>,
    /// Tickets an agent related to this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// The ticket this duplicate was merged into: it takes no more work, that one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// The duplicates merged into this one: their messages are in its thread.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
    pub undelivered_replies: usize,
    /// The last day of the term to answer (`YYYY-MM-DD`, Ecuador).
    pub due_on: Option<String>,
    /// Business days from today to `due_on`: 0 on the day, negative once it has passed (in a
    /// queue's listing and a ticket's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_days_left: Option<i64>,
    /// While the agency waits on the citizen the clock is stopped: since when, and the day it
    /// runs again by itself (`due_on` is then the date it will have).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes_on: Option<String>,
    /// The rule that sets the term ("COA, art. 207") and how it counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<TermView>,
}

#[derive(Debug, Serialize)]
pub struct TermView {
    pub days: u32,
    pub kind: &'static str,
    pub basis: String,
    /// The days a supervisor may extend it by, while it has not been.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extendable_by: Option<u32>,
    /// Once extended: by how many days, from which date, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended: Option<ExtensionView>,
}

#[derive(Debug, Serialize)]
pub struct ExtensionView {
    pub days: u32,
    pub was_due_on: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

impl TicketSummary {
    /// With the business days left to `ticket`'s due date as of `now`.
    pub fn as_of(ticket: &Ticket, now: Timestamp) -> Self {
        let today = day_in_ecuador(now);
        let stopped = ticket.clock_stopped(today);
        TicketSummary {
            business_days_left: ticket
                .due_date()
                .map(|due| business_days_left(due, today, ticket.calendar())),
            suspended_since: stopped.map(|s| s.since.to_string()),
            resumes_on: stopped.map(|s| s.resumes_on.to_string()),
            ..TicketSummary::from(ticket)
        }
    }
}

impl From<&Ticket> for TicketSummary {
    fn from(ticket: &Ticket) -> Self {
        TicketSummary {
            number: ticket.number.to_string(),
            version: ticket.version,
            agency: ticket.agency.as_str().to_owned(),
            queue: ticket.queue.as_str().to_owned(),
            status: ticket.status.wire(),
            priority: ticket.priority.wire(),
            category: ticket.category.wire(),
            subject: ticket.subject.as_str().to_owned(),
            assignee: ticket.assignee.as_ref().map(|a| a.as_str().to_owned()),
            created_at: ticket.created_at.to_string(),
            last_activity: ticket.last_activity.to_string(),
            linked_to: ticket.linked_to.as_ref().map(ToString::to_string),
            related: ticket.related.iter().map(ToString::to_string).collect(),
            merged_into: ticket.merged_into.as_ref().map(ToString::to_string),
            merged: ticket.merged.iter().map(ToString::to_string).collect(),
            undelivered_replies: ticket.undelivered.len(),
            due_on: ticket.due_date().map(|day| day.to_string()),
            business_days_left: None,
            suspended_since: None,
            resumes_on: None,
            term: ticket.term.as_ref().map(|term| TermView {
                days: term.days,
                kind: term.kind.wire(),
                basis: term.basis.clone(),
                extendable_by: term
                    .extension
                    .filter(|_| ticket.extended.is_none())
                    .map(|e| e.days),
                extended: ticket.extended.as_ref().map(|e| ExtensionView {
                    days: e.days,
                    was_due_on: e.was_due_on.to_string(),
                    reason: e.reason.clone(),
                    by: e.by.as_str().to_owned(),
                    at: e.at.to_string(),
                }),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RequesterView {
    pub name: String,
    /// `null` for a caller who gave no address.
    pub email: Option<String>,
    pub id_type: Option<&'static str>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub nationality: Option<String>,
    pub gender: Option<&'static str>,
    pub user_type: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: String,
    pub at: String,
    /// `citizen_message`, `public_reply`, `internal_note` or `system_event`.
    pub kind: MessageKind,
    pub author: String,
    pub text: String,
    pub attachments: Vec<AttachmentView>,
    /// Public replies only: whether the mail provider took it.
    pub delivered: Option<bool>,
    /// A citizen's mail whose sender SES's checks did not authenticate: the console marks it
    /// "remitente no verificado" (it may not be from the address it names).
    pub sender_unverified: bool,
    /// A citizen's mail: the history it quoted, which the console shows collapsed.
    pub quoted: Option<String>,
    /// The duplicate it was written on, merged into this ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<String>,
}

/// A whole ticket, for an agent with access to it.
#[derive(Debug, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub requester: RequesterView,
    /// How the request reached the agency (`formulario`, `correo`, `telefono`, `presencial`,
    /// `oficio`); `null` on tickets opened before it was kept.
    pub channel: Option<&'static str>,
    pub referrals: Vec<String>,
    /// A request for public information: how it was answered (`granted`, `partly_granted`,
    /// `denied`, `referred`) and why; `null` until an agent records it.
    pub information_answer: Option<InformationAnswer>,
    /// The citizen's rating of the attention (score 1 to 5, comment, when), once given.
    pub rating: Option<Rating>,
    /// The newest page of the thread, oldest first.
    pub messages: Vec<MessageView>,
    /// When older messages exist: the `before` that reads the page before this one.
    pub older: Option<String>,
}

impl TicketView {
    /// The ticket as an agent opens it at `now`.
    pub fn new(shown: ShownTicket, now: Timestamp) -> Self {
        let ticket = &shown.ticket;
        let messages = shown
            .messages
            .into_iter()
            .map(
                |LinkedMessage {
                     message,
                     links,
                     merged_from,
                 }| MessageView {
                    merged_from: merged_from.map(|n| n.to_string()),
                    id: message.id.to_string(),
                    at: message.at.to_string(),
                    kind: message.kind,
                    author: match &message.author {
                        Author::Requester => ticket.requester.name.to_string(),
                        Author::Agent(agent) => agent.name.clone(),
                        Author::System => "Ventanilla".to_owned(),
                    },
                    text: message.body.as_str().to_owned(),
                    attachments: message
                        .attachments
                        .iter()
                        .zip(links)
                        .map(|(file, url)| AttachmentView {
                            name: file.name.clone(),
                            content_type: file.content_type.clone(),
                            size: file.size,
                            url,
                        })
                        .collect(),
                    // A reply to a caller without an address was never to be mailed.
                    delivered: (message.kind == MessageKind::PublicReply && message.mail.is_some())
                        .then(|| !ticket.undelivered.contains(&message.id)),
                    sender_unverified: message.mail.as_ref().is_some_and(|m| m.sender_unverified),
                    quoted: message.mail.as_ref().and_then(|m| m.quoted.clone()),
                },
            )
            .collect();
        let requester = &ticket.requester;
        TicketView {
            summary: TicketSummary::as_of(ticket, now),
            requester: RequesterView {
                name: requester.name.to_string(),
                email: requester.email.as_ref().map(|e| e.as_str().to_owned()),
                id_type: requester.id_document.as_ref().map(|d| d.id_type().wire()),
                id_number: requester
                    .id_document
                    .as_ref()
                    .map(|d| d.number().to_owned()),
                phone: requester.phone.as_ref().map(ToString::to_string),
                nationality: requester.nationality.as_ref().map(ToString::to_string),
                gender: requester.gender.map(|g| g.wire()),
                user_type: requester.user_type.map(|u| u.wire()),
            },
            channel: ticket.channel.map(|c| c.wire()),
            information_answer: ticket.information_answer.clone(),
            rating: ticket.rating.clone(),
            referrals: ticket
                .referrals
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            messages,
            older: shown.older.map(|cursor| cursor.as_str().to_owned()),
        }
    }
}

/// What the console shows for each code the API sends (status, priority, role, category,
/// channel, nationality), in `lang`: the agents' words, never the wire names; each list in the
/// order people read it (countries by their CLDR names, Ecuador first).
pub fn labels(lang: ventanilla_domain::Lang) -> serde_json::Value {
    use ventanilla_domain::model::agents::Role;
    use ventanilla_domain::{Category, Channel, Labelled, Priority, Status};
    fn of<T: Labelled>(lang: ventanilla_domain::Lang) -> Vec<serde_json::Value> {
        T::ALL
            .iter()
            .map(|value| serde_json::json!({ "code": value.wire(), "label": value.label(lang) }))
            .collect()
    }
    let statuses: Vec<serde_json::Value> = Status::ALL
        .iter()
        .map(|status| serde_json::json!({ "code": status.wire(), "label": status.agent_label(lang) }))
        .collect();
    serde_json::json!({
        "status": statuses,
        "priority": of::<Priority>(lang),
        "role": of::<Role>(lang),
        "category": of::<Category>(lang),
        "channel": of::<Channel>(lang),
        "nationality": ventanilla_domain::Nationality::in_form_order(lang)
            .map(|n| serde_json::json!({ "code": n.as_str(), "label": n.name(lang) }))
            .collect::<Vec<_>>(),
    })
}

/// What the agent prints for a caller: the number, the day it was opened, the due date, and
/// how the citizen follows it (by mail and its link, or on the status page with the number
/// and their document).
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub number: String,
    pub agency: String,
    pub opened_on: String,
    pub due_on: Option<String>,
    pub how_to_follow: String,
    pub status_url: String,
}

impl Receipt {
    pub fn new(
        ticket: &Ticket,
        site: &ventanilla_app::Site,
        lang: ventanilla_domain::Lang,
    ) -> Self {
        use ventanilla_domain::Lang;
        use ventanilla_domain::model::time::long_date;
        use ventanilla_domain::rules::deadline::day_in_ecuador;
        let settings = &site.settings;
        let status_url = format!("{}/estado", settings.public_url);
        let how_to_follow = match (&ticket.requester.email, lang) {
            (Some(email), Lang::Es) => format!(
                "Recibirá un correo en {email} con el número y un enlace para seguir su trámite; también puede consultarlo en {status_url} con el número y ese correo."
            ),
            (Some(email), Lang::En) => format!(
                "A mail to {email} brings the number and a link to follow the request; it can also be looked up at {status_url} with the number and that address."
            ),
            (None, Lang::Es) => format!(
                "Consulte el estado en {status_url} con el número del ticket y su número de cédula o pasaporte."
            ),
            (None, Lang::En) => format!(
                "Look up its status at {status_url} with the ticket's number and your ID card or passport number."
            ),
        };
        Receipt {
            number: ticket.number.as_str().to_owned(),
            agency: settings
                .agency(&ticket.agency)
                .map_or_else(|| ticket.agency.to_string(), |a| a.name.clone()),
            opened_on: long_date(day_in_ecuador(ticket.created_at), lang),
            due_on: ticket.due_date().map(|day| long_date(day, lang)),
            how_to_follow,
            status_url,
        }
    }
}
