//! The mails the system writes on its own. They come from the no-reply address with
//! `Reply-To` the support address, carry the ticket's tag in the subject and our threading
//! anchor in `References`, and are marked automatic (RFC 3834).

use crate::Labelled;
use crate::model::agents::AlertEvent;
use crate::model::mail::{AutoSubmitted, MailDraft, MailMessageId, Mailbox};
use crate::model::term::WarningPoint;
use crate::model::time::long_date;
use crate::{Email, Lang, Message, Ticket, Timestamp};

/// What a notice needs besides the ticket.
#[derive(Debug, Clone)]
pub struct NoticeContext<'a> {
    pub from: &'a Mailbox,
    /// Whom it goes to: the requester's address (a ticket without one gets no mail).
    pub to: &'a Email,
    pub reply_to: &'a Mailbox,
    pub mail_domain: &'a str,
    pub agency_name: &'a str,
    pub response_days: u32,
    /// The ticket's due date, said instead of a count of days when it has one.
    pub due_on: Option<chrono::NaiveDate>,
    /// The signed link that opens the status page.
    pub access_url: &'a str,
    /// The signed link that rates the ticket (a score is added to it), on a reply that
    /// finished it and it only.
    pub rating_url: Option<&'a str>,
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
                        Some(due) => format!(
                            "Le responderemos hasta el {}{}",
                            long_date(due, Lang::Es),
                            basis_line(ticket, ". Base del plazo: ")
                        ),
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
                        Some(due) => format!(
                            "We will answer by {}{}",
                            long_date(due, Lang::En),
                            basis_line(ticket, ". The term is set by: ")
                        ),
                        None => format!("We will answer within {} business days", cx.response_days),
                    },
                    url = cx.access_url,
                ),
            )
        }
    };
    let to = cx.to;
    let mut draft = mail_about(ticket, subject, text, cx, Some(AutoSubmitted::Replied));
    if !quote {
        // Not even the typed name, as the recipient's display name.
        draft.to = Mailbox::bare(to.clone());
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
    let rating = cx.rating_url.map_or_else(String::new, |url| {
        let ask = match cx.lang {
            Lang::Es => "¿Cómo le atendimos? Elija una nota (puede añadir un comentario):",
            Lang::En => "How were you attended? Choose a score (you may add a comment):",
        };
        let choices: String = (1..=5u8)
            .rev()
            .map(|score| {
                format!(
                    "{score} - {}: {url}?nota={score}\n",
                    crate::model::rating::Rating::label(score, cx.lang)
                )
            })
            .collect();
        format!("{ask}\n{choices}\n")
    });
    // Above the signature, which some clients grey out or cut.
    let text = format!("{}\n\n{rating}-- \n{footer}\n", reply.body.as_str());
    mail_about(ticket, subject, text, cx, None)
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
    mail_about(ticket, subject, text, cx, Some(AutoSubmitted::Replied))
}

