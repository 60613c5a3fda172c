//! Issue 24: the dashboard of a year for an agency with 1,000,000 tickets, and the export of a
//! year of 100,000 tickets, on SQLite. The
//! figures are what a million ticket writes would leave (each ticket's
//! `rules::stats::contribution`, summed and stored, as `stats rebuild` does; the contract
//! tests show the writes keep exactly that); writing the million tickets themselves would
//! only take the setup longer. The dashboard then goes through agent-api's router (JSON and
//! the console's charts), and the public statistics through ticket-status's, each on a new
//! router so that its ten-minute copy does not answer.
//!
//! Prints how many items a year's dashboard reads, their size as DynamoDB items, and the read
//! units that size costs (docs/COST.md).
//!
//! The export's 100,000 tickets are opened for real (`open_ticket::open`, spread over 2025)
//! and written to a file by agent-api's router, as CSV and as XLSX; the peak memory of the
//! process is printed after each.
//!
//! `cargo bench -p ventanilla-bench --bench reports`

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, NaiveDate};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::UuidV7;
use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::{AccessLinks, Desk, Settings, Site};
use ventanilla_domain::fakes::{ManualClock, MemoryBlobs, MemoryMailer};
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::model::milestones::{Milestones, Reached};
use ventanilla_domain::ports::StatsStore;
use ventanilla_domain::rules::stats::{Tally, contribution};
use ventanilla_domain::{
    AgencyCode, AgentId, Category, Channel, Choice, Status, Ticket, TicketNumber, Timestamp,
};

const TICKETS: usize = 1_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A ticket of MDT received in 2025, `i` spreading it over the year, the agency's queues,
/// the categories and channels; four in five finished, most within their term.
fn ticket(i: usize, template: &Ticket, queues: &[ventanilla_domain::QueueName]) -> Ticket {
    let minutes = i64::try_from(i * (365 * 24 * 60) / TICKETS).unwrap_or(0);
    let created = Timestamp::parse("2025-01-01T05:00:00Z")
        .expect("a timestamp")
        .plus(Duration::minutes(minutes));
    let agent = AgentId::parse(&format!("agente-{}", i % 25)).expect("an id");
    let finished = !i.is_multiple_of(5);
    let days = u32::try_from(i % 23).unwrap_or(0);
    let reached = |after: i64, days: u32| Reached {
        at: created.plus(Duration::days(after)),
        business_days: days,
        on_time: Some(days <= 15),
        by: Some(agent.clone()),
    };
    Ticket {
        number: TicketNumber::new(&template.agency, "REQ", 2025, i as u64 + 1),
        queue: queues[i % queues.len()].clone(),
        category: Category::ALL[i % Category::ALL.len()],
        channel: Some(Channel::ALL[i % Channel::ALL.len()]),
        status: if finished {
            Status::Closed
        } else {
            [Status::New, Status::Open, Status::WaitingOnCitizen][i % 3]
        },
        assignee: (!i.is_multiple_of(4)).then(|| agent.clone()),
        created_at: created,
        last_activity: created,
        milestones: Milestones {
            first_response: (!i.is_multiple_of(10)).then(|| reached(1, days / 3)),
            finished: finished.then(|| reached(i64::from(days) * 7 / 5, days)),
            reopened: u32::from(i.is_multiple_of(31)),
            follow_ups: u32::try_from(i % 3).unwrap_or(0),
            mail_follow_ups: u32::from(i.is_multiple_of(6)),
        },
        ..template.clone()
    }
}

/// DynamoDB's size of a figures item (attribute names and values; a number is about half its
/// digits plus one byte).
fn item_bytes(
    key: &ventanilla_domain::rules::stats::StatsKey,
    counts: &ventanilla_domain::rules::stats::Counts,
) -> usize {
    let pk = format!("STATS#{}", key.agency).len();
    let sk = key.bucket.code().len() + 1 + key.queue.as_str().len();
    let numbers: usize = counts
        .iter()
        .map(|(name, value)| name.len() + value.to_string().len().div_ceil(2) + 1)
        .sum();
    2 + pk + 2 + sk + numbers
}

