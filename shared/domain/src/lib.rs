//! Ventanilla's domain: what a ticket, a requester and a message are, the rules they obey,
//! and the ports through which the outside world (DynamoDB or SQLite, S3 or a folder, SES or
//! an outbox) is reached. Nothing here knows about AWS, Lambda or a database.

pub mod agencies;
pub mod agents;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod field;
pub mod incoming;
pub mod lang;
pub mod mail;
pub mod notices;
pub mod ports;
pub mod privacy;
pub mod reply;
pub mod retry;
pub mod screenshots;
pub mod sender_check;
pub mod status;
pub mod support_address;
pub mod ticket;
pub mod time;
pub mod values;

pub use field::{FieldError, FieldErrors, FieldProblem};
pub use lang::Lang;
pub use status::{Priority, Status, TransitionError};
pub use ticket::{
    AgentRef, AttachmentRef, Author, IdempotencyClaim, IdempotencyKey, MailMeta, Message,
    MessageId, MessageKind, Requester, Ticket, TicketChange, TicketDraft, TicketUpdate,
};
pub use time::Timestamp;
pub use values::*;