/// "We extended the term to answer you": the new date, by how much, the rule, and the
/// supervisor's reason. Nothing the sender typed (the address may not be theirs): the
/// ticket's number and the access link say which request it is.
pub fn term_extended(ticket: &Ticket, cx: NoticeContext<'_>) -> MailDraft {
    let number = ticket.number.as_str();
    let days = ticket.extended.as_ref().map_or(0, |e| e.days);
    let reason = ticket
        .extended
        .as_ref()
        .map_or(String::new(), |e| e.reason.clone());
    let basis = ticket.term.as_ref().map_or("", |t| t.basis.as_str());
    let kind = ticket
        .term
        .as_ref()
        .map_or(crate::model::term::DayKind::Business, |t| t.kind);
    let due = cx
        .due_on
        .map(|day| long_date(day, cx.lang))
        .unwrap_or_default();
    let (subject, text) = match cx.lang {
        Lang::Es => (
            format!(
                "{} Ampliamos el plazo para responderle",
                ticket.number.tag()
            ),
            format!(
                "Estimado/a ciudadano/a:\n\n\
                 {agency} amplió en {days} {unit} el plazo para responder su solicitud \
                 {number} ({basis}).\n\n\
                 Nueva fecha límite de respuesta: {due}.\n\n\
                 Motivo: {reason}\n\n\
                 Puede ver el estado de su ticket en este enlace:\n{url}\n\n\
                 Este es un mensaje automático.\n",
                agency = cx.agency_name,
                unit = match kind {
                    crate::model::term::DayKind::Business => "días hábiles",
                    crate::model::term::DayKind::Calendar => "días",
                },
                url = cx.access_url,
            ),
        ),
        Lang::En => (
            format!("{} We extended the term to answer you", ticket.number.tag()),
            format!(
                "Dear citizen,\n\n\
                 {agency} extended by {days} {unit} the term to answer your request \
                 {number} ({basis}).\n\n\
                 New date for the answer: {due}.\n\n\
                 Reason: {reason}\n\n\
                 You can check your ticket's status at this link:\n{url}\n\n\
                 This is an automatic message.\n",
                agency = cx.agency_name,
                unit = match kind {
                    crate::model::term::DayKind::Business => "business days",
                    crate::model::term::DayKind::Calendar => "days",
                },
                url = cx.access_url,
            ),
        ),
    };
    let to = cx.to;
    let mut draft = mail_about(ticket, subject, text, cx, Some(AutoSubmitted::Generated));
    // Not even the typed name, as the recipient's display name.
    draft.to = Mailbox::bare(to.clone());
    draft
}

/// To an agent of the ticket's agency: its term is at a warning point. From the no-reply
/// address, answering to it too (a reply reaches nobody, and never the citizen's ticket),
/// threaded per ticket in the agent's client, marked automatic. In Spanish: the agencies'
/// staff work in it.
pub fn deadline_warning(
    ticket: &Ticket,
    point: WarningPoint,
    to: Mailbox,
    today: chrono::NaiveDate,
    cx: NoticeContext<'_>,
) -> MailDraft {
    let number = ticket.number.as_str();
    let due = ticket.due_date();
    let due_text = due.map(|d| long_date(d, Lang::Es)).unwrap_or_default();
    let term = ticket.term.as_ref();
    let (subject, what) = match point {
        WarningPoint::SharePassed => (
            format!("Plazo por vencer el {due_text}"),
            format!(
                "Ha transcurrido el {}% del plazo para responder el ticket {number}; vence el \
                 {due_text}.",
                term.map_or(80, |t| t.warnings.at_percent)
            ),
        ),
        WarningPoint::DueSoon => (
            format!("Vence el {due_text}"),
            format!("El plazo para responder el ticket {number} vence el {due_text}."),
        ),
        WarningPoint::Expired => (
            format!("Plazo vencido el {due_text}"),
            format!(
                "El plazo para responder el ticket {number} venció el {due_text} y no ha sido \
                 resuelto."
            ),
        ),
    };
    let left = due.map_or(0, |d| {
        crate::rules::deadline::business_days_left(d, today, ticket.calendar())
    });
    let text = format!(
        "{what}\n\n\
         Ticket: {number}\n\
         Asunto: {subject}\n\
         Tipo: {category}\n\
         Cola: {queue}\n\
         Estado: {status}\n\
         Asignado a: {assignee}\n\
         Fecha límite: {due_text}\n\
         Días hábiles restantes: {left}\n\
         Base del plazo: {basis}\n\n\
         Ábralo en la consola: {console}/agente#{number}\n\n\
         Cada aviso del plazo se envía una sola vez. Este es un mensaje automático: no lo \
         responda.\n",
        subject = ticket.subject,
        category = ticket.category.label(Lang::Es),
        queue = ticket.queue.as_str(),
        status = ticket.status.label(Lang::Es),
        assignee = ticket.assignee.as_ref().map_or("nadie", |a| a.as_str()),
        basis = term.map_or("—", |t| t.basis.as_str()),
        console = cx.site_url,
    );
    let mut draft = mail_about(
        ticket,
        format!("{} {subject}: {}", ticket.number.tag(), ticket.subject),
        text,
        cx,
        Some(AutoSubmitted::Generated),
    );
    draft.to = to;
    draft
}

