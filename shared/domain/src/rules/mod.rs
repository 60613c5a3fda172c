//! The rules the model obeys that are more than one value's: what a mail to the support
//! address is and means, the mails the site writes on its own, what erasing a ticket leaves,
//! and Ecuador's calendar of rest days. Pure: they read the model and return it, without I/O.

pub mod calendar;
pub mod mail_in;
pub mod notices;
pub mod privacy;
