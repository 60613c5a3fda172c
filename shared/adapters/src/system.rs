//! The real system's clock and identifiers, behind the domain's `Clock` and `IdSource`: the
//! use cases read time and make ids only through those, so that tests can hold them still.

use ventanilla_domain::MessageId;
use ventanilla_domain::Timestamp;
use ventanilla_domain::ports::{Clock, IdSource};

/// The operating system's clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

/// UUID v7: time-ordered, so a thread sorts by id as it sorts by time.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7;

impl IdSource for UuidV7 {
    fn message_id(&self) -> MessageId {
        MessageId(uuid::Uuid::now_v7())
    }
}
