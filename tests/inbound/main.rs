//! Mail to the support address, through `ventanilla_app::receive_mail::decide` on the embedded store: new tickets,
//! replies threaded by id, anchor and tag, follow-ups to finished tickets under each rule,
//! automatic mail, SES verdicts, duplicates and the acknowledgement cap.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::UuidV7;
use ventanilla_app::receive_mail::TicketRules;
use ventanilla_app::receive_mail::decide;
use ventanilla_domain::BlobKey;
use ventanilla_domain::fakes::ManualClock;
use ventanilla_domain::model::agencies::FinishedTicketRule;
use ventanilla_domain::model::agents::AlertEvent;
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailIntent, Notice};
use ventanilla_domain::ports::{Clock, TicketStore};
use ventanilla_domain::rules::mail_in::kind::MailKind;
use ventanilla_domain::rules::mail_in::read::read;
use ventanilla_domain::rules::mail_in::sender_check::Judgement;
use ventanilla_domain::rules::mail_in::support_address::{Delivery, MailPolicy, Outcome};
use ventanilla_domain::{
    AgencyCode, AgentId, AgentRef, Category, MessageKind, QueueName, Status, Ticket, Timestamp,
};
use ventanilla_domain::{Lang, MessageId};
use ventanilla_tests::change_status;

/// The mail domain our anchors live under.
const OUR_DOMAIN: &str = "ventanilla.example.gob.ec";

struct Desk {
    store: SqliteStore,
    clock: ManualClock,
    policy: MailPolicy,
    deliveries: std::cell::Cell<u32>,
}

impl Desk {
    fn new(finished: FinishedTicketRule) -> Self {
        Desk {
            store: SqliteStore::in_memory().unwrap(),
            clock: ManualClock::new(Timestamp::parse("2025-06-02T15:00:00Z").unwrap()),
            policy: MailPolicy {
                agency: AgencyCode::parse("MDT").unwrap(),
                queue: QueueName::parse("atencion-ciudadana").unwrap(),
                review_queue: QueueName::parse("revision").unwrap(),
                finished,
                finished_by_queue: std::collections::BTreeMap::new(),
                acks_per_sender_per_day: 2,
            },
            deliveries: std::cell::Cell::new(0),
        }
    }

    async fn deliver(&self, raw: &str) -> Outcome {
        self.deliver_with(raw, false, false).await
    }

    async fn deliver_with(&self, raw: &str, spam: bool, virus: bool) -> Outcome {
        let n = self.deliveries.get() + 1;
        self.deliveries.set(n);
        let mail = read(raw.as_bytes()).unwrap();
        let delivery = Delivery {
            mail,
            provider_id: Some(
                MailMessageId::parse(&format!("ses-{n}@us-east-1.amazonses.com")).unwrap(),
            ),
            raw: BlobKey::parse(&format!("mail/ses-{n}")).unwrap(),
            attachments: Vec::new(),
            judgement: Judgement {
                virus,
                review: spam,
                sender_authenticated: true,
            },
        };
        decide(
            &self.store,
            &self.clock,
            &UuidV7,
            &self.policy,
            OUR_DOMAIN,
            delivery,
            TicketRules {
                acknowledgement: self
                    .intent(&format!("ack-{n}"), Notice::Acknowledgement { quote: true }),
                new_ticket_alert: self.intent(
                    &format!("alert-new-{n}"),
                    Notice::AgentAlert {
                        event: AlertEvent::NewTicket,
                    },
                ),
                follow_up_alert: self.intent(
                    &format!("alert-follow-up-{n}"),
                    Notice::AgentAlert {
                        event: AlertEvent::FollowUp,
                    },
                ),
                term_of: &|_| None,
                suspension_max_days: 10,
            },
        )
        .await
        .unwrap()
    }

    fn intent(&self, id: &str, notice: Notice) -> MailIntent {
        MailIntent {
            id: MailMessageId::parse(&format!("{id}@{OUR_DOMAIN}")).unwrap(),
            notice,
            about: MessageId::UNSET,
            lang: Lang::Es,
            in_reply_to: None,
            queued_at: self.clock.now(),
            writer_until: self.clock.now(),
            to: None,
            actor: None,
            held: 0,
            held_alerts: Vec::new(),
        }
    }

    async fn open(&self, from: &str, subject: &str, id: &str) -> Ticket {
        match self
            .deliver(&mail(
                from,
                subject,
                id,
                "",
                "Buenos días,\nnecesito ayuda con mi trámite.",
            ))
            .await
        {
            Outcome::Opened { ticket, .. } => ticket,
            other => panic!("expected a new ticket, got {other:?}"),
        }
    }
}

