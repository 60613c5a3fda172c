//! Ventanilla's domain, with no I/O: what a ticket, a requester and a message are (`model`),
//! the rules they obey (`rules`), and the ports through which the outside world (DynamoDB or
//! SQLite, S3 or a folder, SES or an outbox) is reached (`ports`). Nothing here knows about
//! AWS, Lambda or a database. `model` imports only `model`; `rules` and `ports` import
//! `model`; the use cases in `ventanilla_app` are the only code that applies the rules through
//! the ports.

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod model;
pub mod ports;
pub mod retry;
pub mod rules;

pub use model::field::{Choice, FieldError, FieldErrors, FieldProblem, Labelled};
pub use model::lang::Lang;
pub use model::status::{Priority, Status, TransitionError};
pub use model::ticket::{
    AgentRef, AttachmentRef, Author, IdempotencyClaim, IdempotencyKey, MailMeta, Message,
    MessageId, MessageKind, Requester, Ticket, TicketChange, TicketDraft, TicketUpdate,
};
pub use model::time::Timestamp;
pub use model::values::*;
