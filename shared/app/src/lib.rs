//! Ventanilla's use cases over the domain's ports, each written once, whichever door (a form,
//! a mail, the console, the local server) it is reached by. The functions parse their
//! transport, call one function here and render its result.
//!
//! | file | what it does |
//! |---|---|
//! | [`open_ticket`] | a ticket opened from the form, a program or a mail |
//! | [`receive_mail`] | a mail to the support address: threaded, stored, answered |
//! | [`agents`] | agents made, with their role and token |
//! | [`change`] | an agent moves a ticket to another status |
//! | [`retention`] | personal data of old finished tickets erased |
//! | [`config`] | the configuration file and the deployment's environment, typed |
//! | [`site`] | the settings, access links and clock every use case reads |
//! | [`access`] | the signed links that open a ticket's status page |
//! | [`append`] | the one write of a message or change to a ticket, retried after a lost race |
//! | [`error`] | what a use case answers when it does not do what was asked |
//! | [`sending`] | the mails the site sends: notices and agents' replies |
//! | [`attachments`] | files a ticket refers to, and those none does |
//! | [`telemetry`] | the log format every function writes |

pub mod access;
pub mod agents;
pub mod append;
pub mod attachments;
pub mod change;
pub mod config;
pub mod error;
pub mod open_ticket;
pub mod receive_mail;
pub mod retention;
pub mod sending;
pub mod site;
pub mod telemetry;

pub use access::AccessLinks;
pub use config::Settings;
pub use error::AppError;
pub use site::{Site, SiteError};
