//! The `TicketStore` contract, run on SQLite and on DynamoDB over the wire.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use ventanilla_adapters::system::UuidV7;
use ventanilla_app::change::ChangeError;
use ventanilla_app::open_ticket;
use ventanilla_domain::BlobKey;
use ventanilla_domain::fakes::ManualClock;
use ventanilla_domain::model::agents::{Agent, AgentToken, AuditAction, AuditEntry, Role};
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::{MailIntent, MailState, Notice, RetryPolicy};
use ventanilla_domain::model::term::{DayKind, Term};
use ventanilla_domain::model::ticket::MailMeta;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, AuditLog, Clock, DueCursor, DueQuery, IdSource, MailQueue,
    Opened, QueueQuery, StatsStore, StoreError, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::{
    AgencyCode, AgentId, AgentRef, AttachmentRef, Author, Body, Category, Email, Message,
    MessageKind, QueueName, Status, TicketChange, TicketNumber, Timestamp,
};
use ventanilla_tests::change_status;
use ventanilla_tests::{idempotency_key, new_ticket, unique, unique_agency};

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::parse("2025-03-01T09:00:00Z").unwrap())
}

fn agent() -> AgentRef {
    AgentRef {
        id: AgentId::parse("agent-1").unwrap(),
        name: "Ana Agente".into(),
    }
}

fn message(kind: MessageKind, at: Timestamp, text: &str) -> Message {
    Message {
        id: UuidV7.message_id(),
        at,
        kind,
        author: match kind {
            MessageKind::CitizenMessage => Author::Requester,
            MessageKind::SystemEvent => Author::System,
            _ => Author::Agent(agent()),
        },
        body: Body::parse(text).unwrap(),
        attachments: Vec::new(),
        mail: None,
    }
}

fn with_mail_ids(mut message: Message, ids: &[&str]) -> Message {
    message.mail = Some(MailMeta {
        message_ids: ids
            .iter()
            .map(|id| MailMessageId::parse(id).unwrap())
            .collect(),
        raw: None,
        ..MailMeta::default()
    });
    message
}

fn append(ticket: &ventanilla_domain::Ticket, message: Message) -> TicketUpdate {
    TicketUpdate {
        number: ticket.number.clone(),
        expected_version: ticket.version,
        change: TicketChange::default(),
        message: Some(message),
        mails: Vec::new(),
    }
}

pub async fn opens_a_ticket_and_reads_it_back(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let mut request = new_ticket(&agency, Category::Queja, "maria@example.com");
    request.attachments.push(AttachmentRef {
        name: "captura.png".into(),
        content_type: "image/png".into(),
        size: 1234,
        blob: BlobKey::parse("attachments/x/captura.png").unwrap(),
    });
    let opened = open_ticket::open(&store, &clock, &UuidV7, request.clone())
        .await
        .unwrap();
    let Opened::Created(ticket, first) = opened else {
        panic!("a new ticket was expected")
    };
    assert_eq!(ticket.number.as_str(), format!("{agency}-QUE-2025-00001"));
    assert_eq!(ticket.status, Status::New);
    assert_eq!(ticket.version, 1);
    assert_eq!(ticket.created_at, clock.now());
    assert_eq!(ticket.last_activity, clock.now());
    assert_eq!(ticket.requester, request.requester);

    assert_eq!(store.ticket(&ticket.number).await.unwrap(), ticket);
    let (read, thread) = store.thread(&ticket.number).await.unwrap();
    assert_eq!(read, ticket);
    assert_eq!(thread, [first]);
    assert_eq!(thread[0].kind, MessageKind::CitizenMessage);
    assert_eq!(thread[0].body, request.description);
    assert_eq!(thread[0].attachments, request.attachments);
}

pub async fn two_hundred_concurrent_openings_get_distinct_numbers(backend: impl Backend) {
    // Eight instances over the same storage, as eight Lambda instances (or processes) would
    // be, each opening 25 tickets at once.
    let mut instances = Vec::new();
    for _ in 0..8 {
        instances.push(Arc::new(backend.instance().await));
    }
    let clock = Arc::new(clock());
    let agency = unique_agency();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = Arc::clone(&instances[i % instances.len()]);
            let (clock, agency) = (Arc::clone(&clock), agency.clone());
            tokio::spawn(async move {
                let request = new_ticket(
                    &agency,
                    Category::Requerimiento,
                    &format!("c{i}@example.com"),
                );
                open_ticket::open(store.as_ref(), clock.as_ref(), &UuidV7, request)
                    .await
                    .unwrap()
                    .into_ticket()
                    .number
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        assert!(
            numbers.insert(task.await.unwrap()),
            "a number was handed out twice"
        );
    }
    let expected: BTreeSet<_> = (1..=200)
        .map(|seq| TicketNumber::parse(&format!("{agency}-REQ-2025-{seq:05}")).unwrap())
        .collect();
    assert_eq!(
        numbers, expected,
        "numbers must be 00001..00200 with no gaps"
    );
    // The next one continues the sequence.
    let next = open_ticket::open(
        instances[0].as_ref(),
        clock.as_ref(),
        &UuidV7,
        new_ticket(&agency, Category::Requerimiento, "x@example.com"),
    )
    .await
    .unwrap();
    assert_eq!(next.ticket().number.sequence(), 201);
}

pub async fn sequences_are_per_agency_category_and_year(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let (a, b) = (unique_agency(), unique_agency());
    let open = |agency, category| {
        open_ticket::open(
            &store,
            &clock,
            &UuidV7,
            new_ticket(agency, category, "x@example.com"),
        )
    };
    assert_eq!(
        open(&a, Category::Queja)
            .await
            .unwrap()
            .ticket()
            .number
            .sequence(),
        1
    );
    assert_eq!(
        open(&a, Category::Queja)
            .await
            .unwrap()
            .ticket()
            .number
            .sequence(),
        2
    );
    assert_eq!(
        open(&a, Category::Sugerencia)
            .await
            .unwrap()
            .ticket()
            .number
            .sequence(),
        1
    );
    assert_eq!(
        open(&b, Category::Queja)
            .await
            .unwrap()
            .ticket()
            .number
            .sequence(),
        1
    );
    clock.advance(Duration::days(365));
    let next_year = open(&a, Category::Queja)
        .await
        .unwrap()
        .into_ticket()
        .number;
    assert_eq!((next_year.year(), next_year.sequence()), (2026, 1));
}

pub async fn a_stale_version_is_refused(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&unique_agency(), Category::Queja, "x@example.com"),
    )
    .await
    .unwrap()
    .into_ticket();
    let raise = |version| TicketUpdate {
        number: ticket.number.clone(),
        expected_version: version,
        change: TicketChange {
            priority: Some(ventanilla_domain::Priority::High),
            ..Default::default()
        },
        message: None,
        mails: Vec::new(),
    };
    let updated = store.update(raise(1)).await.unwrap();
    assert_eq!(updated.version, 2);
    // A second agent who read version 1 does not overwrite the first.
    let stale = TicketUpdate {
        change: TicketChange {
            assignee: Some(Some(AgentId::parse("agent-2").unwrap())),
            ..Default::default()
        },
        ..raise(1)
    };
    assert!(matches!(
        store.update(stale).await,
        Err(StoreError::VersionConflict)
    ));
    let stored = store.ticket(&ticket.number).await.unwrap();
    assert_eq!(stored, updated);
    assert_eq!(stored.assignee, None);
}

