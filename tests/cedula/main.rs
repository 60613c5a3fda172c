//! The cédula parser against python-stdnum's `ec.ci`, the most used reference: on a large
//! random sample of 10-digit strings, and on the vectors in `testdata/01_cedula_ruc`.
//! The one deliberate difference (province 50, see `shared/domain/src/model/values/id_document.rs`)
//! is the only disagreement allowed.

// Test code: a panic with its message is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::Write;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use ventanilla_domain::Cedula;

const SAMPLE: usize = 200_000;

/// stdnum's verdict for each candidate, one per line, from the test command's venv.
fn stdnum_verdicts(candidates: &[String]) -> Vec<bool> {
    let python = std::env::var("VENTANILLA_PYTHON").unwrap_or_else(|_| {
        panic!("VENTANILLA_PYTHON is not set: run this through `infra/test.sh`, which installs python-stdnum")
    });
    let mut child = Command::new(python)
        .args([
            "-c",
            "import sys\nfrom stdnum.ec import ci\nfor line in sys.stdin:\n    sys.stdout.write('1\\n' if ci.is_valid(line.rstrip('\\n')) else '0\\n')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = candidates.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "python-stdnum failed");
    let verdicts: Vec<bool> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(verdicts.len(), candidates.len());
    verdicts
}

/// Where we differ from stdnum on purpose: province 50, which stdnum alone accepts.
fn deliberate_difference(candidate: &str) -> bool {
    candidate.starts_with("50")
}

fn compare(candidates: &[String]) -> (usize, usize, Vec<String>) {
    let verdicts = stdnum_verdicts(candidates);
    let mut valid = 0;
    let mut deliberate = 0;
    let mut unexplained = Vec::new();
    for (candidate, stdnum) in candidates.iter().zip(verdicts) {
        let ours = Cedula::parse(candidate).is_ok();
        valid += usize::from(ours);
        if ours != stdnum {
            if deliberate_difference(candidate) && stdnum && !ours {
                deliberate += 1;
            } else {
                unexplained.push(format!("{candidate}: ours {ours}, stdnum {stdnum}"));
            }
        }
    }
    (valid, deliberate, unexplained)
}

#[test]
fn agrees_with_python_stdnum_on_a_large_random_sample() {
    let seed: u64 = std::env::var("CEDULA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (CEDULA_SEED={seed} repeats this sample)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let candidates: Vec<String> = (0..SAMPLE)
        .map(|i| {
            if i % 4 == 0 {
                // Uniform: almost all invalid, mostly by province.
                format!("{:010}", rng.random_range(0..10_000_000_000u64))
            } else {
                // Plausible: a province near the valid range (00–31 and 50), so that the third
                // digit and the check digit decide; about one in twenty passes.
                let province = if rng.random_bool(0.05) {
                    50
                } else {
                    rng.random_range(0..32)
                };
                format!("{province:02}{:08}", rng.random_range(0..100_000_000u64))
            }
        })
        .collect();
    let (valid, deliberate, unexplained) = compare(&candidates);
    println!(
        "{SAMPLE} strings: {valid} valid, {} agree with stdnum, {deliberate} differ on purpose (province 50), {} unexplained",
        SAMPLE - deliberate - unexplained.len(),
        unexplained.len()
    );
    // About 4% of the sample is valid (3/4 plausible × 3/4 province × 7/10 third digit ×
    // 1/10 check digit); far fewer means the generator broke.
    assert!(
        valid > SAMPLE / 50,
        "the sample must exercise valid numbers too ({valid})"
    );
    assert!(
        deliberate > 0,
        "the sample must exercise the deliberate difference"
    );
    assert!(unexplained.is_empty(), "{unexplained:#?}");
}

#[test]
fn agrees_with_python_stdnum_on_the_shared_vectors() {
    let path = ventanilla_tests::testdata_dir().join("01_cedula_ruc/ec_id_vectors.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared vectors are missing at {} ({e}); set VENTANILLA_TESTDATA",
            path.display()
        )
    });
    let candidates: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            (fields.next() == Some("ci")).then(|| fields.next().unwrap_or("").to_owned())
        })
        .collect();
    assert!(candidates.len() >= 80, "{} CI vectors", candidates.len());
    let (valid, deliberate, unexplained) = compare(&candidates);
    println!(
        "{} CI vectors: {valid} valid, {deliberate} deliberate differences",
        candidates.len()
    );
    assert!(unexplained.is_empty(), "{unexplained:#?}");
}
