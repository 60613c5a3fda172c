//! A mail to the support address, from bytes to what it means, in the order the mail
//! desk (`ventanilla_app::receive_mail`) applies them:
//!
//! | file | what it decides |
//! |---|---|
//! | [`read`] | the raw bytes, read once: sender, threading ids, text, attachments |
//! | [`kind`] | a person's mail, or an automatic one that must never be answered |
//! | [`reply_split`] | the new text of a reply, split from the history it quotes |
//! | [`sender_check`] | who really sent it, from SES's verdicts |
//! | [`support_address`] | what a queue does with it: follow-up, new ticket, refusal |

pub mod kind;
pub mod read;
pub mod reply_split;
pub mod sender_check;
pub mod support_address;
