//! The contract suites: the same assertions against every adapter of a port, so that the
//! embedded default and AWS behave alike. Test names say the backend:
//! `store::sqlite::…` and `store::dynamodb::…`, `blobs::folder::…` and `blobs::s3::…`,
//! `mailer::outbox::…` and `mailer::ses::…`.

// Test code: a panic with its message is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod blobs;
mod mailer;
mod store;
