//! The rules the model obeys that are more than one value's: what a mail to the support
//! address is and means, the mails the site writes on its own, what erasing a ticket leaves,
//! Ecuador's calendar of rest days and the due dates counted on it. Pure: they read the model and return it, without I/O.

pub mod calendar;
pub mod deadline;
pub mod mail_in;
pub mod notices;
pub mod privacy;
pub mod search;
pub mod stats;
