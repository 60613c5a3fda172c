//! The reply splitter against the corpora in `../shared/testdata/03_reply_text_bodies`.
//!
//! Discourse's email_reply_trimmer corpus annotates each mail with its expected new text
//! (`emails/X.txt` → `trimmed/X.txt`): the share of exact matches (whitespace-normalised) is
//! printed, and the mails that do not match are listed in `known_failures.txt`, so that a
//! regression fails the test and a fix shows up as a line to delete. The other two corpora
//! carry their expectations in code we do not have; they are run for panics and counted.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ventanilla_domain::rules::mail_in::reply_split::split_reply;

fn corpus() -> PathBuf {
    ventanilla_tests::testdata_dir().join("03_reply_text_bodies")
}

fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn text_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

#[test]
fn discourse_expectations_match_except_the_listed_failures() {
    let root = corpus().join("discourse-email_reply_trimmer/test");
    let mut failures = BTreeSet::new();
    let mut total = 0;
    for email in text_files(&root.join("emails")) {
        let name = email.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = root.join("trimmed").join(format!("{name}.txt"));
        if !expected.exists() {
            continue;
        }
        total += 1;
        let got = split_reply(&read_lossy(&email)).new_text;
        if std::env::var("REPLY_SHOW").is_ok_and(|n| n == name) {
            println!("--- got\n{got}\n--- expected\n{}", read_lossy(&expected));
        }
        if normalised(&got) != normalised(&read_lossy(&expected)) {
            failures.insert(name);
        }
    }
    let matched = total - failures.len();
    println!(
        "discourse-email_reply_trimmer: {matched}/{total} exact matches ({:.1}%)",
        100.0 * matched as f64 / total as f64
    );
    let listed: BTreeSet<String> = known_failures()
        .into_iter()
        .filter(|n| !n.starts_with("interleaved/"))
        .collect();
    let new: Vec<_> = failures.difference(&listed).collect();
    let fixed: Vec<_> = listed.difference(&failures).collect();
    assert!(
        new.is_empty(),
        "new failures (not in known_failures.txt): {new:?}"
    );
    assert!(
        fixed.is_empty(),
        "now passing, delete from known_failures.txt: {fixed:?}"
    );
    assert!(total >= 60, "the corpus is smaller than expected ({total})");
}

/// Replies that answer inline, taken from the github and crisp corpora and annotated here
/// (`interleaved/*.txt`: the mail's path in the corpus, then the new text an agent should
/// read). Every block the sender wrote must be there, in order.
#[test]
fn interleaved_replies_keep_every_block_the_sender_wrote() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("replies/interleaved");
    let listed = known_failures();
    let (mut total, mut failures) = (0, BTreeSet::new());
    for annotation in text_files(&dir) {
        let name = format!(
            "interleaved/{}",
            annotation.file_stem().unwrap().to_string_lossy()
        );
        let text = read_lossy(&annotation);
        let (first, expected) = text.split_once('\n').unwrap();
        let mail = first.strip_prefix("# mail: ").unwrap().trim();
        let got = split_reply(&read_lossy(&ventanilla_tests::testdata_dir().join(mail))).new_text;
        total += 1;
        if normalised(&got) != normalised(expected) {
            println!("{name}: got\n{got}\n");
            failures.insert(name);
        }
    }
    println!(
        "interleaved replies: {}/{total} exact matches",
        total - failures.len()
    );
    let listed: BTreeSet<String> = listed
        .into_iter()
        .filter(|n| n.starts_with("interleaved/"))
        .collect();
    assert_eq!(
        failures, listed,
        "failures differ from the interleaved/ lines of known_failures.txt"
    );
    assert!(total >= 10, "annotations missing ({total})");
}

fn known_failures() -> BTreeSet<String> {
    include_str!("known_failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_other_corpora_split_without_a_panic() {
    for (name, dir) in [
        (
            "github-email_reply_parser",
            "github-email_reply_parser/test/emails",
        ),
        (
            "crisp-oss-email-reply-parser",
            "crisp-oss-email-reply-parser/test/fixtures",
        ),
    ] {
        let files = text_files(&corpus().join(dir));
        let cut = files
            .iter()
            .filter(|f| !split_reply(&read_lossy(f)).quoted.is_empty())
            .count();
        println!(
            "{name}: {} mails, {cut} with quoted history found",
            files.len()
        );
        assert!(!files.is_empty());
    }
}

/// talon's standard replies, read as whole mails (charsets, transfer encodings) and split.
/// Two expectations differ on purpose: talon keeps the phone signature of iphone.eml and the
/// `-- ` signature of sparrow.eml; Ventanilla cuts both, since an agent needs neither.
#[test]
fn talon_standard_replies_give_their_expected_text() {
    let dir = ventanilla_tests::testdata_dir().join("02_mime_emails/mailgun-talon");
    let expected: serde_json::Value =
        serde_json::from_str(&read_lossy(&dir.join("EXPECTED_talon.json"))).unwrap();
    let deliberate = [
        "standard_replies/iphone.eml",
        "standard_replies/sparrow.eml",
    ];
    let (mut total, mut matched, mut wrong) = (0, 0, Vec::new());
    for (file, expectation) in expected.as_object().unwrap() {
        let Some(text) = expectation["expected_reply_text"].as_str() else {
            continue;
        };
        if !file.ends_with(".eml") {
            continue;
        }
        total += 1;
        let mail =
            ventanilla_domain::rules::mail_in::read::read(&std::fs::read(dir.join(file)).unwrap())
                .unwrap();
        let want = if deliberate.contains(&file.as_str()) {
            "Hello"
        } else {
            text
        };
        if normalised(&mail.reply.new_text) == normalised(want) {
            matched += 1;
        } else {
            wrong.push(format!("{file}: {:?}", mail.reply.new_text));
        }
    }
    println!(
        "mailgun-talon standard replies: {matched}/{total} as expected (iphone, sparrow: signature cut on purpose)"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
