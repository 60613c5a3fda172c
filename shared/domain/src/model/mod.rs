//! What Ventanilla's things are: typed values, tickets and their thread, statuses, agencies,
//! agents, mail and the mail queue, erasures, time and language. Every file here imports only from `model`.

pub mod agencies;
pub mod agents;
pub mod canned_responses;
pub mod erasure;
pub mod field;
pub mod information_answer;
pub mod lang;
pub mod mail;
pub mod mail_queue;
pub mod milestones;
pub mod rating;
pub mod screenshots;
pub mod status;
pub mod term;
pub mod ticket;
pub mod time;
pub mod values;