/// How much of the citizen's text an alert quotes; the rest is one click away.
const ALERT_QUOTE_CHARS: usize = 4000;

/// The line that opens an alert's own words: an answer by mail that still holds it quotes
/// the alert unmarked, and is not sent on (`mail_answer`).
pub const ALERT_MARK: &str = "Aviso de Ventanilla para agentes";

/// The keywords an agent's answer by mail may start with (`mail_answer`), as the alert
/// explains them.
pub const ALERT_HOW_TO_ANSWER: &str = "Para contestar al ciudadano, responda a este correo \
     desde su dirección registrada: lo que escriba sobre el texto citado se le envía como \
     respuesta pública desde la dirección de soporte, con sus adjuntos.\n\
     Escriba en la primera línea:\n\
     #nota      para dejar una nota interna en lugar de responder;\n\
     #resolver  para responder y marcar la solicitud como resuelta;\n\
     #cerrar    para responder y cerrarla.\n";

/// To an agent: something happened on a ticket they are told of. The first line says what;
/// then the message (a citizen's words, split from their history; a transfer's note), and
/// how to answer by mail. Threaded per ticket in the agent's client: one subject per ticket,
/// under the alerts' anchor; from the no-reply address, answered to the support address.
pub fn agent_alert(
    ticket: &Ticket,
    event: AlertEvent,
    about: Option<&Message>,
    to: Mailbox,
    cx: NoticeContext<'_>,
) -> MailDraft {
    let number = ticket.number.as_str();
    let what = match event {
        AlertEvent::NewTicket => format!("Nueva solicitud {number} en la cola {}.", ticket.queue),
        AlertEvent::FollowUp => format!("El ciudadano escribió de nuevo en la solicitud {number}."),
        AlertEvent::Transferred => format!(
            "La solicitud {number} fue transferida a {} (cola {}).",
            cx.agency_name, ticket.queue
        ),
        AlertEvent::Deadline => format!("Aviso de plazo de la solicitud {number}."),
    };
    let due = ticket
        .due_date()
        .map_or("—".to_owned(), |d| long_date(d, Lang::Es));
    let mut text = format!(
        "{what}\n\n\
         {ALERT_MARK}: no reenvíe este correo.\n\
         Asunto: {subject}\n\
         Solicitante: {name}\n\
         Estado: {status}\n\
         Asignada a: {assignee}\n\
         Fecha límite: {due}\n\n",
        subject = ticket.subject,
        name = ticket.requester.name,
        status = ticket.status.label(Lang::Es),
        assignee = ticket.assignee.as_ref().map_or("nadie", |a| a.as_str()),
    );
    if let Some(message) = about {
        let who = match &message.author {
            crate::Author::Agent(agent) => format!("Nota de {}", agent.name),
            _ => format!("{} escribió", ticket.requester.name),
        };
        let body: String = message
            .body
            .as_str()
            .chars()
            .take(ALERT_QUOTE_CHARS)
            .collect();
        let cut = if body.len() < message.body.as_str().len() {
            "> […]\n"
        } else {
            ""
        };
        text.push_str(&format!("{who}:\n{}{cut}", quoted(&body)));
        let names: Vec<&str> = message
            .attachments
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        text.push_str(&files_line("Adjuntos", &names));
        text.push('\n');
    }
    text.push_str(&format!(
        "Ábrala en la consola: {}/agente#{number}\n\n-- \n{ALERT_HOW_TO_ANSWER}\n\
         Aviso automático de {}. Elija qué avisos recibe en la consola (Mis avisos).\n",
        cx.site_url,
        cx.from.name.as_deref().unwrap_or("Ventanilla"),
    ));
    let anchor = MailMessageId::alerts_anchor(&ticket.number, cx.mail_domain);
    MailDraft {
        from: cx.from.clone(),
        to,
        reply_to: Some(cx.reply_to.clone()),
        subject: format!("{} {}", ticket.number.tag(), ticket.subject),
        text,
        html: None,
        message_id: cx.message_id,
        in_reply_to: Some(anchor.clone()),
        references: vec![anchor],
        automatic: Some(AutoSubmitted::Generated),
        date: cx.now,
        attachments: Vec::new(),
    }
}

