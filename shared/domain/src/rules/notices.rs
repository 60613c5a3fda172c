//! The mails the system writes on its own. They come from the no-reply address with
//! `Reply-To` the support address, carry the ticket's tag in the subject and our threading
//! anchor in `References`, and are marked automatic (RFC 3834).

use crate::Labelled;
use crate::model::mail::{MailDraft, MailMessageId, Mailbox};
use crate::model::time::long_date;
use crate::{Lang, Message, Ticket, Timestamp};

/// What a notice needs besides the ticket.
#[derive(Debug, Clone)]
pub struct NoticeContext<'a> {
    pub from: &'a Mailbox,
    pub reply_to: &'a Mailbox,
    pub mail_domain: &'a str,
    pub agency_name: &'a str,
    pub response_days: u32,
    /// The ticket's due date, said instead of a count of days when it has one.
    pub due_on: Option<chrono::NaiveDate>,
    /// The signed link that opens the status page.
    pub access_url: &'a str,
    /// The site's address, where the form opens a new ticket.
    pub site_url: &'a str,
    pub lang: Lang,
    pub now: Timestamp,
    /// Our id for this mail (the provider may replace it).
    pub message_id: MailMessageId,
    /// The citizen's mail this answers, when it came by mail.
    pub in_reply_to: Option<MailMessageId>,
}

/// "We received your request": the ticket's number, what was received, when to expect an
/// answer, and the access link. With `quote`, the typed subject and text too; without, the
/// mail carries nothing the sender typed (the address may not be theirs: a form anyone
/// fills in, or a mail whose sender SES could not authenticate), so it cannot carry someone
/// else's words from the agency's address.
pub fn acknowledgement(
    ticket: &Ticket,
    first: &Message,
    quote: bool,
    cx: NoticeContext<'_>,
) -> MailDraft {
    let number = ticket.number.as_str();
    let attachments: Vec<&str> = first.attachments.iter().map(|a| a.name.as_str()).collect();
    let (subject, text) = match cx.lang {
        Lang::Es => {
            let what = if quote {
                format!(
                    "Tipo: {category}\nAsunto: {subject}\n{files}\n",
                    category = ticket.category.label(Lang::Es),
                    subject = ticket.subject,
                    files = files_line("Adjuntos", &attachments),
                )
            } else {
                format!("Tipo: {}\n\n", ticket.category.label(Lang::Es))
            };
            let body = if quote {
                format!(
                    "\n\nLo que nos escribió:\n\n{}",
                    quoted(first.body.as_str())
                )
            } else {
                "\n\nLo que nos escribió está en el enlace de arriba.\n".to_owned()
            };
            (
                if quote {
                    format!(
                        "{} Recibimos su solicitud: {}",
                        ticket.number.tag(),
                        ticket.subject
                    )
                } else {
                    format!("{} Recibimos su solicitud", ticket.number.tag())
                },
                format!(
                    "{greeting}\n\n\
                     Recibimos su solicitud en {agency}. Su número de ticket es {number}.\n\n\
                     {what}\
                     {promise}.\n\n\
                     Puede ver el estado de su ticket en este enlace, sin ingresar ningún dato:\n{url}\n\n\
                     Si desea añadir información, responda a este correo manteniendo el número \
                     [{number}] en el asunto.\n\n\
                     Este es un mensaje automático.{body}",
                    greeting = if quote {
                        format!("Estimado/a {}:", ticket.requester.name)
                    } else {
                        "Estimado/a ciudadano/a:".to_owned()
                    },
                    agency = cx.agency_name,
                    promise = match cx.due_on {
                        Some(due) =>
                            format!("Le responderemos hasta el {}", long_date(due, Lang::Es)),
                        None => format!(
                            "Le responderemos en un plazo de hasta {} días hábiles",
                            cx.response_days
                        ),
                    },
                    url = cx.access_url,
                ),
            )
        }
        Lang::En => {
            let what = if quote {
                format!(
                    "Type: {category}\nSubject: {subject}\n{files}\n",
                    category = ticket.category.label(Lang::En),
                    subject = ticket.subject,
                    files = files_line("Attachments", &attachments),
                )
            } else {
                format!("Type: {}\n\n", ticket.category.label(Lang::En))
            };
            let body = if quote {
                format!("\n\nWhat you wrote:\n\n{}", quoted(first.body.as_str()))
            } else {
                "\n\nWhat you wrote is at the link above.\n".to_owned()
            };
            (
                if quote {
                    format!(
                        "{} We received your request: {}",
                        ticket.number.tag(),
                        ticket.subject
                    )
                } else {
                    format!("{} We received your request", ticket.number.tag())
                },
                format!(
                    "{greeting}\n\n\
                     {agency} received your request. Your ticket number is {number}.\n\n\
                     {what}\
                     {promise}.\n\n\
                     You can check your ticket's status at this link, without typing anything:\n{url}\n\n\
                     To add information, reply to this e-mail keeping [{number}] in the subject.\n\n\
                     This is an automatic message.{body}",
                    greeting = if quote {
                        format!("Dear {},", ticket.requester.name)
                    } else {
                        "Dear citizen,".to_owned()
                    },
                    agency = cx.agency_name,
                    promise = match cx.due_on {
                        Some(due) => format!("We will answer by {}", long_date(due, Lang::En)),
                        None => format!("We will answer within {} business days", cx.response_days),
                    },
                    url = cx.access_url,
                ),
            )
        }
    };
    let mut draft = mail_about(ticket, subject, text, cx, true);
    if !quote {
        // Not even the typed name, as the recipient's display name.
        draft.to = Mailbox::bare(ticket.requester.email.clone());
    }
    draft
}

