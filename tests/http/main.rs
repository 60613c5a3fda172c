//! Handler tests of the HTTP functions: API Gateway v2 events through the real routers, on
//! the embedded adapters (SQLite file, blob folder, outbox of .eml files).

// Test code: a panic with its message is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod answer;
mod harness;
mod languages;
mod my_tickets;
mod open_ticket;
mod status;