pub async fn concurrent_updates_of_one_version_let_exactly_one_through(backend: impl Backend) {
    let clock = clock();
    let store = Arc::new(backend.instance().await);
    let ticket = open_ticket::open(
        store.as_ref(),
        &clock,
        &UuidV7,
        new_ticket(&unique_agency(), Category::Queja, "x@example.com"),
    )
    .await
    .unwrap()
    .into_ticket();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = Arc::clone(&store);
            let update = append(
                &ticket,
                message(MessageKind::InternalNote, clock.now(), &format!("nota {i}")),
            );
            tokio::spawn(async move { store.update(update).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::VersionConflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.thread(&ticket.number).await.unwrap().1.len(), 2);
    assert_eq!(store.ticket(&ticket.number).await.unwrap().version, 2);
    // The same for a change of the ticket alone, which DynamoDB writes without a transaction.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = Arc::clone(&store);
            let update = TicketUpdate {
                number: ticket.number.clone(),
                expected_version: 2,
                change: TicketChange {
                    priority: Some(if i % 2 == 0 {
                        ventanilla_domain::Priority::High
                    } else {
                        ventanilla_domain::Priority::Low
                    }),
                    ..Default::default()
                },
                message: None,
                mails: Vec::new(),
            };
            tokio::spawn(async move { store.update(update).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(ticket) => winners.push(ticket),
            Err(StoreError::VersionConflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.ticket(&ticket.number).await.unwrap(), winners[0]);
    assert_eq!(winners[0].version, 3);
}

pub async fn a_queue_lists_by_last_activity(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let mut opened = Vec::new();
    for _ in 0..3 {
        let t = open_ticket::open(
            &store,
            &clock,
            &UuidV7,
            new_ticket(&agency, Category::Asesoria, "x@example.com"),
        )
        .await
        .unwrap()
        .into_ticket();
        opened.push(t);
        clock.advance(Duration::minutes(5));
    }
    // A follow-up on the oldest ticket brings it to the top by its own date; an internal
    // note on the middle one does not move it.
    let oldest = store
        .update(append(
            &opened[0],
            message(MessageKind::CitizenMessage, clock.now(), "¿Alguna novedad?"),
        ))
        .await
        .unwrap();
    assert_eq!(oldest.last_activity, clock.now());
    clock.advance(Duration::minutes(5));
    store
        .update(append(
            &opened[1],
            message(MessageKind::InternalNote, clock.now(), "revisar"),
        ))
        .await
        .unwrap();

    let query = |after, limit, status| QueueQuery {
        agency: agency.clone(),
        queue: QueueName::parse("general").unwrap(),
        status,
        limit,
        after,
        oldest_first: false,
    };
    let numbers = |page: &ventanilla_domain::ports::Page<ventanilla_domain::Ticket>| {
        page.items
            .iter()
            .map(|t| t.number.sequence())
            .collect::<Vec<_>>()
    };
    let all = store.queue(&query(None, 10, None)).await.unwrap();
    assert_eq!(numbers(&all), [1, 3, 2]);
    assert!(all.next.is_none());

    let first = store.queue(&query(None, 2, None)).await.unwrap();
    assert_eq!(numbers(&first), [1, 3]);
    let second = store
        .queue(&query(first.next.clone(), 2, None))
        .await
        .unwrap();
    assert_eq!(numbers(&second), [2]);
    assert!(second.next.is_none());

    // The oldest activity first, paged the same way.
    let oldest = |after| QueueQuery {
        oldest_first: true,
        ..query(after, 2, None)
    };
    let first = store.queue(&oldest(None)).await.unwrap();
    assert_eq!(numbers(&first), [2, 3]);
    let second = store.queue(&oldest(first.next.clone())).await.unwrap();
    assert_eq!(numbers(&second), [1]);
    assert!(second.next.is_none());

    change_status(
        &store,
        &clock,
        &UuidV7,
        &opened[2].number,
        1,
        Status::Open,
        agent(),
    )
    .await
    .unwrap();
    let open_only = store
        .queue(&query(None, 10, Some(Status::Open)))
        .await
        .unwrap();
    assert_eq!(numbers(&open_only), [3]);
    let other_queue = QueueQuery {
        queue: QueueName::parse("otra").unwrap(),
        ..query(None, 10, None)
    };
    assert!(store.queue(&other_queue).await.unwrap().items.is_empty());
}

pub async fn unfinished_tickets_list_by_due_date(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    // Three tickets opened together with terms of 10, 5 and 20 business days.
    let mut opened = Vec::new();
    for days in [10, 5, 20] {
        let ticket = open_ticket::open(
            &store,
            &clock,
            &UuidV7,
            open_ticket::NewTicket {
                term: Some(Term {
                    days,
                    kind: DayKind::Business,
                    basis: "prueba".into(),
                    extension: None,
                    warnings: Default::default(),
                    calendar: Default::default(),
                }),
                ..new_ticket(&agency, Category::Queja, "x@example.com")
            },
        )
        .await
        .unwrap()
        .into_ticket();
        opened.push(ticket);
    }
    // Another agency's ticket never shows.
    open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        open_ticket::NewTicket {
            term: Some(Term {
                days: 1,
                kind: DayKind::Business,
                basis: "prueba".into(),
                extension: None,
                warnings: Default::default(),
                calendar: Default::default(),
            }),
            ..new_ticket(&unique_agency(), Category::Queja, "x@example.com")
        },
    )
    .await
    .unwrap();
    let due = |i: usize| opened[i].due_on.unwrap();
    let query = |until, after, limit| DueQuery {
        agency: agency.clone(),
        from: None,
        until,
        after,
        limit,
    };
    let numbers = |page: &ventanilla_domain::ports::Page<ventanilla_domain::Ticket, DueCursor>| {
        page.items
            .iter()
            .map(|t| t.number.sequence())
            .collect::<Vec<_>>()
    };
    let all = store.due_tickets(&query(None, None, 10)).await.unwrap();
    assert_eq!(numbers(&all), [2, 1, 3]);
    assert!(all.next.is_none());
    // Paged, and cut at a day (inclusive).
    let first = store.due_tickets(&query(None, None, 2)).await.unwrap();
    assert_eq!(numbers(&first), [2, 1]);
    let second = store
        .due_tickets(&query(None, first.next.clone(), 2))
        .await
        .unwrap();
    assert_eq!(numbers(&second), [3]);
    let soon = store
        .due_tickets(&query(Some(due(0)), None, 10))
        .await
        .unwrap();
    assert_eq!(numbers(&soon), [2, 1]);
    let past_the_cut = store
        .due_tickets(&query(Some(due(1)), first.next.clone(), 10))
        .await
        .unwrap();
    assert!(
        past_the_cut.items.is_empty(),
        "{:?}",
        numbers(&past_the_cut)
    );
    // From a day on (inclusive): what a change of the calendar recounts.
    let from_the_first = store
        .due_tickets(&DueQuery {
            from: Some(due(0)),
            ..query(None, None, 10)
        })
        .await
        .unwrap();
    assert_eq!(numbers(&from_the_first), [1, 3]);
    let paged_from = store
        .due_tickets(&DueQuery {
            from: Some(due(0)),
            ..query(None, Some(first.next.clone().unwrap()), 10)
        })
        .await
        .unwrap();
    assert_eq!(numbers(&paged_from), [3]);
    // A cursor before the first day: from that day on all the same.
    let cursor_before = store
        .due_tickets(&DueQuery {
            from: Some(due(2)),
            ..query(None, Some(DueCursor::after(&opened[1])), 10)
        })
        .await
        .unwrap();
    assert_eq!(numbers(&cursor_before), [3]);

    // Waiting on the citizen stops the 5-day ticket's clock: it sorts by the date it gets if
    // they never answer (ten business days later), after the 10-day one.
    let waiting = change_status(
        &store,
        &clock,
        &UuidV7,
        &opened[1].number,
        1,
        Status::WaitingOnCitizen,
        agent(),
    )
    .await
    .unwrap();
    let stopped = waiting.suspended.expect("the clock stopped");
    assert_eq!(waiting.due_key(), Some(stopped.latest_due));
    assert!(stopped.latest_due > due(0) && stopped.latest_due < due(2));
    let all = store.due_tickets(&query(None, None, 10)).await.unwrap();
    assert_eq!(numbers(&all), [1, 2, 3]);
    // A finished ticket leaves the index.
    change_status(
        &store,
        &clock,
        &UuidV7,
        &opened[0].number,
        1,
        Status::Resolved,
        agent(),
    )
    .await
    .unwrap();
    let all = store.due_tickets(&query(None, None, 10)).await.unwrap();
    assert_eq!(numbers(&all), [2, 3]);
    // The citizen answers the same day: the clock runs again, nothing lost.
    let answered = change_status(
        &store,
        &clock,
        &UuidV7,
        &opened[1].number,
        waiting.version,
        Status::Open,
        agent(),
    )
    .await
    .unwrap();
    assert_eq!((answered.due_on, answered.suspended), (Some(due(1)), None));
    let all = store.due_tickets(&query(None, None, 10)).await.unwrap();
    assert_eq!(numbers(&all), [2, 3]);
    assert_eq!(all.items[0].due_key(), Some(due(1)));
}

/// A desk over `store` at `clock`'s time, mailing into `outbox`.
fn warning_desk<S>(
    store: S,
    clock: Arc<ManualClock>,
    outbox: &std::path::Path,
) -> ventanilla_app::Desk<
    S,
    ventanilla_adapters::folder::FolderBlobs,
    ventanilla_adapters::outbox::OutboxMailer,
> {
    use ventanilla_app::config::DEFAULT_CONFIG;
    ventanilla_app::Desk {
        site: ventanilla_app::Site {
            settings: ventanilla_app::Settings::parse(DEFAULT_CONFIG).unwrap(),
            links: ventanilla_app::AccessLinks::new(&[3; 32]).unwrap(),
            clock,
            ids: Arc::new(UuidV7),
        },
        store,
        blobs: ventanilla_adapters::folder::FolderBlobs::new(
            outbox.join("blobs"),
            "http://127.0.0.1:3000",
            vec![2; 32],
        ),
        mailer: ventanilla_adapters::outbox::OutboxMailer::new(outbox.join("outbox")),
        identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
    }
}

/// Issue 21: a queja of Monday 1 March 2027 (COA: 30 business days, due 13 April) warns its
/// agency's agents once 80% of the term has passed (5 April), the business day before (12
/// April), and after it (14 April): each warning once to each agent to tell, even with two
/// sweeps at the same moment on two instances, and none once the ticket is finished.
pub async fn deadline_warnings_go_once_to_each_agent(backend: impl Backend) {
    use ventanilla_app::config::DEFAULT_CONFIG;
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2027-03-01T15:00:00Z").unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let first = warning_desk(backend.instance().await, clock.clone(), dir.path());
    let second = warning_desk(backend.instance().await, clock.clone(), dir.path());
    let settings = ventanilla_app::Settings::parse(DEFAULT_CONFIG).unwrap();
    let mdt = AgencyCode::parse("MDT").unwrap();
    let mut new = new_ticket(&mdt, Category::Queja, "x@example.com");
    new.term = settings.term(&mdt, Category::Queja);
    let ticket = open_ticket::open(&first.store, clock.as_ref(), &UuidV7, new)
        .await
        .unwrap()
        .into_ticket();
    assert_eq!(
        ticket.due_on,
        Some(chrono::NaiveDate::from_ymd_opt(2027, 4, 13).unwrap())
    );
    // Who is told: the supervisor and, while nobody has the ticket, each agent with an
    // address; not an agent without one, a disabled one, another agency's, an operator.
    let add = async |id: &str, agency: &AgencyCode, role: Role, email: Option<&str>| {
        ventanilla_app::agents::create(
            &first.store,
            clock.as_ref(),
            AgentId::parse(id).unwrap(),
            id.to_owned(),
            agency.clone(),
            role,
            email.map(|e| Email::parse(e).unwrap()),
        )
        .await
        .unwrap()
        .0
    };
    add(
        "supervisora",
        &mdt,
        Role::Supervisor,
        Some("supervisora@mdt.gob.ec"),
    )
    .await;
    add("agente", &mdt, Role::Agent, Some("agente@mdt.gob.ec")).await;
    add("sin-correo", &mdt, Role::Agent, None).await;
    add(
        "operadora",
        &mdt,
        Role::Operator,
        Some("operadora@ventanilla.gob.ec"),
    )
    .await;
    add(
        "otra",
        &AgencyCode::parse("MINTEL").unwrap(),
        Role::Supervisor,
        Some("otra@mintel.gob.ec"),
    )
    .await;
    let mut gone = add(
        "jubilada",
        &mdt,
        Role::Supervisor,
        Some("jubilada@mdt.gob.ec"),
    )
    .await;
    gone.active = false;
    first.store.save_agent(&gone).await.unwrap();

    let outbox = |dir: &std::path::Path| -> Vec<String> {
        let mut mails: Vec<String> = std::fs::read_dir(dir.join("outbox"))
            .map(|entries| {
                entries
                    .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        mails.sort();
        mails
    };
    let set_to = |text: &str| {
        let at = Timestamp::parse(text).unwrap();
        clock.advance(at.datetime() - clock.now().datetime());
    };
    // Nothing is owed on the day it was opened.
    assert_eq!(first.warn_due().await.unwrap().mails, 0);

    // 07:00 in Quito on Monday 5 April: 80% of the term has passed. Two sweeps at once.
    set_to("2027-04-05T12:00:00Z");
    let (a, b) = tokio::join!(first.warn_due(), second.warn_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.mails + b.mails, 2, "{a:?} {b:?}");
    assert_eq!(a.warned + b.warned, 1, "{a:?} {b:?}");
    first.sweep_mail().await.unwrap();
    second.sweep_mail().await.unwrap();
    let mails = outbox(dir.path());
    assert_eq!(mails.len(), 2, "{mails:?}");
    let to: BTreeSet<String> = mails
        .iter()
        .map(|raw| ventanilla_tests::header(raw, "To").unwrap())
        .collect();
    assert!(
        to.iter().any(|t| t.contains("supervisora@mdt.gob.ec")),
        "{to:?}"
    );
    assert!(to.iter().any(|t| t.contains("agente@mdt.gob.ec")), "{to:?}");
    for raw in &mails {
        assert!(
            ventanilla_tests::header(raw, "Subject")
                .unwrap()
                .contains(&format!("[{}]", ticket.number)),
            "{raw}"
        );
        assert_eq!(
            ventanilla_tests::header(raw, "Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
        assert!(raw.contains("80%"), "{raw}");
        assert!(raw.contains(&format!("/agente#{}", ticket.number)), "{raw}");
    }
    // Again the same day: nothing more.
    assert_eq!(first.warn_due().await.unwrap().mails, 0);
    first.sweep_mail().await.unwrap();
    assert_eq!(outbox(dir.path()).len(), 2);
    // The outbox keeps one file per Message-ID: a second send would be logged beside it.
    assert!(
        !dir.path().join("outbox.ids/sent-again").exists(),
        "no mail was sent twice"
    );

    // The business day before (Monday 12 April): one each.
    set_to("2027-04-12T12:00:00Z");
    let due_soon = first.warn_due().await.unwrap();
    assert_eq!((due_soon.mails, due_soon.warned), (2, 1), "{due_soon:?}");
    first.sweep_mail().await.unwrap();
    assert_eq!(outbox(dir.path()).len(), 4);

    // Resolved on the due date: no warning that it expired.
    let current = first.store.ticket(&ticket.number).await.unwrap();
    change_status(
        &first.store,
        clock.as_ref(),
        &UuidV7,
        &ticket.number,
        current.version,
        Status::Resolved,
        agent(),
    )
    .await
    .unwrap();
    set_to("2027-04-14T12:00:00Z");
    assert_eq!(first.warn_due().await.unwrap(), Default::default());
}

/// A warning queued for an agency's staff is not sent once the ticket has gone to another
/// agency: its people no longer see the ticket, and its subject is personal data.
pub async fn a_warning_queued_before_a_transfer_is_not_sent(backend: impl Backend) {
    use ventanilla_app::config::DEFAULT_CONFIG;
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2027-03-01T15:00:00Z").unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let desk = warning_desk(backend.instance().await, clock.clone(), dir.path());
    let settings = ventanilla_app::Settings::parse(DEFAULT_CONFIG).unwrap();
    let agency = unique_agency();
    let mut new = new_ticket(&agency, Category::Queja, "x@example.com");
    new.term = settings.term(&agency, Category::Queja);
    desk.store.save_agency(&test_agency(&agency)).await.unwrap();
    let ticket = open_ticket::open(&desk.store, clock.as_ref(), &UuidV7, new)
        .await
        .unwrap()
        .into_ticket();
    ventanilla_app::agents::create(
        &desk.store,
        clock.as_ref(),
        AgentId::parse(&unique("supervisora-")).unwrap(),
        "Supervisora".into(),
        agency.clone(),
        Role::Supervisor,
        Some(Email::parse("supervisora@agencia.gob.ec").unwrap()),
    )
    .await
    .unwrap();
    // Monday 5 April, 80% of the term: the warning is queued...
    clock.advance(
        Timestamp::parse("2027-04-05T12:00:00Z").unwrap().datetime() - clock.now().datetime(),
    );
    let queued = desk.warn_due().await.unwrap();
    assert_eq!(queued.mails, 1, "{queued:?}");
    // ...and the ticket goes to another agency before the queue sends it.
    let current = desk.store.ticket(&ticket.number).await.unwrap();
    desk.store
        .update(TicketUpdate {
            number: ticket.number.clone(),
            expected_version: current.version,
            change: TicketChange {
                queue: Some((unique_agency(), QueueName::parse("general").unwrap())),
                ..TicketChange::default()
            },
            message: None,
            mails: Vec::new(),
        })
        .await
        .unwrap();
    desk.sweep_mail().await.unwrap();
    let sent = std::fs::read_dir(dir.path().join("outbox"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(sent, 0, "the warning left after the transfer");
}

pub async fn an_idempotency_key_returns_the_first_result(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let mut request = new_ticket(&agency, Category::Queja, "x@example.com");
    request.idempotency_key = Some(idempotency_key(&unique("form-")));
    let first = open_ticket::open(&store, &clock, &UuidV7, request.clone())
        .await
        .unwrap();
    assert!(matches!(first, Opened::Created(..)));
    clock.advance(Duration::minutes(1));
    let again = open_ticket::open(&store, &clock, &UuidV7, request.clone())
        .await
        .unwrap();
    assert_eq!(again, Opened::Replayed(first.ticket().clone()));
    // No second ticket was made: the next one without the key is 00002.
    let other = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&agency, Category::Queja, "y@example.com"),
    )
    .await
    .unwrap();
    assert_eq!(other.ticket().number.sequence(), 2);
    // Once the key expired (the stores check; TTL only cleans up), it opens a new ticket.
    clock.advance(Duration::hours(25));
    let later = open_ticket::open(&store, &clock, &UuidV7, request)
        .await
        .unwrap();
    let Opened::Created(later, _) = later else {
        panic!("an expired key must not replay")
    };
    assert_eq!(later.number.sequence(), 3);
}

/// An event joins the thread without changing the ticket: same version, same last
/// activity; its mail ids find the ticket and arrive once.
pub async fn an_event_joins_the_thread_and_leaves_the_ticket_as_it_was(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let request = new_ticket(&unique_agency(), Category::Queja, "x@example.com");
    let ticket = open_ticket::open(&store, &clock, &UuidV7, request)
        .await
        .unwrap()
        .into_ticket();
    clock.advance(Duration::minutes(5));
    let bounce_id = format!("rebote@{}.example.com", unique("d"));
    let event = with_mail_ids(
        message(MessageKind::SystemEvent, clock.now(), "bounce received"),
        &[bounce_id.as_str()],
    );
    store.add_event(&ticket.number, &event).await.unwrap();
    let (after, thread) = store.thread(&ticket.number).await.unwrap();
    assert_eq!(after, ticket, "the ticket is as it was");
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1].kind, MessageKind::SystemEvent);
    let bounce_id = MailMessageId::parse(&bounce_id).unwrap();
    assert_eq!(
        store.find_by_mail_ids(&[bounce_id]).await.unwrap(),
        [Some(ticket.number.clone())]
    );
    let again = with_mail_ids(
        message(MessageKind::SystemEvent, clock.now(), "bounce again"),
        &[event.mail_ids()[0].as_str()],
    );
    assert!(matches!(
        store.add_event(&ticket.number, &again).await,
        Err(StoreError::AlreadyExists)
    ));
    let unknown = TicketNumber::parse("ZZZ-QUE-2025-99998").unwrap();
    assert!(matches!(
        store
            .add_event(
                &unknown,
                &message(MessageKind::SystemEvent, clock.now(), "x")
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.thread(&ticket.number).await.unwrap().1.len(), 2);
}

/// A long thread (ten thousand messages on SQLite) reads by pages of a hundred, newest
/// first, each in one read, and every message once when walked to the start.
pub async fn a_long_thread_reads_by_pages<B: Backend>(backend: B) {
    use futures::StreamExt;
    use ventanilla_domain::ports::ThreadQuery;
    let messages = B::LONG_THREAD;
    // Long enough that the whole thread is more than one Query's megabyte.
    let padding = "x".repeat(3_000_000 / messages);
    let store = backend.instance().await;
    let clock = clock();
    let request = new_ticket(&unique_agency(), Category::Queja, "x@example.com");
    let ticket = open_ticket::open(&store, &clock, &UuidV7, request)
        .await
        .unwrap()
        .into_ticket();
    // A short thread is one page.
    let (_, short) = store
        .thread_page(&ticket.number, &ThreadQuery::newest(None))
        .await
        .unwrap();
    assert_eq!((short.items.len(), short.next.clone()), (1, None));
    let start = clock.now();
    futures::stream::iter(0..messages)
        .map(|n| {
            let at = start.plus(Duration::seconds(n as i64 + 1));
            let event = message(
                MessageKind::SystemEvent,
                at,
                &format!("evento {n} {padding}"),
            );
            let (store, number) = (&store, &ticket.number);
            async move { store.add_event(number, &event).await }
        })
        .buffer_unordered(32)
        .for_each(|added| async move { added.unwrap() })
        .await;
    let (read, newest) = store
        .thread_page(&ticket.number, &ThreadQuery::newest(None))
        .await
        .unwrap();
    assert_eq!(read, ticket);
    assert_eq!(newest.items.len(), ThreadQuery::PAGE);
    assert!(
        newest
            .items
            .last()
            .unwrap()
            .body
            .as_str()
            .starts_with(&format!("evento {} ", messages - 1))
    );
    assert!(
        newest.items[0]
            .body
            .as_str()
            .starts_with(&format!("evento {} ", messages - ThreadQuery::PAGE))
    );
    let mut seen = newest.items.len();
    let mut before = newest.next.clone();
    let mut oldest_seen = newest.items[0].at;
    while let Some(cursor) = before {
        let (_, page) = store
            .thread_page(&ticket.number, &ThreadQuery::newest(Some(cursor)))
            .await
            .unwrap();
        assert!(!page.items.is_empty());
        assert!(page.items.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(page.items.last().unwrap().at < oldest_seen);
        oldest_seen = page.items[0].at;
        seen += page.items.len();
        before = page.next;
    }
    assert_eq!(seen, messages + 1, "every message once, the first included");
    assert_eq!(
        store.thread(&ticket.number).await.unwrap().1.len(),
        messages + 1
    );
}

pub async fn mail_ids_find_their_ticket_and_arrive_once(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let domain = unique("d");
    let original = format!("orig@{domain}.example.com");
    let mut request = new_ticket(&unique_agency(), Category::Queja, "x@example.com");
    request.mail = Some(MailMeta {
        message_ids: vec![MailMessageId::parse(&original).unwrap()],
        raw: Some(BlobKey::parse("mail/raw/abc").unwrap()),
        ..MailMeta::default()
    });
    let ticket = open_ticket::open(&store, &clock, &UuidV7, request.clone())
        .await
        .unwrap()
        .into_ticket();
    let original = MailMessageId::parse(&original).unwrap();
    assert_eq!(
        store
            .find_by_mail_ids(std::slice::from_ref(&original))
            .await
            .unwrap()[0]
            .clone(),
        Some(ticket.number.clone())
    );

    // The same mail delivered again, as a follow-up, is refused and changes nothing.
    let duplicate = with_mail_ids(
        message(MessageKind::CitizenMessage, clock.now(), "otra vez"),
        &[original.as_str()],
    );
    assert!(matches!(
        store.update(append(&ticket, duplicate)).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.ticket(&ticket.number).await.unwrap(),
        ticket,
        "nothing half-written"
    );
    assert_eq!(store.thread(&ticket.number).await.unwrap().1.len(), 1);
    // Opening a second ticket from the same mail is refused too, and burns no number.
    assert!(matches!(
        open_ticket::open(&store, &clock, &UuidV7, request.clone()).await,
        Err(StoreError::AlreadyExists)
    ));

    // The id SES gives a mail we sent is linked after sending.
    let first_message = store.thread(&ticket.number).await.unwrap().1[0].id;
    let ses_id = MailMessageId::parse(&format!("0100abc@{domain}.amazonses.com")).unwrap();
    store
        .link_mail_id(&ticket.number, first_message, &ses_id)
        .await
        .unwrap();
    assert_eq!(
        store
            .find_by_mail_ids(std::slice::from_ref(&ses_id))
            .await
            .unwrap()[0]
            .clone(),
        Some(ticket.number.clone())
    );
    assert!(matches!(
        store
            .link_mail_id(&ticket.number, first_message, &ses_id)
            .await,
        Err(StoreError::AlreadyExists)
    ));
    let unknown = TicketNumber::parse("ZZZ-QUE-2025-99999").unwrap();
    let other_id = MailMessageId::parse(&format!("other@{domain}")).unwrap();
    assert!(matches!(
        store.link_mail_id(&unknown, first_message, &other_id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .find_by_mail_ids(std::slice::from_ref(&other_id))
            .await
            .unwrap()[0]
            .clone(),
        None
    );

    let next = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&request.agency, Category::Queja, "x@example.com"),
    )
    .await
    .unwrap();
    assert_eq!(next.ticket().number.sequence(), 2);
}

pub async fn unknown_tickets_are_not_found(backend: impl Backend) {
    let store = backend.instance().await;
    let number = TicketNumber::parse(&format!("{}-QUE-2025-00001", unique_agency())).unwrap();
    assert!(matches!(
        store.ticket(&number).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.thread(&number).await,
        Err(StoreError::NotFound)
    ));
    let update = TicketUpdate {
        number,
        expected_version: 1,
        change: TicketChange {
            status: Some(Status::Open),
            ..Default::default()
        },
        message: None,
        mails: Vec::new(),
    };
    assert!(matches!(
        store.update(update).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_requester_finds_their_tickets(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let address = format!("{}@Example.com", unique("Vecina."));
    let mut mine = Vec::new();
    for _ in 0..2 {
        mine.push(
            open_ticket::open(
                &store,
                &clock,
                &UuidV7,
                new_ticket(&agency, Category::Queja, &address),
            )
            .await
            .unwrap()
            .into_ticket()
            .number,
        );
        clock.advance(Duration::minutes(1));
    }
    open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&agency, Category::Queja, "otra@example.com"),
    )
    .await
    .unwrap();
    let lookup = Email::parse(&address.to_lowercase()).unwrap();
    let found: Vec<_> = store
        .requester_tickets(&lookup)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.number)
        .collect();
    mine.reverse();
    assert_eq!(found, mine, "newest first, matched case-insensitively");
}

/// An agency's canned responses are kept apart from every other agency's, replaced by id,
/// and removed once.
pub async fn canned_responses_are_kept_per_agency(backend: impl Backend) {
    use ventanilla_domain::model::canned_responses::{CannedId, CannedResponse};
    let store = backend.instance().await;
    let (mine, theirs) = (unique_agency(), unique_agency());
    let canned = |agency: &AgencyCode, id: &str, text: &str| CannedResponse {
        agency: agency.clone(),
        id: CannedId::parse(id).unwrap(),
        title: format!("Título {id}"),
        text: text.to_owned(),
        by: AgentId::parse("ana").unwrap(),
        at: clock().now(),
    };
    for (agency, id) in [
        (&mine, "b-segunda"),
        (&mine, "a-primera"),
        (&theirs, "a-primera"),
    ] {
        store
            .save_canned_response(&canned(agency, id, "Hola {nombre}."))
            .await
            .unwrap();
    }
    store
        .save_canned_response(&canned(&mine, "b-segunda", "Reemplazada."))
        .await
        .unwrap();
    let listed = store.canned_responses(&mine).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["a-primera", "b-segunda"]);
    assert_eq!(listed[1].text, "Reemplazada.");
    let id = CannedId::parse("a-primera").unwrap();
    let removed = store.remove_canned_response(&mine, &id).await.unwrap();
    assert_eq!(removed.map(|c| c.agency), Some(mine.clone()));
    assert_eq!(
        store.remove_canned_response(&mine, &id).await.unwrap(),
        None
    );
    assert_eq!(store.canned_responses(&theirs).await.unwrap().len(), 1);
}

/// A ticket an agent opened for a caller who gave no address is stored and read back
/// without one (on DynamoDB: in no requester's index entry) and keeps its channel.
pub async fn a_ticket_without_an_address_is_kept_without_one(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let mut request = new_ticket(&unique_agency(), Category::Queja, "x@example.com");
    request.requester.email = None;
    request.channel = ventanilla_domain::Channel::Telefono;
    let ticket = open_ticket::open(&store, &clock, &UuidV7, request)
        .await
        .unwrap()
        .into_ticket();
    let read = store.ticket(&ticket.number).await.unwrap();
    assert_eq!(read.requester.email, None);
    assert_eq!(read.channel, Some(ventanilla_domain::Channel::Telefono));
    assert_eq!(read, ticket);
    let placeholder = Email::parse("x@example.com").unwrap();
    assert!(
        store
            .requester_tickets(&placeholder)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_thread_keeps_its_order_and_kinds(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&unique_agency(), Category::ProblemaTecnico, "x@example.com"),
    )
    .await
    .unwrap()
    .into_ticket();
    let mut current = ticket;
    let mut expected = store.thread(&current.number).await.unwrap().1;
    for (kind, text) in [
        (
            MessageKind::PublicReply,
            "Estimada ciudadana: ¿puede enviar una captura?",
        ),
        (MessageKind::InternalNote, "Pasar a soporte técnico"),
        (MessageKind::CitizenMessage, "Adjunto la captura."),
        (MessageKind::SystemEvent, "status: new -> open"),
    ] {
        clock.advance(Duration::seconds(30));
        let m = message(kind, clock.now(), text);
        expected.push(m.clone());
        current = store.update(append(&current, m)).await.unwrap();
    }
    assert_eq!(store.thread(&current.number).await.unwrap().1, expected);
    assert_eq!(current.version, 5);
    // The system event did not move the activity; the citizen's message did.
    assert_eq!(current.last_activity, expected[3].at);
}

pub async fn status_changes_follow_the_state_machine(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&unique_agency(), Category::Queja, "x@example.com"),
    )
    .await
    .unwrap()
    .into_ticket();
    let n = &ticket.number;
    let open = change_status(&store, &clock, &UuidV7, n, 1, Status::Open, agent())
        .await
        .unwrap();
    assert_eq!((open.status, open.version), (Status::Open, 2));
    assert!(matches!(
        change_status(&store, &clock, &UuidV7, n, 2, Status::New, agent()).await,
        Err(ChangeError::Transition(_))
    ));
    assert!(matches!(
        change_status(&store, &clock, &UuidV7, n, 1, Status::Resolved, agent()).await,
        Err(ChangeError::Store(StoreError::VersionConflict))
    ));
    let closed = change_status(&store, &clock, &UuidV7, n, 2, Status::Closed, agent())
        .await
        .unwrap();
    let reopened = change_status(
        &store,
        &clock,
        &UuidV7,
        n,
        closed.version,
        Status::Open,
        agent(),
    )
    .await
    .unwrap();
    assert_eq!(reopened.status, Status::Open);
    let events: Vec<_> = store
        .thread(n)
        .await
        .unwrap()
        .1
        .into_iter()
        .filter(|m| m.kind == MessageKind::SystemEvent)
        .map(|m| m.body.as_str().to_owned())
        .collect();
    assert_eq!(
        events,
        [
            "status: new -> open",
            "status: open -> closed",
            "status: closed -> open"
        ]
    );
}

async fn counts_of(store: &impl Throttle, keys: &[ThrottleKey], now: Timestamp) -> Vec<u64> {
    let hour = std::time::Duration::from_secs(3600);
    store.counts(keys, hour, now).await.unwrap()
}

pub async fn throttle_windows_take_atomically_across_instances(backend: impl Backend) {
    let (first, second) = (backend.instance().await, backend.instance().await);
    let clock = clock();
    let hour = std::time::Duration::from_secs(3600);
    let key = ThrottleKey::new("open", &unique("source-"));
    let other = ThrottleKey::new("open", &unique("source-"));
    assert_eq!(
        counts_of(&first, std::slice::from_ref(&key), clock.now()).await[0],
        0
    );
    assert!(first.take(&key, hour, clock.now(), 10).await.unwrap());
    assert!(second.take(&key, hour, clock.now(), 10).await.unwrap());
    assert!(second.take(&other, hour, clock.now(), 10).await.unwrap());
    clock.advance(Duration::minutes(59));
    assert_eq!(
        counts_of(&first, std::slice::from_ref(&key), clock.now()).await[0],
        2
    );
    // Several keys at once come back in the order asked, a key asked twice included, and
    // a key never hit counts nothing.
    let never = ThrottleKey::new("open", &unique("source-"));
    let keys = [other.clone(), never, key.clone(), other.clone()];
    assert_eq!(counts_of(&second, &keys, clock.now()).await, [1, 0, 2, 1]);
    assert!(counts_of(&second, &[], clock.now()).await.is_empty());
    // The next window starts from nothing.
    clock.advance(Duration::minutes(1));
    assert_eq!(
        counts_of(&second, std::slice::from_ref(&key), clock.now()).await[0],
        0
    );
    assert!(first.take(&key, hour, clock.now(), 10).await.unwrap());
    assert!(!first.take(&key, hour, clock.now(), 0).await.unwrap());

    // Parallel takers from two instances never pass the limit together: 40 at once, 3
    // already taken of 10, and exactly 7 more get through.
    let key = ThrottleKey::new("open", &unique("source-"));
    for _ in 0..3 {
        assert!(first.take(&key, hour, clock.now(), 10).await.unwrap());
    }
    let takes = futures::future::join_all((0..40).map(|at| {
        let instance = if at % 2 == 0 { &first } else { &second };
        instance.take(&key, hour, clock.now(), 10)
    }))
    .await;
    let taken = takes.into_iter().map(Result::unwrap).filter(|t| *t).count();
    assert_eq!(taken, 7);
    assert_eq!(
        counts_of(&first, std::slice::from_ref(&key), clock.now()).await[0],
        10
    );
    // A release gives one back, once per take; never below nothing.
    second.release(&key, hour, clock.now()).await.unwrap();
    assert!(first.take(&key, hour, clock.now(), 10).await.unwrap());
    assert!(!first.take(&key, hour, clock.now(), 10).await.unwrap());
    let fresh = ThrottleKey::new("open", &unique("source-"));
    first.release(&fresh, hour, clock.now()).await.unwrap();
    assert_eq!(
        counts_of(&first, std::slice::from_ref(&fresh), clock.now()).await[0],
        0
    );
    // A window taken for a moment ahead (a sign-in link's expiry, a bounce's next period)
    // sweeps nothing that still counts now.
    let live = ThrottleKey::new("open", &unique("source-"));
    assert!(first.take(&live, hour, clock.now(), 10).await.unwrap());
    let ahead = ThrottleKey::new("bounced", &unique("source-"));
    let month = std::time::Duration::from_secs(30 * 24 * 3600);
    let next_month = clock.now().plus(Duration::days(30));
    assert!(
        second
            .take(&ahead, month, next_month, u64::MAX)
            .await
            .unwrap()
    );
    assert!(
        first
            .take(&ahead, hour, clock.now().plus(Duration::minutes(30)), 1)
            .await
            .unwrap()
    );
    assert_eq!(
        counts_of(&first, std::slice::from_ref(&live), clock.now()).await[0],
        1
    );
}

fn directory_agent(agency: &AgencyCode, id: &str, token: &AgentToken) -> Agent {
    Agent {
        id: AgentId::parse(id).unwrap(),
        name: "Ana Agente".into(),
        agency: agency.clone(),
        role: Role::Agent,
        active: true,
        token_hash: token.hash(),
        created_at: clock().now(),
        email: None,
        alerts: Default::default(),
        pending_email: None,
    }
}

pub async fn agents_are_found_by_token_and_a_new_token_retires_the_old(backend: impl Backend) {
    let store = backend.instance().await;
    let agency = unique_agency();
    let (first_token, second_token) = (AgentToken::generate(), AgentToken::generate());
    let ana = directory_agent(&agency, &unique("ana-"), &first_token);
    store.add_agent(&ana).await.unwrap();
    assert!(matches!(
        store.add_agent(&ana).await,
        Err(StoreError::AlreadyExists)
    ));
    // Another agent cannot take a token already in use.
    let copycat = directory_agent(&agency, &unique("copia-"), &first_token);
    assert!(matches!(
        store.add_agent(&copycat).await,
        Err(StoreError::AlreadyExists)
    ));
    let luis = directory_agent(&agency, &unique("luis-"), &second_token);
    store.add_agent(&luis).await.unwrap();
    let found = store.agent_by_token(&first_token.hash()).await.unwrap();
    assert_eq!(found.as_ref(), Some(&ana));
    assert_eq!(
        store
            .agent_by_token(&AgentToken::generate().hash())
            .await
            .unwrap(),
        None
    );
    let mut listed: Vec<AgentId> = store
        .agents(&agency)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    listed.sort();
    let mut expected = vec![ana.id.clone(), luis.id.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // Rotation: the new token opens, the old one no longer does.
    let third_token = AgentToken::generate();
    let rotated = Agent {
        token_hash: third_token.hash(),
        role: Role::Supervisor,
        ..ana.clone()
    };
    store.save_agent(&rotated).await.unwrap();
    assert_eq!(
        store.agent_by_token(&first_token.hash()).await.unwrap(),
        None
    );
    assert_eq!(
        store.agent_by_token(&third_token.hash()).await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(store.agent(&ana.id).await.unwrap().role, Role::Supervisor);
    let stranger = directory_agent(&agency, &unique("nadie-"), &AgentToken::generate());
    assert!(matches!(
        store.save_agent(&stranger).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn the_audit_trail_of_a_ticket_keeps_its_order(backend: impl Backend) {
    let store = backend.instance().await;
    let agency = unique_agency();
    let clock = clock();
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&agency, Category::Queja, "audit@example.com"),
    )
    .await
    .unwrap()
    .into_ticket();
    let ana = AgentId::parse("ana").unwrap();
    let actions = [
        AuditAction::ViewTicket,
        AuditAction::Note,
        AuditAction::Change,
    ];
    for action in actions {
        clock.advance(Duration::seconds(1));
        store
            .record(&AuditEntry {
                at: clock.now(),
                agent: ana.clone(),
                action,
                ticket: Some(ticket.number.clone()),
                detail: format!("{action:?}"),
            })
            .await
            .unwrap();
    }
    store
        .record(&AuditEntry {
            at: clock.now(),
            agent: ana.clone(),
            action: AuditAction::ManageAgent,
            ticket: None,
            detail: "agent added".into(),
        })
        .await
        .unwrap();
    let trail: Vec<AuditAction> = store
        .ticket_audit(&ticket.number)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(trail, actions);
    // The audit trail is not part of the thread.
    assert_eq!(store.thread(&ticket.number).await.unwrap().1.len(), 1);
}

pub async fn agencies_saved_at_run_time_are_read_back_and_replaced(backend: impl Backend) {
    use ventanilla_domain::model::agencies::Agency;
    use ventanilla_domain::model::agencies::FinishedTicketRule;
    let store = backend.instance().await;
    let code = unique_agency();
    let mut agency = Agency {
        code: code.clone(),
        name: "Ministerio de Educación".into(),
        response_days: 10,
        default_queue: QueueName::parse("general").unwrap(),
        queues_by_category: [(Category::Queja, QueueName::parse("quejas").unwrap())].into(),
        follow_ups: [(
            QueueName::parse("quejas").unwrap(),
            FinishedTicketRule::Reopen {
                within_days: Some(15),
            },
        )]
        .into(),
        special_categories: vec![Category::AccesoInformacion],
    };
    store.save_agency(&agency).await.unwrap();
    agency.follow_ups.insert(
        QueueName::parse("general").unwrap(),
        FinishedTicketRule::Reject,
    );
    store.save_agency(&agency).await.unwrap();
    let saved: Vec<Agency> = store
        .agencies()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.code == code)
        .collect();
    assert_eq!(saved, [agency]);
}

/// An agency's changed days are kept, replaced on the same day, read by another instance and
/// removed once; a ticket opened then keeps them with its term and is counted on them.
pub async fn an_agencys_calendar_days_are_kept_and_count_in_new_terms(backend: impl Backend) {
    use ventanilla_domain::model::agencies::{CalendarDay, DayChange};
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let changed = |day: &str, kind, name: &str| CalendarDay {
        agency: agency.clone(),
        day: date(day),
        kind,
        name: name.into(),
        by: AgentId::parse("admin-1").unwrap(),
        at: clock.now(),
    };
    store
        .save_calendar_day(&changed("2025-03-12", DayChange::LocalHoliday, "Fundación"))
        .await
        .unwrap();
    store
        .save_calendar_day(&changed("2025-03-22", DayChange::MakeUpDay, "Recuperación"))
        .await
        .unwrap();
    let renamed = changed(
        "2025-03-12",
        DayChange::LocalHoliday,
        "Fundación del cantón",
    );
    store.save_calendar_day(&renamed).await.unwrap();
    // An agency whose code starts with this one's, and a day of another year: not read.
    let longer = AgencyCode::parse(&format!("{agency}X")).unwrap();
    store
        .save_calendar_day(&CalendarDay {
            agency: longer.clone(),
            ..changed("2025-03-13", DayChange::LocalHoliday, "Otra")
        })
        .await
        .unwrap();
    store
        .save_calendar_day(&changed("2026-03-12", DayChange::LocalHoliday, "Otro año"))
        .await
        .unwrap();
    let other = backend.instance().await;
    async fn year_2025(store: &impl AgencyDirectory, agency: &AgencyCode) -> Vec<CalendarDay> {
        let day = |text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        store
            .calendar_days(agency, day("2025-01-01"), day("2025-12-31"))
            .await
            .unwrap()
    }
    let kept = year_2025(&other, &agency).await;
    assert_eq!(
        kept,
        [
            renamed.clone(),
            changed("2025-03-22", DayChange::MakeUpDay, "Recuperación")
        ]
    );
    let one_day = other
        .calendar_days(&agency, date("2025-03-12"), date("2025-03-12"))
        .await
        .unwrap();
    assert_eq!(one_day, std::slice::from_ref(&renamed));

    // Opened on Saturday 1 March 2025 (received on Wednesday 5, after Carnival): ten
    // business days end on the 19th nationally; the local holiday of the 12th and the
    // make-up Saturday of the 22nd (after the end) make it the 20th.
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        open_ticket::NewTicket {
            term: Some(Term {
                days: 10,
                kind: DayKind::Business,
                basis: "prueba".into(),
                extension: None,
                warnings: Default::default(),
                calendar: Default::default(),
            }),
            ..new_ticket(&agency, Category::Queja, "x@example.com")
        },
    )
    .await
    .unwrap()
    .into_ticket();
    assert_eq!(ticket.due_on, Some(date("2025-03-20")));
    let read = store.ticket(&ticket.number).await.unwrap();
    // It keeps the days of the years its term may reach: next year's too, not the other
    // agency's.
    assert_eq!(
        read.calendar().days_off.iter().copied().collect::<Vec<_>>(),
        [date("2025-03-12"), date("2026-03-12")]
    );
    assert_eq!(
        read.calendar()
            .working_days
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [date("2025-03-22")]
    );

    assert_eq!(
        store
            .remove_calendar_day(&agency, date("2025-03-12"))
            .await
            .unwrap(),
        Some(renamed)
    );
    assert_eq!(
        store
            .remove_calendar_day(&agency, date("2025-03-12"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(year_2025(&store, &agency).await.len(), 1);
}

/// After an upgrade: unfinished tickets opened before terms were kept get the term of their
/// category and a due date, with a line in their thread, and enter the due-date index; those
/// with a term and finished ones are left as they were; a second run gives nothing more.
pub async fn a_backfill_gives_old_tickets_a_term_and_indexes_them(backend: impl Backend) {
    use ventanilla_app::give_terms::backfill_terms;
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    store.save_agency(&test_agency(&agency)).await.unwrap();
    let old = |category| new_ticket(&agency, category, "x@example.com");
    let queja = open_ticket::open(&store, &clock, &UuidV7, old(Category::Queja))
        .await
        .unwrap()
        .into_ticket();
    let sugerencia = open_ticket::open(&store, &clock, &UuidV7, old(Category::Sugerencia))
        .await
        .unwrap()
        .into_ticket();
    let closed = open_ticket::open(&store, &clock, &UuidV7, old(Category::Queja))
        .await
        .unwrap()
        .into_ticket();
    change_status(
        &store,
        &clock,
        &UuidV7,
        &closed.number,
        1,
        Status::Resolved,
        agent(),
    )
    .await
    .unwrap();
    assert_eq!(queja.due_on, None, "opened as before terms were kept");
    let due_query = DueQuery {
        agency: agency.clone(),
        from: None,
        until: None,
        after: None,
        limit: 10,
    };
    assert!(
        store
            .due_tickets(&due_query)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let settings = ventanilla_app::Settings::parse(ventanilla_app::config::DEFAULT_CONFIG).unwrap();
    let done = backfill_terms(&store, &settings, &clock, &UuidV7)
        .await
        .unwrap();
    assert_eq!((done.written, done.given_terms), (2, 2), "{done:?}");
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    // Opened Saturday 1 March 2025, received Wednesday 5 (after Carnival): the COA's 30
    // business days for the queja, the agency's 5 for the sugerencia.
    let queja = store.ticket(&queja.number).await.unwrap();
    assert_eq!(queja.due_on, Some(date("2025-04-16")));
    assert_eq!(queja.term.as_ref().unwrap().days, 30);
    let sugerencia = store.ticket(&sugerencia.number).await.unwrap();
    assert_eq!(sugerencia.due_on, Some(date("2025-03-12")));
    let listed: Vec<_> = store
        .due_tickets(&due_query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(listed, [sugerencia.number.clone(), queja.number.clone()]);
    let (_, thread) = store.thread(&queja.number).await.unwrap();
    assert!(
        thread
            .iter()
            .any(|m| m.body.as_str().contains("miércoles 16 de abril de 2025")),
        "{thread:?}"
    );
    assert_eq!(store.ticket(&closed.number).await.unwrap().due_on, None);

    let again = backfill_terms(&store, &settings, &clock, &UuidV7)
        .await
        .unwrap();
    assert_eq!((again.written, again.given_terms), (2, 0));
    assert_eq!(
        store.thread(&queja.number).await.unwrap().1.len(),
        thread.len()
    );
}

/// Who has a ticket open: one note per agent, renewed in place, left out once over; another
/// ticket's notes never show.
pub async fn notes_of_an_open_ticket_last_until_they_end(backend: impl Backend) {
    use ventanilla_domain::model::agents::Viewer;
    let store = backend.instance().await;
    let clock = clock();
    let ticket = a_ticket(&store, &clock).await;
    let other = a_ticket(&store, &clock).await;
    let now = clock.now();
    let viewer = |id: &str, seconds: i64| Viewer {
        agent: AgentRef {
            id: AgentId::parse(id).unwrap(),
            name: format!("Agente {id}"),
        },
        until: now.plus(Duration::seconds(seconds)),
    };
    store
        .mark_open(&ticket.number, &viewer("ana", 60))
        .await
        .unwrap();
    store
        .mark_open(&ticket.number, &viewer("luis", 10))
        .await
        .unwrap();
    store
        .mark_open(&other.number, &viewer("eva", 60))
        .await
        .unwrap();
    // Ana renews: one note of hers, the later one.
    store
        .mark_open(&ticket.number, &viewer("ana", 90))
        .await
        .unwrap();
    let names = |viewers: Vec<Viewer>| -> Vec<String> {
        let mut names: Vec<String> = viewers.into_iter().map(|v| v.agent.name).collect();
        names.sort();
        names
    };
    assert_eq!(
        names(store.open_by(&ticket.number, now).await.unwrap()),
        ["Agente ana", "Agente luis"]
    );
    let later = now.plus(Duration::seconds(30));
    let open = store.open_by(&ticket.number, later).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].until, now.plus(Duration::seconds(90)));
    assert!(
        store
            .open_by(&ticket.number, now.plus(Duration::seconds(90)))
            .await
            .unwrap()
            .is_empty()
    );
}

/// An erasure rewrites the ticket and its thread in place: the same ids, times and mail ids,
/// none of the text; the requester index no longer finds the old address, and an erasure
/// made from a stale version is refused.
/// The agents' search: the tickets that have every word asked for (subject, name, document,
/// messages), the highest numbers first, in the agency's own keys; a reply's words join; a
/// transfer moves them to the agencies that find the ticket; an erasure takes them all.
pub async fn tickets_are_found_by_their_words_until_erased(backend: impl Backend) {
    use ventanilla_domain::rules::search::query_keys;
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let open = |subject: &str| {
        let mut request = new_ticket(&agency, Category::Queja, "x@example.com");
        request.subject = ventanilla_domain::Subject::parse(subject).unwrap();
        request
    };
    let first = open_ticket::open(&store, &clock, &UuidV7, open("Licencia de turismo"))
        .await
        .unwrap()
        .into_ticket();
    let second = open_ticket::open(&store, &clock, &UuidV7, open("Multa de tránsito"))
        .await
        .unwrap()
        .into_ticket();
    let found_in = |agency: &AgencyCode, text: &'static str| {
        let (store, agency) = (&store, agency.clone());
        async move { store.search(&query_keys(&agency, text), 10).await.unwrap() }
    };
    let found = |text: &'static str| found_in(&agency, text);
    assert_eq!(found("LICENCIA Turismo").await, vec![first.number.clone()]);
    assert_eq!(found("turismo multa").await, Vec::<TicketNumber>::new());
    // Both say "trámite" in their first message and have the same requester.
    let both = vec![second.number.clone(), first.number.clone()];
    assert_eq!(found("tramite").await, both);
    assert_eq!(found("Ñáñez").await, both);
    assert_eq!(found("171430710-3").await, both);
    let reply = message(
        MessageKind::PublicReply,
        clock.now(),
        "Su oficio 4455-B fue enviado a la dirección zonal.",
    );
    let first = store.update(append(&first, reply)).await.unwrap();
    assert_eq!(found("oficio zonal").await, vec![first.number.clone()]);
    assert_eq!(found("oficio 4455").await, vec![first.number.clone()]);
    // A follow-up repeating the subject and the name writes none of those words again; the
    // ticket is found by them as before, and by its new words.
    let follow_up = message(
        MessageKind::CitizenMessage,
        clock.now(),
        "¿Y mi licencia de turismo? Saludos, Ñáñez. Expediente 9921.",
    );
    let first = store.update(append(&first, follow_up)).await.unwrap();
    assert_eq!(found("licencia turismo").await, vec![first.number.clone()]);
    assert_eq!(found("Ñáñez").await, both);
    assert_eq!(found("expediente 9921").await, vec![first.number.clone()]);

    // Transferred away without a referral, then on with one kept: each agency's search
    // finds what it may see, and no other agency's words crowd it.
    let (other, third) = (unique_agency(), unique_agency());
    let queue = QueueName::parse("atencion-ciudadana").unwrap();
    let transfer = |ticket: &ventanilla_domain::Ticket,
                    to: &AgencyCode,
                    kept: Option<AgencyCode>| TicketUpdate {
        number: ticket.number.clone(),
        expected_version: ticket.version,
        change: TicketChange {
            queue: Some((to.clone(), queue.clone())),
            referral: kept,
            ..TicketChange::default()
        },
        message: None,
        mails: Vec::new(),
    };
    let second = store.update(transfer(&second, &other, None)).await.unwrap();
    assert!(
        found("multa").await.is_empty(),
        "no longer the first agency's"
    );
    assert_eq!(
        found_in(&other, "multa transito").await,
        vec![second.number.clone()]
    );
    assert_eq!(
        found_in(&other, "171430710-3").await,
        vec![second.number.clone()]
    );
    let second = store
        .update(transfer(&second, &third, Some(other.clone())))
        .await
        .unwrap();
    assert_eq!(
        found_in(&other, "multa").await,
        vec![second.number.clone()],
        "a referral"
    );
    assert_eq!(found_in(&third, "multa").await, vec![second.number.clone()]);
    assert_eq!(found("171430710-3").await, vec![first.number.clone()]);

    let thread = store.thread(&first.number).await.unwrap().1;
    let erasure = ventanilla_domain::rules::privacy::erasure(&first, &thread, clock.now());
    store.erase(&erasure).await.unwrap();
    assert!(found("licencia").await.is_empty());
    assert!(found("zonal").await.is_empty());
    assert!(found("171430710-3").await.is_empty());
    let thread = store.thread(&second.number).await.unwrap().1;
    let erasure = ventanilla_domain::rules::privacy::erasure(&second, &thread, clock.now());
    store.erase(&erasure).await.unwrap();
    for agency in [&other, &third] {
        assert!(
            found_in(agency, "multa").await.is_empty(),
            "erased everywhere"
        );
    }
}

pub async fn an_erasure_replaces_the_ticket_and_its_thread(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let address = format!("{}@example.com", unique("titular."));
    let ticket = open_ticket::open(
        &store,
        &clock,
        &UuidV7,
        new_ticket(&agency, Category::Queja, &address),
    )
    .await
    .unwrap()
    .into_ticket();
    let mail_id = format!("<{}@example.com>", unique("erase-"));
    let reply = with_mail_ids(
        message(
            MessageKind::CitizenMessage,
            clock.now(),
            "Mi cédula es 1710034065.",
        ),
        &[&mail_id],
    );
    let ticket = store.update(append(&ticket, reply)).await.unwrap();
    let thread = store.thread(&ticket.number).await.unwrap().1;
    let at = clock.now().plus(Duration::days(1));
    let stale = ventanilla_domain::rules::privacy::erasure(&ticket, &thread, at);
    let erasure = ventanilla_domain::rules::privacy::erasure(&ticket, &thread, at);
    let erased = store.erase(&erasure).await.unwrap();
    assert_eq!(erased, erasure.ticket);
    assert_eq!(store.ticket(&ticket.number).await.unwrap(), erasure.ticket);
    let stored = store.thread(&ticket.number).await.unwrap().1;
    assert_eq!(stored, erasure.messages);
    assert_eq!(
        stored.iter().map(|m| (m.id, m.at)).collect::<Vec<_>>(),
        thread.iter().map(|m| (m.id, m.at)).collect::<Vec<_>>()
    );
    let text = format!(
        "{:?}{stored:?}",
        store.ticket(&ticket.number).await.unwrap()
    );
    assert!(
        !text.contains("1710034065") && !text.contains(&address),
        "{text}"
    );
    let old = Email::parse(&address).unwrap();
    assert!(store.requester_tickets(&old).await.unwrap().is_empty());
    assert_eq!(
        store
            .requester_tickets(erasure.ticket.requester.email.as_ref().unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
    // A reply to a mail of the erased thread still finds its ticket.
    assert_eq!(
        store
            .find_by_mail_ids(&[MailMessageId::parse(&mail_id).unwrap()])
            .await
            .unwrap(),
        [Some(ticket.number.clone())]
    );
    assert!(matches!(
        store.erase(&stale).await,
        Err(StoreError::VersionConflict)
    ));
}

/// A mail owed, about no message yet (`open` sets the first one), held by its writer for
/// two minutes from `clock`'s now.
fn intent(clock: &ManualClock, notice: Notice) -> MailIntent {
    MailIntent {
        id: MailMessageId::parse(&format!("{}@ventanilla.example.gob.ec", unique("mail-")))
            .unwrap(),
        notice,
        about: ventanilla_domain::MessageId::UNSET,
        lang: ventanilla_domain::Lang::Es,
        in_reply_to: None,
        queued_at: clock.now(),
        writer_until: clock.now().plus(Duration::minutes(2)),
        to: None,
        actor: None,
        held: 0,
        held_alerts: Vec::new(),
    }
}

/// A new ticket of an agency of its own.
async fn a_ticket(
    store: &(impl TicketStore + AgencyDirectory),
    clock: &ManualClock,
) -> ventanilla_domain::Ticket {
    let request = new_ticket(&unique_agency(), Category::Queja, "maria@example.com");
    open_ticket::open(store, clock, &UuidV7, request)
        .await
        .unwrap()
        .into_ticket()
}

const RETRY: RetryPolicy = RetryPolicy {
    first_retry: std::time::Duration::from_secs(60),
    longest_wait: std::time::Duration::from_secs(3600),
    attempts: 3,
    lease: std::time::Duration::from_secs(120),
};

pub async fn a_mail_queued_with_its_ticket_is_taken_by_one_sender(backend: impl Backend) {
    let (first, second) = (backend.instance().await, backend.instance().await);
    let clock = clock();
    let mut request = new_ticket(&unique_agency(), Category::Queja, "maria@example.com");
    let ack = intent(&clock, Notice::Acknowledgement { quote: false });
    request.acknowledgement = Some(ack.clone());
    let Opened::Created(ticket, first_message) =
        open_ticket::open(&first, &clock, &UuidV7, request)
            .await
            .unwrap()
    else {
        panic!("a new ticket");
    };
    let queued = second.queued_mail(&ack.id).await.unwrap();
    assert_eq!(queued.ticket, ticket.number);
    assert_eq!(
        queued.intent.about, first_message.id,
        "about the first message"
    );
    assert_eq!(
        (queued.state, queued.attempts, queued.version),
        (MailState::Pending, 1, 1)
    );
    // The writer's for two minutes: no sweeper sees it before.
    assert!(first.due_mail(clock.now(), 10).await.unwrap().is_empty());
    clock.advance(Duration::minutes(2));
    let due = first.due_mail(clock.now(), 10).await.unwrap();
    assert_eq!(due, std::slice::from_ref(&queued));

    // Twenty senders on two instances claim it at once: one wins.
    let claimed = queued.claimed(clock.now(), RETRY.lease);
    let (first, second) = (Arc::new(first), Arc::new(second));
    let tries: Vec<_> = (0..20)
        .map(|n| {
            let store = if n % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            let claimed = claimed.clone();
            tokio::spawn(async move { store.save_mail(&claimed).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for task in tries {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one sender takes it");
    assert!(
        first.due_mail(clock.now(), 10).await.unwrap().is_empty(),
        "held by its taker"
    );
    // The taker's outcome is written over its claim; a stale one is not.
    let sent = claimed.sent("ses-1".into(), clock.now());
    assert!(
        !first
            .save_mail(&queued.sent("late".into(), clock.now()))
            .await
            .unwrap()
    );
    assert!(first.save_mail(&sent).await.unwrap());
    assert_eq!(second.queued_mail(&ack.id).await.unwrap(), sent);
    clock.advance(Duration::hours(2));
    assert!(first.due_mail(clock.now(), 10).await.unwrap().is_empty());
    assert!(
        first
            .parked_mail(&ticket.agency, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_failing_mail_waits_then_parks_and_an_admin_requeues_it(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let ticket = a_ticket(&store, &clock).await;
    let refusal = intent(&clock, Notice::FollowUpRefused)
        .queued(ticket.number.clone(), ticket.agency.clone());
    store.queue_mail(&refusal).await.unwrap();
    assert!(matches!(
        store.queue_mail(&refusal).await,
        Err(StoreError::AlreadyExists)
    ));
    let failed = refusal.failed("throttled", false, clock.now(), &RETRY);
    assert!(store.save_mail(&failed).await.unwrap());
    assert!(store.due_mail(clock.now(), 10).await.unwrap().is_empty());
    clock.advance(Duration::minutes(1));
    assert_eq!(
        store.due_mail(clock.now(), 10).await.unwrap(),
        std::slice::from_ref(&failed)
    );
    let mut mail = failed;
    while mail.state == MailState::Pending {
        let claimed = mail.claimed(clock.now(), RETRY.lease);
        assert!(store.save_mail(&claimed).await.unwrap());
        mail = claimed.failed("throttled", false, clock.now(), &RETRY);
        assert!(store.save_mail(&mail).await.unwrap());
        clock.advance(Duration::hours(1));
    }
    assert_eq!((mail.state, mail.attempts), (MailState::Parked, 3));
    assert!(store.due_mail(clock.now(), 10).await.unwrap().is_empty());
    assert_eq!(
        store.parked_mail(&ticket.agency, 10).await.unwrap(),
        [mail.clone()]
    );
    // Another agency's admins see none of it.
    assert!(
        store
            .parked_mail(&unique_agency(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = mail.requeued(clock.now());
    assert!(store.save_mail(&again).await.unwrap());
    assert!(
        store
            .parked_mail(&ticket.agency, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_mail(clock.now(), 10).await.unwrap(), [again]);
}

pub async fn an_update_queues_its_mail_with_it_or_not_at_all(backend: impl Backend) {
    let store = backend.instance().await;
    let clock = clock();
    let ticket = a_ticket(&store, &clock).await;
    let reply = message(MessageKind::PublicReply, clock.now(), "Ya lo revisamos.");
    let mail = MailIntent {
        about: reply.id,
        ..intent(&clock, Notice::AgentReply)
    };
    // At a stale version nothing is written: neither the reply nor its mail.
    let mut stale = append(&ticket, reply.clone());
    stale.expected_version += 1;
    stale.mails = vec![mail.clone()];
    assert!(matches!(
        store.update(stale).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        store.queued_mail(&mail.id).await,
        Err(StoreError::NotFound)
    ));
    let mut update = append(&ticket, reply);
    update.mails = vec![mail.clone()];
    store.update(update).await.unwrap();
    let queued = store.queued_mail(&mail.id).await.unwrap();
    assert_eq!((queued.ticket, queued.intent), (ticket.number, mail));
}

/// A store technology under test: it hands out any number of store instances over the
/// same storage (one SQLite file, one DynamoDB table), like several processes would have.
/// A year of two agencies' work, every kind of write the figures count (openings with and
/// without a term, first answers, citizens' follow-ups by mail and on the web, finishings on
/// and past time, reopenings, transfers, merges in one transaction), then the figures kept
/// by the writes are what a count of the tickets finds; a figure changed by hand is found and
/// mended by a rebuild.
pub async fn a_years_figures_agree_with_a_rebuild_from_the_tickets<B: Backend>(backend: B) {
    use ventanilla_app::stats_check::{check, rebuild};
    use ventanilla_domain::rules::stats::{Bucket, StatsKey, Tally, counter};
    let store = backend.instance().await;
    let clock = ManualClock::new(Timestamp::parse("2025-01-02T14:00:00Z").unwrap());
    let agencies = [unique_agency(), unique_agency()];
    let categories = [
        Category::Queja,
        Category::Requerimiento,
        Category::AccesoInformacion,
    ];
    let step = Duration::minutes(i64::try_from(365 * 24 * 60 / B::YEAR_TICKETS).unwrap());
    let mut merge_into: Option<ventanilla_domain::Ticket> = None;
    for i in 0..B::YEAR_TICKETS {
        clock.advance(step);
        let agency = &agencies[i % 2];
        let request = open_ticket::NewTicket {
            term: (i % 3 != 0).then(|| Term {
                days: 10,
                kind: DayKind::Business,
                basis: "prueba".into(),
                extension: None,
                warnings: Default::default(),
                calendar: Default::default(),
            }),
            channel: if i % 4 == 0 {
                ventanilla_domain::Channel::Correo
            } else {
                ventanilla_domain::Channel::Formulario
            },
            ..new_ticket(
                agency,
                categories[i % 3],
                &format!("c{}@example.com", i % 40),
            )
        };
        let mut ticket = open_ticket::open(&store, &clock, &UuidV7, request)
            .await
            .unwrap()
            .into_ticket();
        // Days later, mostly within the term of 10 business days, sometimes past it.
        let later = |days: i64| clock.now().plus(Duration::days(days));
        if i % 5 != 4 {
            let reply = message(MessageKind::PublicReply, later((i % 4) as i64), "Respuesta");
            ticket = store.update(append(&ticket, reply)).await.unwrap();
        }
        if i % 6 == 1 {
            let mut follow_up = message(MessageKind::CitizenMessage, later(5), "Gracias, pero…");
            if i % 12 == 1 {
                follow_up.mail = Some(MailMeta {
                    raw: Some(BlobKey::parse(&format!("inbound/{i}")).unwrap()),
                    ..MailMeta::default()
                });
            }
            ticket = store.update(append(&ticket, follow_up)).await.unwrap();
        }
        if i % 7 != 6 {
            let finished = if i % 2 == 0 {
                Status::Resolved
            } else {
                Status::Closed
            };
            let at = later(if i % 9 == 1 { 30 } else { 6 });
            ticket = store
                .update(TicketUpdate {
                    number: ticket.number.clone(),
                    expected_version: ticket.version,
                    change: TicketChange {
                        assignee: Some(Some(AgentId::parse(&format!("agente-{}", i % 3)).unwrap())),
                        ..TicketChange::to_status(&ticket, Some(finished), at, 30)
                    },
                    message: None,
                    mails: Vec::new(),
                })
                .await
                .unwrap();
            // Most finished tickets are rated, some twice (the second changes nothing),
            // before a reopening or a transfer moves them.
            if i % 4 != 2 {
                for score in [i % 5 + 1, 1] {
                    let rating = ventanilla_domain::model::rating::Rating::parse(
                        &score.to_string(),
                        None,
                        later(7),
                    )
                    .unwrap();
                    ticket = store
                        .update(TicketUpdate {
                            number: ticket.number.clone(),
                            expected_version: ticket.version,
                            change: TicketChange {
                                rating: Some(rating),
                                ..TicketChange::default()
                            },
                            message: None,
                            mails: Vec::new(),
                        })
                        .await
                        .unwrap();
                }
            }
            if i % 10 == 3 {
                ticket = store
                    .update(TicketUpdate {
                        number: ticket.number.clone(),
                        expected_version: ticket.version,
                        change: TicketChange::to_status(&ticket, Some(Status::Open), later(40), 30),
                        message: None,
                        mails: Vec::new(),
                    })
                    .await
                    .unwrap();
            }
        }
        if i % 11 == 5 {
            ticket = store
                .update(TicketUpdate {
                    number: ticket.number.clone(),
                    expected_version: ticket.version,
                    change: TicketChange {
                        queue: Some((
                            agencies[(i + 1) % 2].clone(),
                            QueueName::parse("general").unwrap(),
                        )),
                        ..TicketChange::default()
                    },
                    message: None,
                    mails: Vec::new(),
                })
                .await
                .unwrap();
        }
        if i % 13 == 0 && !ticket.status.is_finished() {
            match merge_into.take() {
                None => merge_into = Some(ticket),
                Some(survivor) => {
                    let survivor = store.ticket(&survivor.number).await.unwrap();
                    let duplicate = TicketUpdate {
                        number: ticket.number.clone(),
                        expected_version: ticket.version,
                        change: TicketChange {
                            merged_into: Some(survivor.number.clone()),
                            ..TicketChange::to_status(&ticket, Some(Status::Closed), later(1), 30)
                        },
                        message: None,
                        mails: Vec::new(),
                    };
                    let kept = TicketUpdate {
                        number: survivor.number.clone(),
                        expected_version: survivor.version,
                        change: TicketChange {
                            merged: Some(ticket.number.clone()),
                            ..TicketChange::default()
                        },
                        message: None,
                        mails: Vec::new(),
                    };
                    store.update_pair(duplicate, kept).await.unwrap();
                }
            }
        }
    }
    let found = check(&store).await.unwrap();
    assert_eq!(found.tickets, B::YEAR_TICKETS);
    assert!(found.differences.is_empty(), "{:?}", found.differences);

    // An export's reading: the tickets each agency numbered and still holds, received in the
    // period (Ecuador's days), each once; the others' and those transferred away never.
    let mut every = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.every_ticket(after).await.unwrap();
        every.extend(page);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    for agency in &agencies {
        for (from, to) in [("2025-01-01", "2026-12-31"), ("2025-03-01", "2025-03-31")] {
            let (from, to) = (day(from), day(to));
            let mut expected: Vec<String> = every
                .iter()
                .filter(|t| {
                    let received = ventanilla_domain::rules::deadline::day_in_ecuador(t.created_at);
                    t.agency == *agency
                        && t.number.as_str().starts_with(&format!("{agency}-"))
                        && received >= from
                        && received <= to
                })
                .map(|t| t.number.to_string())
                .collect();
            let mut read = Vec::new();
            let mut after = None;
            loop {
                let (page, next) = store
                    .received_tickets(agency, from, to, after)
                    .await
                    .unwrap();
                read.extend(page.iter().map(|t| t.number.to_string()));
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            expected.sort();
            read.sort();
            assert!(!expected.is_empty());
            assert_eq!(read, expected, "{agency} from {from} to {to}");
        }
    }

    // What a dashboard reads agrees with the tickets themselves.
    let (mut opened, mut finished, mut open) = (0, 0, 0);
    let mut after = None;
    loop {
        let (page, next) = store.every_ticket(after).await.unwrap();
        for ticket in page.iter().filter(|t| t.agency == agencies[0]) {
            opened += 1;
            if ticket.status.is_finished() {
                finished += i64::from(ticket.milestones.finished.is_some());
            } else {
                open += 1;
            }
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let (tally, items) = store.stats(&agencies[0], first, last).await.unwrap();
    let total = |name: &str| -> i64 {
        tally
            .items()
            .map(|(_, counts)| counts.get(name).copied().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        (
            total(counter::OPENED),
            total(counter::FINISHED),
            total(counter::OPEN)
        ),
        (opened, finished, open)
    );
    assert!(total(counter::FINISHED_LATE) > 0 && total(counter::FINISHED_ON_TIME) > 0);
    assert!(total(counter::REOPENED) > 0 && total(counter::MAIL_FOLLOW_UPS) > 0);
    let rated: i64 = (1..=5).map(|score| total(&counter::rating(score))).sum();
    let ratings = every
        .iter()
        .filter(|t| t.agency == agencies[0] && t.rating.is_some())
        .count();
    assert_eq!(rated, i64::try_from(ratings).unwrap());
    assert!(total(&counter::rating(5)) > 0 && total(&counter::rating(2)) > 0);
    assert!(items > 0 && items <= 2 * 366 + 24, "{items} items");
    // A day's figures only: nothing from before the period.
    let (march, _) = store
        .stats(
            &agencies[0],
            chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
        )
        .await
        .unwrap();
    assert!(march.items().all(|(key, _)| match key.bucket {
        Bucket::Day(day) => day.format("%Y-%m").to_string() == "2025-03",
        Bucket::OpenSince(_) => true,
    }));

    // A figure changed by hand is found, and a rebuild mends it.
    let mut wrong = Tally::default();
    let key = StatsKey {
        agency: agencies[1].clone(),
        queue: QueueName::parse("general").unwrap(),
        bucket: Bucket::Day(chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
    };
    wrong.add(&key, counter::OPENED, 3);
    store.add_stats(&wrong).await.unwrap();
    let found = check(&store).await.unwrap();
    let mut expected = Tally::default();
    expected.add(&key, counter::OPENED, -3);
    assert_eq!(found.differences, expected);
    rebuild(&store).await.unwrap();
    assert!(check(&store).await.unwrap().differences.is_empty());
}

pub trait Backend {
    type Store: TicketStore
        + StatsStore
        + Throttle
        + AgentDirectory
        + AgencyDirectory
        + AuditLog
        + MailQueue
        + 'static;
    /// How many messages the long-thread case writes: ten thousand where writing them is
    /// quick; the stand-in for DynamoDB slows down with a partition's size (each
    /// conditional write scans it), so it gets fewer, longer ones, still over the 1 MB a
    /// Query returns at once.
    const LONG_THREAD: usize;
    /// How many tickets the year of activity opens (each written four or five times).
    const YEAR_TICKETS: usize;
    async fn instance(&self) -> Self::Store;
}

pub struct Sqlite(std::path::PathBuf);

impl Sqlite {
    async fn new() -> Self {
        // A file, not memory: the local server's configuration, WAL included.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("store-"));
        Sqlite(dir.join("ventanilla.sqlite3"))
    }
}

impl Backend for Sqlite {
    type Store = ventanilla_adapters::sqlite::SqliteStore;
    const LONG_THREAD: usize = 10_000;
    const YEAR_TICKETS: usize = 730;
    async fn instance(&self) -> Self::Store {
        ventanilla_adapters::sqlite::SqliteStore::open(&self.0).unwrap()
    }
}

pub struct DynamoDb {
    config: ventanilla_adapters::aws::SdkConfig,
    table: String,
}

impl DynamoDb {
    async fn new() -> Self {
        let backend = DynamoDb {
            config: ventanilla_tests::aws_config().await,
            table: unique("tickets-"),
        };
        backend.instance().await.create_table().await.unwrap();
        backend
    }
}

impl Backend for DynamoDb {
    type Store = ventanilla_adapters::dynamodb::DynamoStore;
    const LONG_THREAD: usize = 500;
    const YEAR_TICKETS: usize = 120;
    async fn instance(&self) -> Self::Store {
        ventanilla_adapters::dynamodb::DynamoStore::new(&self.config, &self.table)
    }
}

/// Generates one `#[tokio::test]` per contract case for a backend.
macro_rules! store_contract {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            store_contract!(@cases $make;
                opens_a_ticket_and_reads_it_back,
                two_hundred_concurrent_openings_get_distinct_numbers,
                sequences_are_per_agency_category_and_year,
                a_stale_version_is_refused,
                concurrent_updates_of_one_version_let_exactly_one_through,
                a_queue_lists_by_last_activity,
                unfinished_tickets_list_by_due_date,
                deadline_warnings_go_once_to_each_agent,
                a_warning_queued_before_a_transfer_is_not_sent,
                an_idempotency_key_returns_the_first_result,
                mail_ids_find_their_ticket_and_arrive_once,
                an_event_joins_the_thread_and_leaves_the_ticket_as_it_was,
                a_long_thread_reads_by_pages,
                unknown_tickets_are_not_found,
                a_requester_finds_their_tickets,
                a_ticket_without_an_address_is_kept_without_one,
                canned_responses_are_kept_per_agency,
                a_thread_keeps_its_order_and_kinds,
                status_changes_follow_the_state_machine,
                throttle_windows_take_atomically_across_instances,
                agents_are_found_by_token_and_a_new_token_retires_the_old,
                the_audit_trail_of_a_ticket_keeps_its_order,
                agencies_saved_at_run_time_are_read_back_and_replaced,
                an_agencys_calendar_days_are_kept_and_count_in_new_terms,
                a_backfill_gives_old_tickets_a_term_and_indexes_them,
                notes_of_an_open_ticket_last_until_they_end,
                an_erasure_replaces_the_ticket_and_its_thread,
                tickets_are_found_by_their_words_until_erased,
                a_mail_queued_with_its_ticket_is_taken_by_one_sender,
                a_failing_mail_waits_then_parks_and_an_admin_requeues_it,
                an_update_queues_its_mail_with_it_or_not_at_all,
                a_years_figures_agree_with_a_rebuild_from_the_tickets,
            );
        }
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                super::$case($make).await;
            }
        )+
    };
}

store_contract!(sqlite, Sqlite::new().await);
store_contract!(dynamodb, DynamoDb::new().await);

/// On DynamoDB a search reads each word's first 500 numbers: a rare word of an old ticket,
/// searched with a word common in the agency, still finds it (looked up in the common
/// word's items).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rare_word_finds_an_old_ticket_past_a_common_words_first_numbers() {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use ventanilla_domain::rules::search::{query_keys, word_key};
    let backend = DynamoDb::new().await;
    let store = backend.instance().await;
    let clock = clock();
    let agency = unique_agency();
    let mut request = new_ticket(&agency, Category::Queja, "x@example.com");
    request.subject = ventanilla_domain::Subject::parse("Certificado de zoología").unwrap();
    let old = open_ticket::open(&store, &clock, &UuidV7, request)
        .await
        .unwrap()
        .into_ticket();
    // 520 newer tickets of the agency that say "certificado", as the store keeps them.
    let client = aws_sdk_dynamodb::Client::new(&backend.config);
    let pk = format!("WORD#{}", word_key(&agency, "certificado"));
    let numbers: Vec<String> = (0..520)
        .map(|n| format!("{agency}-QUE-2099-{n:05}"))
        .collect();
    for chunk in numbers.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|number| {
                let item = std::collections::HashMap::from([
                    ("PK".to_owned(), AttributeValue::S(pk.clone())),
                    ("SK".to_owned(), AttributeValue::S(number.clone())),
                    ("ticket".to_owned(), AttributeValue::S(number.clone())),
                ]);
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(&backend.table, requests)
            .send()
            .await
            .unwrap();
    }
    let found = |text: &'static str| {
        let (store, agency) = (&store, agency.clone());
        async move { store.search(&query_keys(&agency, text), 10).await.unwrap() }
    };
    assert_eq!(
        found("certificado zoologia").await,
        vec![old.number.clone()]
    );
    assert_eq!(
        found("zoologia certificado").await,
        vec![old.number.clone()]
    );
    assert_eq!(found("certificado").await.len(), 10, "the newest, as read");
}

/// An agency saved at run time, its tickets in `general`, 5 business days to answer.
fn test_agency(code: &AgencyCode) -> ventanilla_domain::model::agencies::Agency {
    ventanilla_domain::model::agencies::Agency {
        code: code.clone(),
        name: "Agencia de prueba".into(),
        response_days: 5,
        default_queue: QueueName::parse("general").unwrap(),
        queues_by_category: Default::default(),
        follow_ups: Default::default(),
        special_categories: Vec::new(),
    }
}

/// Tickets and messages are stored deflated in one binary attribute, so a ticket item stays
/// under the 1 KB of one write unit (issue 25); items a deployed table wrote before, as
/// maps, read back the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tickets_are_stored_packed_and_items_written_before_as_maps_still_read() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let backend = DynamoDb::new().await;
    let store = backend.instance().await;
    let agency = unique_agency();
    let mut request = new_ticket(&agency, Category::Queja, "maria.jose.perez@example.com");
    request.description = Body::parse(&"Necesito el certificado. ".repeat(40)).unwrap();
    let opened = open_ticket::open(&store, &clock(), &UuidV7, request)
        .await
        .unwrap()
        .into_ticket();
    let (ticket, thread) = store.thread(&opened.number).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&backend.config);
    let items = client
        .query()
        .table_name(&backend.table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("TICKET#{}", ticket.number)),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 1 + thread.len());
    // AWS's rule: the names' and the values' bytes (numbers about one byte per two digits).
    let size = |item: &std::collections::HashMap<String, AttributeValue>| -> usize {
        item.iter()
            .map(|(name, value)| {
                name.len()
                    + match value {
                        AttributeValue::S(text) => text.len(),
                        AttributeValue::B(bytes) => bytes.as_ref().len(),
                        AttributeValue::N(number) => number.len() / 2 + 2,
                        other => panic!("unexpected attribute {other:?}"),
                    }
            })
            .sum()
    };
    for item in &items {
        assert!(
            matches!(item.get("z"), Some(AttributeValue::B(_))),
            "{item:?}"
        );
        assert!(!item.contains_key("ticket") && !item.contains_key("message"));
    }
    let meta = items
        .iter()
        .find(|i| i["SK"] == AttributeValue::S("META".into()))
        .unwrap();
    assert!(size(meta) < 1024, "one write unit: {} bytes", size(meta));
    // The same items as the maps written before packing.
    for mut item in items {
        item.remove("z");
        let AttributeValue::S(sk) = &item["SK"] else {
            panic!()
        };
        if sk == "META" {
            item.insert(
                "ticket".into(),
                serde_dynamo::to_attribute_value(&ticket).unwrap(),
            );
        } else {
            let message = thread
                .iter()
                .find(|m| sk.ends_with(&m.id.to_string()))
                .unwrap();
            item.insert(
                "message".into(),
                serde_dynamo::to_attribute_value(message).unwrap(),
            );
        }
        client
            .put_item()
            .table_name(&backend.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let (read_ticket, read_thread) = store.thread(&opened.number).await.unwrap();
    assert_eq!(read_ticket, ticket);
    assert_eq!(read_thread, thread);
    assert_eq!(store.ticket(&opened.number).await.unwrap(), ticket);
}
