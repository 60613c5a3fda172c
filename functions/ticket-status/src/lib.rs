//! The ticket-status function: the status page, the lookup by e-mail + number and the
//! signed access links from the acknowledgement mail.

pub mod handler;
pub mod statistics;

pub use handler::router;
