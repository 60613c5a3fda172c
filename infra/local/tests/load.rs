//! Concurrent load on the real `ventanilla-local` binary: ticket openings over HTTP, status
//! lookups and mail deliveries over SMTP, all at once from several clients, bounded in
//! count. Every opened ticket gets a number of its own with no gap in its sequence, every
//! answer is a success, and every delivered mail is on its ticket exactly once.
//! (docs/RELIABILITY.md has the figures of a longer run.)

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::{config_with, form, http, lookup, send_mail, start_with};

const CLIENTS: usize = 8;
const OPENINGS_PER_CLIENT: usize = 25;
const LOOKUPS_PER_CLIENT: usize = 25;
const NEW_MAILS_PER_CLIENT: usize = 10;
const FOLLOW_UPS_PER_CLIENT: usize = 5;
const SUPPORT: &str = "soporte@ventanilla.example.gob.ec";
const REQUESTER: &str = "carmen.guaman@example.com";

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    opened: Vec<(String, String)>,
    mailed: Vec<(String, String)>,
    follow_ups: Vec<String>,
}

/// The sequence number of a ticket, and the sequence it belongs to.
fn sequence(number: &str) -> (String, u32) {
    let (prefix, seq) = number.rsplit_once('-').unwrap();
    (prefix.to_owned(), seq.parse().unwrap())
}

#[test]
fn concurrent_openings_lookups_and_mails_lose_nothing_and_duplicate_nothing() {
    let data = tempfile::tempdir().unwrap();
    // One source sends everything here: the per-source limits are lifted.
    let config = config_with(
        data.path(),
        &[
            (
                "openings_per_source_per_hour = 10",
                "openings_per_source_per_hour = 100000",
            ),
            (
                "answers_per_sender_per_day = 5",
                "answers_per_sender_per_day = 100000",
            ),
        ],
    );
    let server = start_with(
        &data.path().join("data"),
        &["--config".as_ref(), config.as_os_str()],
    );
    let (status, shared) = http(
        &server.http,
        "POST",
        "/api/v1/tickets",
        Some(&form(REQUESTER)),
    );
    assert_eq!(status, 201, "{shared}");
    let shared = shared["number"].as_str().unwrap().to_owned();

    let start = Arc::new(Barrier::new(CLIENTS));
    let begun = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (http_address, smtp) = (server.http.clone(), server.smtp.clone());
            let (start, shared) = (Arc::clone(&start), shared.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                start.wait();
                for n in 0..OPENINGS_PER_CLIENT.max(LOOKUPS_PER_CLIENT) {
                    if n < OPENINGS_PER_CLIENT {
                        let email = format!("vecino.{client}.{n}@example.com");
                        let (status, opened) =
                            http(&http_address, "POST", "/api/v1/tickets", Some(&form(&email)));
                        assert_eq!(status, 201, "{opened}");
                        seen.opened
                            .push((email, opened["number"].as_str().unwrap().to_owned()));
                    }
                    if n < LOOKUPS_PER_CLIENT {
                        let found = lookup(&http_address, REQUESTER, &shared);
                        assert_eq!(found["number"], shared.as_str());
                    }
                    if n < NEW_MAILS_PER_CLIENT {
                        let from = format!("correo.{client}.{n}@example.com");
                        let raw = format!(
                            "From: {from}\r\nTo: {SUPPORT}\r\nSubject: Consulta {client}-{n}\r\n\
                             Message-ID: <carga.{client}.{n}@example.com>\r\n\
                             Content-Type: text/plain; charset=utf-8\r\n\r\nConsulta número {client}-{n}.\r\n"
                        );
                        let answer = send_mail(&smtp, &from, SUPPORT, &raw);
                        assert!(answer.contains("new-ticket"), "{answer}");
                        let number = answer.split_whitespace().last().unwrap().to_owned();
                        seen.mailed.push((from, number));
                    }
                    if n < FOLLOW_UPS_PER_CLIENT {
                        let text = format!("Dato adicional {client}-{n}.");
                        let raw = format!(
                            "From: {REQUESTER}\r\nTo: {SUPPORT}\r\nSubject: Re: [{shared}] Consulta\r\n\
                             Message-ID: <seguimiento.{client}.{n}@example.com>\r\n\
                             Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                        );
                        let answer = send_mail(&smtp, REQUESTER, SUPPORT, &raw);
                        assert!(answer.contains(&format!("follow-up {shared}")), "{answer}");
                        seen.follow_ups.push(text);
                    }
                }
                seen
            })
        })
        .collect();
    let seen: Vec<Seen> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = begun.elapsed();

    let opened: Vec<_> = seen.iter().flat_map(|s| s.opened.clone()).collect();
    let mailed: Vec<_> = seen.iter().flat_map(|s| s.mailed.clone()).collect();
    let follow_ups: Vec<_> = seen.iter().flat_map(|s| s.follow_ups.clone()).collect();
    let requests = opened.len() + CLIENTS * LOOKUPS_PER_CLIENT + mailed.len() + follow_ups.len();
    eprintln!(
        "{} openings, {} lookups, {} new mails, {} follow-ups from {CLIENTS} clients in {:.2} s ({:.0} requests/s, debug build)",
        opened.len(),
        CLIENTS * LOOKUPS_PER_CLIENT,
        mailed.len(),
        follow_ups.len(),
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );

    // Numbers: each ticket its own, and every sequence without a gap.
    let mut numbers: Vec<String> = opened
        .iter()
        .chain(&mailed)
        .map(|(_, n)| n.clone())
        .collect();
    numbers.push(shared.clone());
    let distinct: BTreeSet<_> = numbers.iter().cloned().collect();
    assert_eq!(distinct.len(), numbers.len(), "a number was given twice");
    let mut sequences: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for number in &numbers {
        let (prefix, seq) = sequence(number);
        sequences.entry(prefix).or_default().push(seq);
    }
    for (prefix, mut seqs) in sequences {
        seqs.sort_unstable();
        let expected: Vec<u32> = (1..=u32::try_from(seqs.len()).unwrap()).collect();
        assert_eq!(seqs, expected, "{prefix}: a gap or a repeat");
    }
    // Every mail on its ticket, once.
    for (from, number) in &mailed {
        let ticket = lookup(&server.http, from, number);
        assert_eq!(ticket["messages"].as_array().unwrap().len(), 1, "{ticket}");
    }
    let ticket = lookup(&server.http, REQUESTER, &shared);
    let texts: Vec<&str> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().trim())
        .collect();
    assert_eq!(texts.len(), 1 + follow_ups.len(), "{ticket}");
    for text in &follow_ups {
        assert_eq!(
            texts.iter().filter(|t| *t == text).count(),
            1,
            "{text} on the ticket {} times",
            texts.iter().filter(|t| *t == text).count()
        );
    }
}