/// To an agent, the alerts not sent one by one: each morning the events they chose a daily
/// digest of (`daily`), or when an hour in which their alerts passed the cap ends. `held`:
/// how many; `lines`: the tickets still theirs to hear of (a ticket erased or gone to
/// another agency since is left out), with what happened, oldest first.
pub fn alerts_held(
    daily: bool,
    held: u64,
    lines: &[(&Ticket, AlertEvent)],
    cap: u64,
    to: Mailbox,
    cx: NoticeContext<'_>,
) -> MailDraft {
    let alerts = if held == 1 {
        "1 aviso".to_owned()
    } else {
        format!("{held} avisos")
    };
    let (subject, mut text) = if daily {
        (
            format!("Resumen diario de Ventanilla: {alerts}"),
            format!("Resumen diario de sus avisos: {alerts} desde el resumen anterior.\n\n"),
        )
    } else {
        (
            format!("{alerts} más en la última hora"),
            format!(
                "En la última hora hubo {alerts} más para usted, además de los {cap} que se \
                 envían por hora; no se enviaron uno por uno.\n\n"
            ),
        )
    };
    for (ticket, event) in lines {
        let number = ticket.number.as_str();
        let due = match (event, ticket.due_date()) {
            (AlertEvent::Deadline, Some(day)) => {
                format!(" (vence el {})", long_date(day, Lang::Es))
            }
            _ => String::new(),
        };
        text.push_str(&format!(
            "- {}{due}: {number} «{}»\n  {}/agente#{number}\n",
            event.label(Lang::Es),
            ticket.subject,
            cx.site_url
        ));
    }
    let unlisted = held.saturating_sub(lines.len() as u64);
    if unlisted > 0 {
        text.push_str(&format!(
            "- y {unlisted} más: revise sus colas en la consola, {}/agente\n",
            cx.site_url
        ));
    }
    text.push_str(
        "\nAviso automático: no lo responda; cada solicitud se responde desde la consola. \
         Elija qué avisos recibe, al momento o en el resumen diario, en la consola (Mis \
         avisos).\n",
    );
    MailDraft {
        from: cx.from.clone(),
        to,
        reply_to: Some(cx.reply_to.clone()),
        subject,
        text,
        html: None,
        message_id: cx.message_id,
        in_reply_to: None,
        references: Vec::new(),
        automatic: Some(AutoSubmitted::Generated),
        date: cx.now,
        attachments: Vec::new(),
    }
}

/// To an address someone asked "Mis trámites" for: the sign-in link, and nothing of its
/// tickets (whoever asked may not own the address).
pub fn sign_in_link(
    url: &str,
    lang: Lang,
    to: Email,
    from: &Mailbox,
    message_id: MailMessageId,
    now: Timestamp,
) -> MailDraft {
    let (subject, text) = match lang {
        Lang::Es => (
            "Su enlace para ver sus trámites",
            format!(
                "Alguien (seguramente usted) pidió ver las solicitudes abiertas con esta \
                 dirección. Este enlace las muestra todas; sirve una sola vez, durante 30 \
                 minutos:\n\n{url}\n\nSi usted no lo pidió, ignore este correo: sin el enlace \
                 nadie ve sus solicitudes.\n\nEste es un mensaje automático: no lo responda.\n"
            ),
        ),
        Lang::En => (
            "Your link to see your requests",
            format!(
                "Someone (most likely you) asked to see the tickets opened with this address. \
                 This link shows them all; it works once, for 30 minutes:\n\n{url}\n\nIf you \
                 did not ask for it, ignore this e-mail: without the link nobody sees your \
                 tickets.\n\nThis is an automatic message: please do not reply.\n"
            ),
        ),
    };
    MailDraft {
        from: from.clone(),
        to: Mailbox::bare(to),
        reply_to: None,
        subject: subject.into(),
        text,
        html: None,
        message_id,
        in_reply_to: None,
        references: Vec::new(),
        automatic: Some(AutoSubmitted::Generated),
        date: now,
        attachments: Vec::new(),
    }
}

