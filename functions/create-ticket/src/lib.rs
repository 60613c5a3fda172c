//! The create-ticket function: the form to open a ticket and `POST /api/v1/tickets`.

pub mod form;
pub mod handler;
mod submission;

pub use handler::router;
