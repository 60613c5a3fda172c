//! The mail queue's kill test (issue 20): the real `ventanilla-local` binary, under parallel
//! ticket openings, is killed with SIGKILL at random moments and started again on the same
//! data, round after round; then it runs until its sweeper has sent what the killed ones
//! left. Every stored ticket has exactly one acknowledgement in the outbox, none twice,
//! and every ticket a client was told about is stored. It runs the release build the test
//! command makes (`VENTANILLA_LOCAL_RELEASE`), else the test build; `KILL_ROUNDS` makes the
//! long run of docs/RELIABILITY.md (`infra/bench/kill_test.sh`).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

const CLIENTS: usize = 8;

/// One opening; the ticket's number when the server answered 201, `None` when the server
/// died under it (or answered anything else, which the caller counts).
fn open(address: &str, email: &str) -> Result<String, String> {
    let body = common::form(email).to_string();
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/tickets HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let (head, json) = answer.split_once("\r\n\r\n").ok_or("no answer")?;
    if !head.starts_with("HTTP/1.1 201") {
        return Err(head.lines().next().unwrap_or("").to_owned());
    }
    let json: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok(json["number"].as_str().ok_or("no number")?.to_owned())
}

/// The header `name` of a raw mail (first line only: ours are short).
fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
}

fn query_count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn killed_servers_leave_every_ticket_with_exactly_one_acknowledgement() {
    let rounds: usize = std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // One source opens everything, to addresses of their own; a killed writer's mail is
    // the sweeper's two seconds later.
    let config = common::config_with(
        dir.path(),
        &[
            (
                "openings_per_source_per_hour = 10",
                "openings_per_source_per_hour = 10000000",
            ),
            ("lease_seconds = 120", "lease_seconds = 2"),
            ("sweep_seconds = 30", "sweep_seconds = 1"),
        ],
    );
    let args = ["--config".as_ref(), config.as_os_str()];
    let program = common::release_or_test_binary();

    let mut told = BTreeSet::new();
    let mut unanswered = 0;
    let mut rng = rand::rng();
    let begun = Instant::now();
    for round in 0..rounds {
        let server = common::start_program(&program, &data, &args);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (address, stop) = (server.http.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let (mut opened, mut failed) = (Vec::new(), 0);
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let email = format!("vecino.{round}.{client}.{n}@example.com");
                        match open(&address, &email) {
                            Ok(number) => opened.push(number),
                            Err(_) => {
                                failed += 1;
                                // The server is gone: nothing more to open this round.
                                if failed > 3 {
                                    break;
                                }
                            }
                        }
                    }
                    (opened, failed)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            let (opened, failed) = client.join().unwrap();
            told.extend(opened);
            unanswered += failed.min(1);
        }
    }

    // Started once more: the sweeper sends what the killed servers left pending.
    let server = common::start_program(&program, &data, &args);
    let db = rusqlite::Connection::open_with_flags(
        data.join("ventanilla.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let drained = Instant::now();
    while query_count(
        &db,
        "SELECT count(*) FROM mail_queue WHERE state = 'pending'",
    ) > 0
    {
        assert!(
            drained.elapsed() < Duration::from_secs(120),
            "the sweeper did not drain the queue"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill();

    let stored: BTreeSet<String> = db
        .prepare("SELECT number FROM tickets")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut acknowledgements: BTreeMap<String, usize> = BTreeMap::new();
    let mut message_ids = BTreeSet::new();
    let mut mails = 0;
    for entry in std::fs::read_dir(data.join("outbox")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        mails += 1;
        let subject = header(&raw, "Subject").unwrap_or("");
        let number = subject
            .strip_prefix('[')
            .and_then(|s| s.split_once(']'))
            .map(|(n, _)| n.to_owned())
            .unwrap_or_else(|| panic!("not an acknowledgement: {}", path.display()));
        *acknowledgements.entry(number).or_default() += 1;
        let id = header(&raw, "Message-ID").unwrap().to_owned();
        assert!(
            message_ids.insert(id.clone()),
            "{id} is in the outbox twice"
        );
    }
    let twice: Vec<_> = acknowledgements.iter().filter(|(_, n)| **n > 1).collect();
    let missing: Vec<_> = stored
        .iter()
        .filter(|n| !acknowledgements.contains_key(*n))
        .collect();
    let lost: Vec<_> = told.difference(&stored).collect();
    // Sent again with the same Message-ID (a sender killed after the send, before its
    // outcome was saved): at most one per sender in flight at each kill.
    let sent_again = std::fs::read_to_string(data.join("outbox.ids/sent-again"))
        .map(|log| log.lines().count())
        .unwrap_or(0);
    // Sent by a sweeper: their writer was killed between its write and its send.
    let swept = query_count(
        &db,
        "SELECT count(*) FROM mail_queue WHERE json_extract(mail, '$.attempts') > 1",
    );
    eprintln!(
        "kill test: {rounds} rounds of SIGKILL, {} tickets stored ({} answered 201, {} \
         requests cut short), {mails} mails in the outbox ({swept} sent by the sweeper after a \
         kill, {sent_again} sent a second time with the same Message-ID), {} acknowledged \
         twice, {} without one, {} told but lost; {:.1} s",
        stored.len(),
        told.len(),
        unanswered,
        twice.len(),
        missing.len(),
        lost.len(),
        begun.elapsed().as_secs_f64()
    );
    assert!(stored.len() >= rounds, "the openings ran");
    assert_eq!(twice, Vec::<(&String, &usize)>::new(), "acknowledged twice");
    assert_eq!(
        missing,
        Vec::<&String>::new(),
        "stored without an acknowledgement"
    );
    assert_eq!(lost, Vec::<&String>::new(), "answered 201 but not stored");
    assert_eq!(mails, stored.len(), "one mail per ticket");
    // A second send happens only when a kill cut a sender between SES and its record, never
    // from two senders racing: at most the senders in flight at each kill.
    assert!(
        sent_again <= rounds * (CLIENTS + 1),
        "{sent_again} sent again in {rounds} kills"
    );
    assert_eq!(
        query_count(
            &db,
            "SELECT count(*) FROM mail_queue WHERE state = 'sent' \
             AND json_extract(mail, '$.notice.kind') = 'acknowledgement'"
        ),
        i64::try_from(stored.len()).unwrap(),
        "every queued acknowledgement is marked sent"
    );
}