/// An agent's public reply, from the service desk's address: the reply's text, then the
/// ticket's tag (the body marker a reply's quote carries back) and the access link.
pub fn agent_reply(ticket: &Ticket, reply: &Message, cx: NoticeContext<'_>) -> MailDraft {
    let subject = format!("{} Re: {}", ticket.number.tag(), ticket.subject);
    let footer = match cx.lang {
        Lang::Es => format!(
            "{agency}\nTicket {tag}. Puede verlo en: {url}\n\
             Para responder, conteste este correo.",
            agency = cx.agency_name,
            tag = ticket.number.tag(),
            url = cx.access_url,
        ),
        Lang::En => format!(
            "{agency}\nTicket {tag}. See it at: {url}\nTo answer, reply to this e-mail.",
            agency = cx.agency_name,
            tag = ticket.number.tag(),
            url = cx.access_url,
        ),
    };
    let text = format!("{}\n\n-- \n{footer}\n", reply.body.as_str());
    mail_about(ticket, subject, text, cx, false)
}

/// "Your ticket is closed": a citizen wrote to a finished ticket whose queue does not reopen
/// by mail. The mail was not added; the notice says how to ask again.
pub fn follow_up_refused(ticket: &Ticket, cx: NoticeContext<'_>) -> MailDraft {
    let number = ticket.number.as_str();
    let (subject, text) = match cx.lang {
        Lang::Es => (
            format!(
                "{} Su ticket está cerrado: {}",
                ticket.number.tag(),
                ticket.subject
            ),
            format!(
                "Estimado/a {name}:\n\n\
                 Recibimos su correo sobre el ticket {number} de {agency}, que ya está cerrado. \
                 Su mensaje no se añadió al ticket.\n\n\
                 Si necesita más ayuda, escriba un correo nuevo sin el número en el asunto, \
                 o abra un ticket nuevo en:\n{site}\n\n\
                 Puede ver el ticket cerrado en este enlace:\n{url}\n\n\
                 Este es un mensaje automático.\n",
                name = ticket.requester.name,
                agency = cx.agency_name,
                site = cx.site_url,
                url = cx.access_url,
            ),
        ),
        Lang::En => (
            format!(
                "{} Your ticket is closed: {}",
                ticket.number.tag(),
                ticket.subject
            ),
            format!(
                "Dear {name},\n\n\
                 We received your e-mail about ticket {number} of {agency}, which is closed. \
                 Your message was not added to the ticket.\n\n\
                 If you need more help, write a new e-mail without the number in the subject, \
                 or open a new ticket at:\n{site}\n\n\
                 You can see the closed ticket at this link:\n{url}\n\n\
                 This is an automatic message.\n",
                name = ticket.requester.name,
                agency = cx.agency_name,
                site = cx.site_url,
                url = cx.access_url,
            ),
        ),
    };
    mail_about(ticket, subject, text, cx, true)
}

/// The envelope every mail about a ticket shares: to the requester, threaded to the
/// citizen's mail and to the ticket's anchor; notices are marked automatic.
fn mail_about(
    ticket: &Ticket,
    subject: String,
    text: String,
    cx: NoticeContext<'_>,
    automatic: bool,
) -> MailDraft {
    let mut references = Vec::new();
    if let Some(parent) = &cx.in_reply_to {
        references.push(parent.clone());
    }
    references.push(MailMessageId::ticket_anchor(&ticket.number, cx.mail_domain));
    MailDraft {
        from: cx.from.clone(),
        to: Mailbox::new(
            ticket.requester.name.as_str(),
            ticket.requester.email.clone(),
        ),
        reply_to: Some(cx.reply_to.clone()),
        subject,
        text,
        html: None,
        message_id: cx.message_id,
        in_reply_to: cx.in_reply_to,
        references,
        automatic,
        date: cx.now,
        attachments: Vec::new(),
    }
}

fn files_line(label: &str, names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("{label}: {}\n", names.join(", "))
    }
}

fn quoted(body: &str) -> String {
    body.lines().map(|line| format!("> {line}\n")).collect()
}
