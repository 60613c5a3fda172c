//! Every raw mail of the shared corpora (`02_mime_emails`, the stored messages of
//! `04_ses_events`) goes through the whole inbound pipeline (the inbound-mail function's desk
//! on the embedded adapters) without a panic or an error, and what became of each is
//! written to `$CARGO_TARGET_TMPDIR/mail-classification.tsv` and summarised on stdout. Every
//! SES receipt event of `04_ses_events` is handled as the function would. The curated mails
//! get the kind their source expects.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ventanilla_adapters::folder::FolderBlobs;
use ventanilla_adapters::outbox::OutboxMailer;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::SystemClock;
use ventanilla_app::Desk;
use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::{AccessLinks, Settings, Site};
use ventanilla_domain::BlobKey;
use ventanilla_domain::ports::{Blob, BlobStore, Clock};
use ventanilla_domain::rules::mail_in::kind::MailKind;
use ventanilla_domain::rules::mail_in::read::read;
use ventanilla_domain::rules::mail_in::support_address::Outcome;

type LocalDesk = Desk<SqliteStore, FolderBlobs, OutboxMailer>;

fn desk(dir: &Path) -> LocalDesk {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Desk {
        site: Site {
            settings: Settings::parse(DEFAULT_CONFIG).unwrap(),
            links: AccessLinks::new(&[5; 32]).unwrap(),
            clock,
            ids: Arc::new(ventanilla_adapters::system::UuidV7),
        },
        store: SqliteStore::open(&dir.join("ventanilla.sqlite3")).unwrap(),
        blobs: FolderBlobs::new(dir.join("blobs"), "http://127.0.0.1:3000", vec![1; 32]),
        mailer: OutboxMailer::new(dir.join("outbox")),
        identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
    }
}

fn raw_mails(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            raw_mails(&path, into);
        } else if path
            .extension()
            .is_some_and(|e| e == "eml" || e == "raw" || e == "txt")
        {
            into.push(path);
        }
    }
}

/// What a person reading the report wants to know: automatic mail by its kind.
fn label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Automatic { kind, .. } => kind.as_str(),
        other => other.as_str(),
    }
}

#[tokio::test]
async fn every_corpus_mail_goes_through_the_pipeline_and_is_classified() {
    let root = ventanilla_tests::testdata_dir();
    let mut files = Vec::new();
    raw_mails(&root.join("02_mime_emails"), &mut files);
    raw_mails(&root.join("04_ses_events"), &mut files);
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path());
    let mut table = String::from("kind\toutcome\tfile\n");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut answered_robots = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let kind = read(&bytes).map_or("unreadable", |mail| mail.kind.as_str());
        let automatic = read(&bytes).is_ok_and(|mail| mail.kind.is_automatic());
        let outcome = desk
            .accept(bytes)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if automatic && matches!(outcome, Outcome::Opened { .. } | Outcome::FollowUp { .. }) {
            answered_robots.push(file.display().to_string());
        }
        *counts.entry(label(&outcome)).or_default() += 1;
        *kinds.entry(kind).or_default() += 1;
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        table.push_str(&format!("{kind}\t{}\t{name}\n", label(&outcome)));
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mail-classification.tsv");
    std::fs::write(&out, &table).unwrap();
    let acknowledgements = std::fs::read_dir(dir.path().join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "{} mails through the pipeline\n  kinds: {kinds:?}\n  outcomes: {counts:?}\n  \
         acknowledgements sent: {acknowledgements}\n  each one in {}",
        files.len(),
        out.display()
    );
    assert!(files.len() > 400, "the corpus is smaller than expected");
    assert!(kinds.get("person").copied().unwrap_or(0) > 200);
    assert!(
        answered_robots.is_empty(),
        "automatic mail opened or joined a ticket: {answered_robots:#?}"
    );
    let opened = counts.get("new-ticket").copied().unwrap_or(0);
    assert!(opened > 100, "{counts:?}");
    assert!(
        acknowledgements <= opened,
        "more acknowledgements than new tickets"
    );
}

/// Every SES receipt event of the corpus (Lambda and S3 actions; the SNS ones carry the mail
/// in the notification, an action this system does not use) is handled as the function
/// handles it, with a stored message where its S3 action would have put it.
#[tokio::test]
async fn every_ses_receipt_event_of_the_corpus_is_handled() {
    let root = ventanilla_tests::testdata_dir().join("04_ses_events");
    let raw =
        std::fs::read(root.join("arithmetric-aws-lambda-ses-forwarder/test/assets/message.txt"))
            .unwrap();
    let mut files = Vec::new();
    fn jsons(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                jsons(&path, into);
            } else if path.extension().is_some_and(|e| e == "json") {
                into.push(path);
            }
        }
    }
    jsons(&root, &mut files);
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path());
    let mut handled = Vec::new();
    for file in files {
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Some(records) = event["Records"].as_array() else {
            continue;
        };
        let receipts: Vec<_> = records
            .iter()
            .filter(|r| r["eventSource"] == "aws:ses" && r["ses"]["content"].is_null())
            .collect();
        if receipts.is_empty() || receipts.len() != records.len() {
            continue;
        }
        for record in &receipts {
            let ses = &record["ses"];
            let action = &ses["receipt"]["action"];
            let key = if action["type"] == "S3" {
                action["objectKey"].as_str().unwrap().to_owned()
            } else {
                format!("inbound/{}", ses["mail"]["messageId"].as_str().unwrap())
            };
            let blob = Blob {
                bytes: raw.clone(),
                content_type: "message/rfc822".into(),
            };
            desk.blobs
                .put(&BlobKey::parse(&key).unwrap(), blob)
                .await
                .unwrap();
        }
        let result = inbound_mail::ses::handle_ses_event(&desk, event)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        println!("{name}: {result:?}");
        handled.push(name);
    }
    assert!(
        handled.len() >= 6,
        "fewer receipt events than the corpus holds: {handled:?}"
    );
}

