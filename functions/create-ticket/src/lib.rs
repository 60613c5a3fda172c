//! The create-ticket function: what a citizen sends. The form to open a ticket and
//! `POST /api/v1/tickets`, an answer from the status page, the "Mis trámites" sign-in link,
//! the rating of a finished ticket.

pub mod form;
pub mod handler;
pub mod my_tickets;
pub mod rate_ticket;
mod submission;
pub mod web_follow_up;

pub use handler::router;
