//! Ventanilla's use cases over the domain's ports, each written once, whichever door (a form,
//! a mail, the console, the local server) it is reached by. The functions parse their
//! transport, call one function here and render its result.
//!
//! | file | what it does |
//! |---|---|
//! | [`open_ticket`] | a ticket opened from the form, a program, a mail or by an agent for a caller |
//! | [`ticket_fields`] | a ticket request's fields, parsed with every error at once |
//! | [`receive_mail`] | a mail to the support address: threaded, stored, answered |
//! | [`look_up`] | a citizen follows their ticket by e-mail and number or by link |
//! | [`session`] | an agent at work: who they are, what they may touch |
//! | [`list_queue`] | the agency's queues, a page at a time |
//! | [`show_ticket`] | a ticket with its thread, as an agent opens it; its audit trail |
//! | [`reply`] | an agent's public reply, sent to the citizen by mail |
//! | [`note`] | an internal note |
//! | [`canned_responses`] | an agency's canned responses, written by admins, filled in for a ticket |
//! | [`transfer`] | a ticket sent to another agency or queue |
//! | [`agencies`] | agencies saved at run time, with their queues and rules |
//! | [`requester_data`] | a requester's rights of access and erasure |
//! | [`agents`] | agents made, with their role and token |
//! | [`change`] | an agent moves a ticket to another status |
//! | [`erasure`] | a ticket's personal data erased, for a requester or the retention rule |
//! | [`retention`] | personal data of old finished tickets erased |
//! | [`desk`] | the site and the ports one function's use cases run on |
//! | [`config`] | the configuration file and the deployment's environment, typed |
//! | [`site`] | the settings, access links and clock every use case reads |
//! | [`access`] | the signed links that open a ticket's status page |
//! | [`append`] | the one write of a message or change to a ticket, retried after a lost race |
//! | [`error`] | what a use case answers when it does not do what was asked |
//! | [`sending`] | the mail queue's sender: every automatic mail, right after its change and by the sweeper |
//! | [`parked_mail`] | mails that kept failing, shown to admins and sent again |
//! | [`attachments`] | files a ticket refers to, and those none does |
//! | [`telemetry`] | the log format every function writes |
//! | [`dashboard`] | an agency's figures for its supervisors, by period and queue |
//! | [`public_stats`] | every agency's monthly figures for citizens, small counts hidden |
//! | [`stats_check`] | the figures checked against the tickets and rebuilt from them |
//! | [`export`] | an agency's tickets of a period as CSV or XLSX, behind a download link |

pub mod access;
pub mod agencies;
pub mod agents;
pub mod alerts;
pub mod append;
pub mod attachments;
pub mod canned_responses;
pub mod change;
pub mod change_calendar;
pub mod config;
pub mod dashboard;
pub mod deadline_warnings;
pub mod desk;
pub mod erasure;
pub mod error;
pub mod export;
pub mod extend_term;
pub mod follow_up;
pub mod give_terms;
pub mod list_queue;
pub mod look_up;
pub mod mail_answer;
pub mod merge;
pub mod my_tickets;
pub mod note;
pub mod open_ticket;
pub mod parked_mail;
pub mod public_stats;
pub mod rate_ticket;
pub mod receive_mail;
pub mod relate;
pub mod reply;
pub mod requester_data;
pub mod retention;
pub mod search_tickets;
pub mod sending;
pub mod session;
pub mod show_ticket;
pub mod site;
pub mod stats_check;
pub mod telemetry;
pub mod ticket_fields;
pub mod transfer;
pub mod viewers;
pub mod web_follow_up;

pub use access::AccessLinks;
pub use config::Settings;
pub use desk::Desk;
pub use error::AppError;
pub use site::{Site, SiteError};