fn mail(from: &str, subject: &str, id: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: soporte@ventanilla.example.gob.ec\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

const ANA: &str = "Ana Pérez <ana@example.com>";

#[tokio::test]
async fn a_new_mail_opens_a_categorised_ticket_once() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let raw = mail(
        ANA,
        "Inconveniente técnico con la plataforma",
        "m1@example.com",
        "",
        "No puedo ingresar.",
    );
    let Outcome::Opened { ticket, quote, .. } = desk.deliver(&raw).await else {
        panic!()
    };
    assert!(quote, "an authenticated sender's mail is quoted back");
    assert_eq!(ticket.number.as_str(), "MDT-TEC-2025-00001");
    assert_eq!(ticket.category, Category::ProblemaTecnico);
    assert_eq!(ticket.requester.name.as_str(), "Ana Pérez");
    assert_eq!(ticket.queue.as_str(), "atencion-ciudadana");
    // The same mail delivered again (same Message-ID, new SES id) is stored once.
    assert_eq!(
        desk.deliver(&raw).await,
        Outcome::Duplicate {
            ticket: ticket.number.clone()
        }
    );
    assert_eq!(desk.store.thread(&ticket.number).await.unwrap().1.len(), 1);
}

#[tokio::test]
async fn a_reply_joins_its_ticket_by_id_with_only_the_new_text() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    // The acknowledgement's ids, as create-ticket indexes them after sending.
    let first = desk.store.thread(&ticket.number).await.unwrap().1[0].id;
    let ses_id = MailMessageId::parse("0100018f-ack@email.amazonses.com").unwrap();
    desk.store
        .link_mail_id(&ticket.number, first, &ses_id)
        .await
        .unwrap();
    desk.clock.advance(chrono::Duration::hours(3));
    let reply = mail(
        ANA,
        &format!("Re: {} Recibimos su solicitud", ticket.number.tag()),
        "m2@example.com",
        "In-Reply-To: <0100018f-ack@email.amazonses.com>\r\n",
        "Adjunto el número de trámite: 4471.\r\n\r\nEl lun, 2 jun 2025 a las 10:00, Ventanilla <no-responder@x.gob.ec> escribió:\r\n> Recibimos su solicitud.\r\n",
    );
    let Outcome::FollowUp {
        ticket: after,
        reopened,
    } = desk.deliver(&reply).await
    else {
        panic!()
    };
    assert!(!reopened);
    assert_eq!(after.number, ticket.number);
    assert_eq!(
        after.last_activity,
        desk.clock.now(),
        "the follow-up surfaces by its own date"
    );
    let thread = desk.store.thread(&ticket.number).await.unwrap().1;
    assert_eq!(thread.len(), 2);
    assert_eq!(
        thread[1].body.as_str(),
        "Adjunto el número de trámite: 4471."
    );
}

#[tokio::test]
async fn our_anchor_threads_even_when_the_client_dropped_in_reply_to() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let anchor = format!(
        "ticket.{}@ventanilla.example.gob.ec",
        ticket.number.as_str().to_lowercase()
    );
    let reply = mail(
        ANA,
        "otra cosa",
        "m2@example.com",
        &format!("References: <{anchor}>\r\n"),
        "Más datos.",
    );
    assert!(matches!(
        desk.deliver(&reply).await,
        Outcome::FollowUp { .. }
    ));
}

#[tokio::test]
async fn a_number_in_the_subject_counts_only_from_the_requester() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let tagged = format!("Sobre {}", ticket.number.tag());
    let own = mail(
        "ana@EXAMPLE.com",
        &tagged,
        "m2@example.com",
        "",
        "Sigo esperando.",
    );
    assert!(matches!(desk.deliver(&own).await, Outcome::FollowUp { .. }));
    let stranger = mail(
        "intruso@example.net",
        &tagged,
        "m3@example.net",
        "",
        "Cierren este ticket.",
    );
    let Outcome::Opened { ticket: other, .. } = desk.deliver(&stranger).await else {
        panic!()
    };
    assert_ne!(
        other.number, ticket.number,
        "a stranger does not get into the ticket"
    );
    assert_eq!(desk.store.thread(&ticket.number).await.unwrap().1.len(), 2);
}

