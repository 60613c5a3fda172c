//! The citizen's and the agent's paths in a real browser (`tests/browser/*.test.mjs`): headless Chromium
//! against this package's `ventanilla-local` binary. (Lighthouse's scores of the citizen's
//! pages are taken by `infra/test.sh` after every test, alone on the machine: timings
//! measured beside the other tests measure the other tests.) Here so that the test command builds the
//! binary and lists the browser suite beside every other test.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::Command;

#[test]
fn citizen_path_in_headless_chromium() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let chromium = std::env::var("VENTANILLA_CHROMIUM").unwrap_or_else(|_| {
        panic!("VENTANILLA_CHROMIUM is not set: run the tests with `bash infra/test.sh`, which installs Chromium and the suite's npm packages")
    });
    assert!(
        suite.join("node_modules").is_dir(),
        "tests/browser/node_modules is missing: `bash infra/test.sh` runs `npm ci` there"
    );
    let output = Command::new("node")
        .args([
            "--test",
            "--test-reporter=spec",
            "citizen.test.mjs",
            "agent.test.mjs",
        ])
        .current_dir(&suite)
        .env("VENTANILLA_LOCAL", env!("CARGO_BIN_EXE_ventanilla-local"))
        .env("CHROMIUM", chromium)
        .output()
        .expect("node runs");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    println!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser suite failed");
}