async fn call(
    router: Router,
    path: &str,
    token: Option<&str>,
    accept: &str,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::get(path).header("accept", accept);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = router
        .oneshot(request.body(Body::empty()).expect("a request"))
        .await
        .expect("an answer");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, body.to_vec())
}

fn figures(c: &mut Criterion) {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("ventanilla-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let store = SqliteStore::open(&dir.join("ventanilla.sqlite3")).expect("a database");
    let settings = Settings::parse(DEFAULT_CONFIG).expect("the default configuration");
    let mdt = AgencyCode::parse("MDT").expect("an agency");
    let queues = settings.queues_of(&mdt);

    // A template ticket, opened for real, whose agency and requester the million share.
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-12-31T20:00:00Z").expect("a timestamp"),
    ));
    let template = rt.block_on(async {
        let new = ventanilla_tests_free_ticket(&mdt);
        ventanilla_app::open_ticket::open(&store, &*clock, &UuidV7, new)
            .await
            .expect("a ticket")
            .into_ticket()
    });
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    for i in 0..TICKETS {
        tally.merge(&contribution(&ticket(i, &template, &queues)), 1);
    }
    let counted = started.elapsed();
    rt.block_on(store.add_stats(&tally))
        .expect("the figures stored");
    eprintln!(
        "{TICKETS} tickets counted in {counted:.1?}, figures stored in {:.1?}",
        started.elapsed() - counted
    );

    let (token, site) = rt.block_on(async {
        let (_, token) = ventanilla_app::agents::create(
            &store,
            &*clock,
            AgentId::parse("supervisora").expect("an id"),
            "Supervisora".into(),
            mdt.clone(),
            Role::Supervisor,
            None,
        )
        .await
        .expect("an agent");
        let site = Site {
            settings: settings.clone(),
            links: AccessLinks::new(&[42; 32]).expect("a secret"),
            clock: clock.clone(),
            ids: Arc::new(UuidV7),
        };
        (token.expose().to_owned(), site)
    });
    let agents = agent_api::router(Arc::new(Desk {
        site: site.clone(),
        store: store.clone(),
        blobs: MemoryBlobs::new("http://127.0.0.1"),
        mailer: MemoryMailer::default(),
        identifiers: (),
    }));
    let status_router = || {
        ticket_status::router(Arc::new(Desk {
            site: site.clone(),
            store: store.clone(),
            blobs: MemoryBlobs::new("http://127.0.0.1"),
            mailer: (),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a secret"),
        }))
    };

    // What a year's dashboard reads.
    let (status, body) = rt.block_on(call(
        agents.clone(),
        "/api/v1/agent/dashboard?period=anio",
        Some(&token),
        "application/json",
    ));
    assert_eq!(status, StatusCode::OK);
    let dashboard: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        dashboard["totals"]["opened"],
        TICKETS + 1,
        "every ticket counted, the template too"
    );
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).expect("a day");
    let last = NaiveDate::from_ymd_opt(2025, 12, 31).expect("a day");
    let (read, items) = rt
        .block_on(store.stats(&mdt, first, last))
        .expect("figures");
    let bytes: usize = read
        .items()
        .map(|(key, counts)| item_bytes(key, counts))
        .sum();
    // A Query returns up to 1 MB a page; each page costs its size in 4 KB units, halved when
    // eventually consistent (the adapter's reads are).
    let pages = bytes.div_ceil(1024 * 1024);
    let units = (bytes.div_ceil(4096) as f64) / 2.0;
    eprintln!(
        "a year's dashboard reads {items} items ({} per day, queues of MDT: {}), {:.0} KB as DynamoDB items, about {units:.0} read units in {pages} page(s) per Query",
        dashboard["items_read"],
        queues.len(),
        bytes as f64 / 1024.0
    );

    c.bench_function("reports/dashboard_year_json_1m_tickets", |b| {
        b.iter(|| {
            let (status, _) = rt.block_on(call(
                agents.clone(),
                "/api/v1/agent/dashboard?period=anio",
                Some(&token),
                "application/json",
            ));
            assert_eq!(status, StatusCode::OK);
        });
    });
    c.bench_function("reports/dashboard_year_charts_1m_tickets", |b| {
        b.iter(|| {
            let (status, body) = rt.block_on(call(
                agents.clone(),
                "/api/v1/agent/dashboard?period=anio",
                Some(&token),
                "text/html",
            ));
            assert_eq!(status, StatusCode::OK);
            assert!(body.starts_with(b"<div class=\"dashboard\""));
        });
    });
    c.bench_function("reports/public_statistics_year_uncached", |b| {
        b.iter_batched(
            status_router,
            |router| {
                let (status, _) = rt.block_on(call(
                    router,
                    "/api/v1/stats?year=2025",
                    None,
                    "application/json",
                ));
                assert_eq!(status, StatusCode::OK);
            },
            BatchSize::SmallInput,
        );
    });

    // A year of 100,000 tickets, exported.
    let started = std::time::Instant::now();
    rt.block_on(async {
        let step = Duration::milliseconds(365 * 24 * 3600 * 1000 / EXPORTED as i64);
        let clock =
            ManualClock::new(Timestamp::parse("2025-01-01T05:00:00Z").expect("a timestamp"));
        for _ in 0..EXPORTED {
            ventanilla_app::open_ticket::open(
                &store,
                &clock,
                &UuidV7,
                ventanilla_tests_free_ticket(&mdt),
            )
            .await
            .expect("a ticket");
            clock.advance(step);
        }
    });
    eprintln!(
        "{EXPORTED} tickets opened in {:.1?}; peak memory so far {}",
        started.elapsed(),
        peak_memory()
    );
    let year =
        serde_json::json!({"period": "personalizado", "from": "2025-01-01", "to": "2025-12-31"});
    let mut group = c.benchmark_group("reports");
    group.sample_size(10);
    for format in ["csv", "xlsx"] {
        let mut body = year.clone();
        body["format"] = format.into();
        let body = body.to_string();
        let export = || {
            let (status, answer) =
                rt.block_on(post(agents.clone(), "/api/v1/agent/exports", &token, &body));
            assert_eq!(status, StatusCode::CREATED);
            let answer: Value = serde_json::from_slice(&answer).expect("JSON");
            assert_eq!(answer["rows"], EXPORTED + 1, "the template ticket too");
        };
        export();
        eprintln!(
            "after a {format} export of {EXPORTED} tickets: {}",
            peak_memory()
        );
        group.bench_function(format!("export_year_100k_tickets_{format}"), |b| {
            b.iter(export)
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

const EXPORTED: usize = 100_000;

/// The process's peak resident memory (VmHWM), as Linux reports it.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn post(router: Router, path: &str, token: &str, body: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_owned()))
        .expect("a request");
    let response = router.oneshot(request).await.expect("an answer");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, body.to_vec())
}

/// A citizen's request to MDT, for the template ticket.
fn ventanilla_tests_free_ticket(agency: &AgencyCode) -> ventanilla_app::open_ticket::NewTicket {
    use ventanilla_domain::model::ticket::Requester;
    use ventanilla_domain::{Body as Text, Email, PersonName, QueueName, Subject};
    ventanilla_app::open_ticket::NewTicket {
        agency: agency.clone(),
        queue: QueueName::parse("atencion-ciudadana").expect("a queue"),
        category: Category::Requerimiento,
        requester: Requester {
            name: PersonName::parse("Rosa Quishpe").expect("a name"),
            email: Some(Email::parse("rosa@example.com").expect("an address")),
            id_document: None,
            phone: None,
            nationality: None,
            gender: None,
            user_type: None,
        },
        subject: Subject::parse("Consulta").expect("a subject"),
        description: Text::parse("Consulta.").expect("a text"),
        attachments: Vec::new(),
        mail: None,
        idempotency_key: None,
        linked_to: None,
        channel: Channel::Formulario,
        acknowledgement: None,
        alert: None,
        term: None,
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = figures
}
criterion_main!(benches);
