//! The rules the model obeys that are more than one value's: what a mail to the support
//! address is and means, the mails the site writes on its own, and what erasing a ticket
//! leaves. Pure: they read the model and return it, without I/O.

pub mod mail_in;
pub mod notices;
pub mod privacy;