/// In-Reply-To and References are the sender's to write: a stranger who copies them (our
/// anchor id needs only the ticket number) gets a ticket of their own, as with a tag.
#[tokio::test]
async fn forged_threading_headers_do_not_let_a_stranger_in() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let anchor = format!(
        "ticket.{}@ventanilla.example.gob.ec",
        ticket.number.as_str().to_lowercase()
    );
    for (n, headers) in [
        format!("In-Reply-To: <{anchor}>\r\nReferences: <{anchor}>\r\n"),
        "In-Reply-To: <m1@example.com>\r\n".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let stranger = mail(
            "intruso@example.net",
            "Re: Consulta",
            &format!("forged{n}@example.net"),
            &headers,
            "Cierren este ticket.",
        );
        let Outcome::Opened { ticket: other, .. } = desk.deliver(&stranger).await else {
            panic!("{headers}")
        };
        assert_ne!(other.number, ticket.number, "{headers}");
    }
    assert_eq!(desk.store.thread(&ticket.number).await.unwrap().1.len(), 1);
    // The requester's own reply, threaded by the same header, still joins.
    let own = mail(
        ANA,
        "Re: Consulta",
        "m9@example.com",
        &format!("In-Reply-To: <{anchor}>\r\n"),
        "Sigo esperando.",
    );
    assert!(matches!(desk.deliver(&own).await, Outcome::FollowUp { .. }));
}

#[tokio::test]
async fn automatic_mail_never_opens_reopens_or_gets_answered() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let anchor = format!(
        "ticket.{}@ventanilla.example.gob.ec",
        ticket.number.as_str().to_lowercase()
    );
    let out_of_office = mail(
        ANA,
        "Respuesta automática: Recibimos su solicitud",
        "ooo@example.com",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{anchor}>\r\n"),
        "Estoy de vacaciones hasta el lunes.",
    );
    let outcome = desk.deliver(&out_of_office).await;
    assert_eq!(
        outcome,
        Outcome::Automatic {
            kind: MailKind::AutoReply,
            ticket: Some(ticket.number.clone())
        }
    );
    let thread = desk.store.thread(&ticket.number).await.unwrap().1;
    assert_eq!(
        thread.last().unwrap().kind,
        MessageKind::SystemEvent,
        "recorded for the agent"
    );
    assert_eq!(
        desk.store
            .ticket(&ticket.number)
            .await
            .unwrap()
            .last_activity,
        ticket.last_activity
    );
    let unthreaded = mail(
        "MAILER-DAEMON@mx.example.net",
        "Undelivered Mail",
        "b1@mx",
        "",
        "failed",
    );
    assert_eq!(
        desk.deliver(&unthreaded).await,
        Outcome::Automatic {
            kind: MailKind::Bounce,
            ticket: None
        }
    );
}

async fn close(desk: &Desk, ticket: &Ticket) -> Ticket {
    let agent = AgentRef {
        id: AgentId::parse("ana-agente").unwrap(),
        name: "Agente".into(),
    };
    let mut current = desk.store.ticket(&ticket.number).await.unwrap();
    for status in [Status::Open, Status::Resolved, Status::Closed] {
        if !current.status.can_become(status) {
            continue;
        }
        current = change_status(
            &desk.store,
            &desk.clock,
            &UuidV7,
            &ticket.number,
            current.version,
            status,
            agent.clone(),
        )
        .await
        .unwrap();
    }
    current
}

#[tokio::test]
async fn follow_ups_to_closed_tickets_obey_the_queue_rule() {
    // Reopen within 30 days, else a new linked ticket.
    let desk = Desk::new(FinishedTicketRule::Reopen {
        within_days: Some(30),
    });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    close(&desk, &ticket).await;
    let again = |id: &str| {
        mail(
            ANA,
            &format!("Re: {}", ticket.number.tag()),
            id,
            "",
            "Sigue sin funcionar.",
        )
    };
    let Outcome::FollowUp {
        ticket: reopened,
        reopened: true,
    } = desk.deliver(&again("m2@example.com")).await
    else {
        panic!()
    };
    assert_eq!(reopened.status, Status::Open);
    close(&desk, &ticket).await;
    desk.clock.advance(chrono::Duration::days(31));
    let Outcome::Opened { ticket: newer, .. } = desk.deliver(&again("m3@example.com")).await else {
        panic!()
    };
    assert_eq!(newer.linked_to.as_ref(), Some(&ticket.number));

    // Reject: the ticket stays closed, the sender gets a notice, within the daily cap.
    let desk = Desk::new(FinishedTicketRule::Reject);
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    close(&desk, &ticket).await;
    let again = |id: &str| {
        mail(
            ANA,
            &format!("Re: {}", ticket.number.tag()),
            id,
            "",
            "¿Hola?",
        )
    };
    let rejected = Outcome::Rejected {
        ticket: ticket.number.clone(),
    };
    assert_eq!(desk.deliver(&again("m2@example.com")).await, rejected);
    assert_eq!(desk.deliver(&again("m3@example.com")).await, rejected);
    assert_eq!(
        desk.store.ticket(&ticket.number).await.unwrap().status,
        Status::Closed
    );
}

