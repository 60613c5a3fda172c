//! The whole inbound mail pipeline on arbitrary bytes: `Desk::accept` stores the raw mail,
//! reads it (mail-parser), classifies it, threads it, splits the reply, stores the
//! attachments, opens a ticket or appends a follow-up, and sends the acknowledgement, on
//! SQLite in memory and the in-memory mail and blobs of `ventanilla_domain::fakes` (the embedded folder and outbox
//! adapters fsync a file per blob or mail, which would make fuzzing slow).
//!
//! A bug is: a panic anywhere, `accept` returning an error (on in-memory adapters the store
//! and the blobs cannot fail), or the same mail delivered twice opening or joining a ticket
//! twice when it has a Message-ID (the pipeline promises to deduplicate on it; see
//! `shared/app/src/receive_mail.rs`).
//!
//! `bash fuzz/run.sh [SECONDS] [CORPUS_DIR]` runs it, seeded from the `.eml`, `.raw` and `.txt`
//! files of the shared `02_mime_emails` corpus.

#![no_main]

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ventanilla_app::Desk;
use libfuzzer_sys::fuzz_target;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_domain::rules::mail_in::support_address::Outcome;
use ventanilla_domain::rules::mail_in::read::read;
use ventanilla_domain::fakes::{MemoryBlobs, MemoryMailer};
use ventanilla_domain::ports::Clock;
use ventanilla_adapters::system::SystemClock;
use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::{AccessLinks, Settings, Site};

/// The store is replaced by an empty one after this many inputs: every input may open a
/// ticket with up to 256 KB of text, and a store that keeps them all grows by gigabytes
/// over a run (and makes a finding depend on a long history no one can replay). The
/// in-memory store holds at most 1 GiB (`SqliteStore::in_memory`): 500 tickets of 256 KB,
/// with their queued mails and word keys, stay well under it.
const INPUTS_PER_STORE: u64 = 500;

type FuzzDesk = Desk<SqliteStore, MemoryBlobs, MemoryMailer>;

struct Fuzz {
    runtime: tokio::runtime::Runtime,
    /// The desk and how many inputs its store has seen.
    desk: Mutex<(FuzzDesk, u64)>,
}

fn fuzz() -> &'static Fuzz {
    static FUZZ: OnceLock<Fuzz> = OnceLock::new();
    FUZZ.get_or_init(|| {
        tolerate_caught_mail_parser_panics();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let desk = Desk {
            site: Site {
                settings: Settings::parse(DEFAULT_CONFIG).expect("the default configuration"),
                links: AccessLinks::new(&[5; 32]).expect("a 32-byte secret"),
                clock,
                ids: Arc::new(ventanilla_adapters::system::UuidV7),
            },
            store: SqliteStore::in_memory().expect("an in-memory database"),
            blobs: MemoryBlobs::new("http://127.0.0.1:3000"),
            mailer: MemoryMailer::default(),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).expect("a 32-byte secret"),
        };
        Fuzz {
            // The store's calls go to the blocking pool, which a current-thread runtime has.
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            desk: Mutex::new((desk, 0)),
        }
    })
}

/// libfuzzer-sys's panic hook aborts on every panic, before any `catch_unwind` runs. `read`
/// catches mail-parser's debug-only panics on purpose (see `parse` in
/// `shared/domain/src/rules/mail_in/read.rs`), so those pass through this hook quietly (each place is
/// reported once). One that escapes is still a crash: libfuzzer-sys aborts when its own
/// `catch_unwind` around the target sees it.
fn tolerate_caught_mail_parser_panics() {
    let libfuzzer_hook = std::panic::take_hook();
    let seen = Mutex::new(HashSet::new());
    std::panic::set_hook(Box::new(move |info| {
        let Some(location) = info
            .location()
            .filter(|l| l.file().contains("/mail-parser-"))
        else {
            return libfuzzer_hook(info);
        };
        let place = format!("{}:{}", location.file(), location.line());
        if seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(place)
        {
            eprintln!("mail-parser panicked (read catches it; reported once): {info}");
        }
    }));
}

/// Whether the outcome stored the mail on a ticket under its ids.
fn stored(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Opened { .. } | Outcome::HeldForReview { .. } | Outcome::FollowUp { .. }
    )
}

fuzz_target!(|data: &[u8]| {
    let fuzz = fuzz();
    let mut guard = fuzz.desk.lock().unwrap_or_else(PoisonError::into_inner);
    let (desk, inputs) = &mut *guard;
    *inputs += 1;
    if *inputs > INPUTS_PER_STORE {
        desk.store = SqliteStore::in_memory().expect("an in-memory database");
        *inputs = 1;
    }
    let has_message_id = read(data).is_ok_and(|mail| mail.message_id.is_some());
    let (first, second) = fuzz.runtime.block_on(async {
        let first = desk
            .accept(data.to_vec())
            .await
            .unwrap_or_else(|e| panic!("accept failed on in-memory adapters: {e:?}"));
        let second = desk
            .accept(data.to_vec())
            .await
            .unwrap_or_else(|e| panic!("second accept failed on in-memory adapters: {e:?}"));
        (first, second)
    });
    desk.blobs.clear();
    if has_message_id && stored(&first) {
        match &second {
            Outcome::Duplicate { ticket } if Some(ticket) == first.ticket() => {}
            other => panic!(
                "the same mail (with a Message-ID) delivered twice: {} on {:?}, then {} on {:?}",
                first.as_str(),
                first.ticket(),
                other.as_str(),
                other.ticket()
            ),
        }
    }
});