/// To an address an agent gave themselves: the code that makes it theirs. Nothing else: the
/// address may be someone else's.
pub fn address_code(
    code: &str,
    to: Mailbox,
    from: &Mailbox,
    site_url: &str,
    message_id: MailMessageId,
    now: Timestamp,
) -> MailDraft {
    let text = format!(
        "Su código para confirmar esta dirección en la consola de agentes de Ventanilla es:\n\n\
         {code}\n\n\
         Escríbalo en «Mis avisos» ({site_url}/agente) antes de 24 horas. Si usted no pidió \
         este código, ignore este correo: la dirección no se usará.\n"
    );
    MailDraft {
        from: from.clone(),
        to,
        reply_to: None,
        subject: "Código para confirmar su correo en Ventanilla".into(),
        text,
        html: None,
        message_id,
        in_reply_to: None,
        references: Vec::new(),
        automatic: Some(AutoSubmitted::Generated),
        date: now,
        attachments: Vec::new(),
    }
}

/// To whoever answered an alert by mail and may not: nothing was added or sent on. It names
/// only the number they wrote to, nothing of the ticket.
pub fn agent_mail_refused(
    number: &crate::TicketNumber,
    crossed: bool,
    to: Mailbox,
    cx: NoticeContext<'_>,
) -> MailDraft {
    let console = format!("{}/agente#{number}", cx.site_url);
    let (subject, text) = if crossed {
        (
            "Su respuesta no se envió: la solicitud cambió",
            format!(
                "Su respuesta a la solicitud {number} no se agregó ni se envió al ciudadano: la \
                 solicitud cambió después del aviso que usted respondió (otra respuesta, o un \
                 nuevo mensaje del ciudadano), y dos respuestas no deben cruzarse.\n\n\
                 Revise lo nuevo y responda desde la consola, o al aviso más reciente: \
                 {console}\n\n"
            ),
        )
    } else {
        (
            "Su correo no se agregó a la solicitud",
            format!(
                "Recibimos su correo sobre la solicitud {number}, pero no se agregó a ella ni se \
                 envió al ciudadano.\n\n\
                 Solo un agente activo, con acceso a la solicitud, puede responderla por correo: \
                 desde la dirección registrada en su perfil, y con un correo que su servidor \
                 autentica (SPF, DKIM y DMARC). Un aviso reenviado por otra persona no responde \
                 al ciudadano.\n\n\
                 Si usted es agente, responda desde la consola: {console}\n\n"
            ),
        )
    };
    MailDraft {
        from: cx.from.clone(),
        to,
        reply_to: None,
        subject: format!("{} {subject}", number.tag()),
        text: text + "Este es un mensaje automático: no lo responda.\n",
        html: None,
        message_id: cx.message_id,
        in_reply_to: cx.in_reply_to.clone(),
        references: cx.in_reply_to.into_iter().collect(),
        automatic: Some(AutoSubmitted::Replied),
        date: cx.now,
        attachments: Vec::new(),
    }
}

/// The envelope every mail about a ticket shares: to the requester, threaded to the
/// citizen's mail and to the ticket's anchor; notices are marked automatic.
fn mail_about(
    ticket: &Ticket,
    subject: String,
    text: String,
    cx: NoticeContext<'_>,
    automatic: Option<AutoSubmitted>,
) -> MailDraft {
    let mut references = Vec::new();
    if let Some(parent) = &cx.in_reply_to {
        references.push(parent.clone());
    }
    references.push(MailMessageId::ticket_anchor(&ticket.number, cx.mail_domain));
    MailDraft {
        from: cx.from.clone(),
        to: Mailbox::new(ticket.requester.name.as_str(), cx.to.clone()),
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

/// The rule that sets the ticket's term, after `label`; nothing for a ticket without one.
fn basis_line(ticket: &Ticket, label: &str) -> String {
    ticket
        .term
        .as_ref()
        .map_or(String::new(), |term| format!("{label}{}", term.basis))
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