#[tokio::test]
async fn a_queue_with_its_own_rule_overrides_the_default() {
    let mut desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "q1@example.com").await;
    desk.policy.finished_by_queue.insert(
        (ticket.agency.clone(), ticket.queue.clone()),
        FinishedTicketRule::NewLinked,
    );
    close(&desk, &ticket).await;
    let follow_up = mail(
        ANA,
        &format!("Re: {}", ticket.number.tag()),
        "q2@example.com",
        "",
        "Otra consulta.",
    );
    let Outcome::Opened { ticket: newer, .. } = desk.deliver(&follow_up).await else {
        panic!("the queue's rule opens a new linked ticket")
    };
    assert_eq!(newer.linked_to.as_ref(), Some(&ticket.number));
    assert_eq!(
        desk.store.ticket(&ticket.number).await.unwrap().status,
        Status::Closed
    );
}

#[tokio::test]
async fn ses_verdicts_hold_spam_and_drop_viruses() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let spam = mail("promo@spam.example", "Gane dinero", "s1@spam", "", "Oferta");
    let Outcome::HeldForReview { ticket } = desk.deliver_with(&spam, true, false).await else {
        panic!()
    };
    assert_eq!(ticket.queue.as_str(), "revision");
    let real = desk.open(ANA, "Consulta", "m1@example.com").await;
    let infected = mail(
        ANA,
        &format!("Re: {}", real.number.tag()),
        "v1@example.com",
        "",
        "Ver adjunto",
    );
    assert_eq!(
        desk.deliver_with(&infected, false, true).await,
        Outcome::Virus {
            ticket: Some(real.number.clone())
        }
    );
    let thread = desk.store.thread(&real.number).await.unwrap().1;
    assert!(
        thread
            .iter()
            .all(|m| m.kind != MessageKind::CitizenMessage || m.body.as_str() != "Ver adjunto")
    );
    assert!(thread.last().unwrap().body.as_str().contains("virus"));
}

#[tokio::test]
async fn a_reply_to_a_ticket_waiting_on_the_citizen_puts_it_back_in_progress() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let agent = AgentRef {
        id: AgentId::parse("ana-agente").unwrap(),
        name: "Agente".into(),
    };
    let open = change_status(
        &desk.store,
        &desk.clock,
        &UuidV7,
        &ticket.number,
        1,
        Status::Open,
        agent.clone(),
    )
    .await
    .unwrap();
    change_status(
        &desk.store,
        &desk.clock,
        &UuidV7,
        &ticket.number,
        open.version,
        Status::WaitingOnCitizen,
        agent,
    )
    .await
    .unwrap();
    let reply = mail(
        ANA,
        &format!("Re: {}", ticket.number.tag()),
        "m2@example.com",
        "",
        "Aquí está lo que pidieron.",
    );
    let Outcome::FollowUp { ticket: after, .. } = desk.deliver(&reply).await else {
        panic!()
    };
    assert_eq!(after.status, Status::Open);
}

/// Our anchor counts only under our own mail domain: strangers' automatic mail that names
/// `ticket.<number>@any.test` lands on no ticket (issue 18, point 2; reproduced with 20
/// auto-replies that all landed on one ticket before).
#[tokio::test]
async fn an_anchor_under_another_domain_threads_nothing() {
    let desk = Desk::new(FinishedTicketRule::Reopen { within_days: None });
    let ticket = desk.open(ANA, "Consulta", "m1@example.com").await;
    let version = desk.store.ticket(&ticket.number).await.unwrap().version;
    for n in 0..20 {
        let forged = format!("ticket.{}@any.test", ticket.number.as_str().to_lowercase());
        let stranger = mail(
            &format!("robot{n}@spam.example"),
            "Respuesta automática",
            &format!("auto{n}@spam.example"),
            &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{forged}>\r\n"),
            "Fuera de la oficina.",
        );
        let outcome = desk.deliver(&stranger).await;
        assert_eq!(
            outcome,
            Outcome::Automatic {
                kind: MailKind::AutoReply,
                ticket: None
            }
        );
    }
    let after = desk.store.ticket(&ticket.number).await.unwrap();
    assert_eq!(after.version, version, "the ticket did not move");
    assert_eq!(desk.store.thread(&ticket.number).await.unwrap().1.len(), 1);
}