/// The curated mails of `02_mime_emails/CURATED.tsv` whose kind the source states.
#[test]
fn curated_mails_get_the_kind_their_source_expects() {
    let corpus = ventanilla_tests::testdata_dir().join("02_mime_emails");
    let expectations = [
        (
            "sisimai-set-of-emails/maildir-bsd/rfc3834-01.eml",
            MailKind::AutoReply,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/rfc3834-02.eml",
            MailKind::AutoReply,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/rfc3834-03.eml",
            MailKind::AutoReply,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/rfc3834-04.eml",
            MailKind::AutoReply,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/rfc3834-06.eml",
            MailKind::AutoReply,
        ),
        (
            "php-mime-mail-parser/mails/issue212.eml",
            MailKind::AutoReply,
        ),
        (
            "discourse-fixtures/quirks_exchange_xars.eml",
            MailKind::Person,
        ),
        (
            "discourse-fixtures/auto_generated_header.eml",
            MailKind::AutoGenerated,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/lhost-amazonses-01.eml",
            MailKind::Bounce,
        ),
        (
            "sisimai-set-of-emails/maildir-bsd/lhost-receivingses-01.eml",
            MailKind::Bounce,
        ),
        ("mailgun-flanker/bounce/office365.eml", MailKind::Bounce),
        (
            "mailgun-flanker/bounce/gmail-invalid-address.eml",
            MailKind::Bounce,
        ),
        (
            "mikel-mail/multipart_report_emails/multipart_report_multiple_status.eml",
            MailKind::Bounce,
        ),
        ("discourse-fixtures/bounced_email.eml", MailKind::Bounce),
        (
            "nodemailer-mailparser/delivery-status.eml",
            MailKind::Bounce,
        ),
        ("mailgun-flanker/complaints/aol.eml", MailKind::Complaint),
        (
            "mailgun-flanker/disposition-notification.eml",
            MailKind::ReadReceipt,
        ),
        ("discourse-fixtures/mailinglist.eml", MailKind::List),
        (
            "stalwartlabs-mail-parser/thirdparty/014.eml",
            MailKind::List,
        ),
        ("mailgun-talon/standard_replies/gmail.eml", MailKind::Person),
        ("discourse-fixtures/email_reply_1.eml", MailKind::Person),
    ];
    let mut wrong = Vec::new();
    for (file, expected) in expectations {
        let mail = read(&std::fs::read(corpus.join(file)).unwrap()).unwrap();
        if mail.kind != expected {
            wrong.push(format!("{file}: {:?}, expected {expected:?}", mail.kind));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    let spam = read(
        &std::fs::read(corpus.join("discourse-fixtures/spam_x_ses_spam_verdict.eml")).unwrap(),
    )
    .unwrap();
    assert!(spam.verdicts.spam_failed);
}

/// A reply chain threads by its ids: discourse's email_reply_1..4 (Message-ID 34 → 35 → 36 → 37).
#[test]
fn reply_chains_carry_their_parents() {
    let corpus = ventanilla_tests::testdata_dir().join("02_mime_emails/discourse-fixtures");
    let mails: Vec<_> = (1..=4)
        .map(|i| {
            read(&std::fs::read(corpus.join(format!("email_reply_{i}.eml"))).unwrap()).unwrap()
        })
        .collect();
    let first = mails[0].message_id.clone().unwrap();
    for later in &mails[1..] {
        assert!(
            later.parents.contains(&first)
                || later
                    .parents
                    .iter()
                    .any(|p| mails.iter().any(|m| m.message_id.as_ref() == Some(p))),
            "{:?} does not point into the chain",
            later.message_id
        );
    }
}

/// The inputs the fuzz target (`fuzz/`, `cargo fuzz run inbound_mail`) found crashing or
/// slowing the pipeline, minimised, in `fuzz-regressions/`: each goes through the desk
/// without a panic or an error, and those whose fix decides what becomes of them get that.
#[tokio::test]
async fn fuzz_regressions_go_through_the_pipeline() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("mails/fuzz-regressions");
    let mut files = Vec::new();
    raw_mails(&folder, &mut files);
    files.sort();
    assert!(
        files.len() >= 2,
        "{}: regressions missing",
        folder.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(file).unwrap();
        let outcome = desk
            .accept(bytes.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // mail-parser 0.11.9 panics on it in debug builds; `read` keeps the headers and the
        // body as raw text. There is no From: nobody to answer. The others were slow; any
        // outcome will do.
        if name == "rfc822-inside-rfc822-inside-multipart.eml" {
            let mail = read(&bytes).unwrap();
            assert!(mail.text.contains("message/rfc822"), "{:?}", mail.text);
            assert_eq!(label(&outcome), "no-sender", "{name}");
        }
    }
}
