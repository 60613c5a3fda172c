//! The build script of every crate that makes a Lambda `bootstrap` (and of the benchmark
//! crate, whose hello-world they are measured against): links the crate's binaries as
//! position-dependent executables. A PIE binary of 9-12 MB has some 31 000 relocations for
//! the dynamic loader to apply, and pages to fault in and copy for them, before `main`
//! runs: about 1 ms of each cold start (docs/PERFORMANCE.md). The price is that the
//! executable's own code is not at a random address (libraries, stack and heap still are).
//! Only the link changes; the code stays position-independent.

// A build script speaks to cargo on standard output.
#![allow(clippy::print_stdout)]

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    // Nothing else decides what this script prints.
    println!("cargo::rerun-if-env-changed=CARGO_CFG_TARGET_OS");
}
