//! A ticket as an agent opens it: the newest page of its thread with short-lived download
//! links, and (admins) its audit trail. Opening it tries again any reply the mail provider
//! has not taken yet.

use ventanilla_domain::model::agents::{Access, AuditAction, AuditEntry, Role};
use ventanilla_domain::ports::{BlobStore, Mailer, ThreadCursor, ThreadQuery};
use ventanilla_domain::{Message, Ticket, TicketNumber};

use crate::session::{AgentPorts, Session};
use crate::{AppError, attachments};

/// A message with a download link for each of its files, in their order.
#[derive(Debug)]
pub struct LinkedMessage {
    pub message: Message,
    pub links: Vec<String>,
    /// The duplicate it was written on, when that was merged into the ticket shown.
    pub merged_from: Option<TicketNumber>,
}

impl LinkedMessage {
    /// `message`, with a download link for each of its files.
    pub async fn new(
        blobs: &impl BlobStore,
        message: Message,
        merged_from: Option<TicketNumber>,
        valid_for: std::time::Duration,
    ) -> Result<Self, AppError> {
        let links = attachments::download_links(blobs, &message, valid_for).await?;
        Ok(LinkedMessage {
            message,
            links,
            merged_from,
        })
    }
}

/// What of a thread a reader sees: which messages, and which tickets merged into it (none:
/// its own only, as on its older pages).
pub(crate) struct Reader<'a> {
    pub message: &'a (dyn Fn(&Message) -> bool + Sync),
    pub merged: Option<&'a (dyn Fn(&Ticket) -> bool + Sync)>,
}

/// `ticket`'s page of messages `own` with the messages of the tickets merged into it that
/// `reader` sees, by date, each with its download links (signed only for what is shown).
pub(crate) async fn linked_thread(
    store: &impl ventanilla_domain::ports::TicketStore,
    blobs: &impl BlobStore,
    ticket: &Ticket,
    own: Vec<Message>,
    reader: Reader<'_>,
    valid_for: std::time::Duration,
) -> Result<Vec<LinkedMessage>, AppError> {
    let mut thread: Vec<(Message, Option<TicketNumber>)> =
        own.into_iter().map(|m| (m, None)).collect();
    if let Some(shown) = reader.merged
        && !ticket.merged.is_empty()
    {
        let merged = crate::merge::merged_messages(store, ticket, shown).await?;
        thread.extend(merged.into_iter().map(|(m, n)| (m, Some(n))));
        thread.sort_by_key(|(m, _)| m.at);
    }
    thread.retain(|(m, _)| (reader.message)(m));
    let mut messages = Vec::with_capacity(thread.len());
    for (message, from) in thread {
        messages.push(LinkedMessage::new(blobs, message, from, valid_for).await?);
    }
    Ok(messages)
}

/// A ticket with a page of its thread, oldest first.
#[derive(Debug)]
pub struct ShownTicket {
    pub ticket: Ticket,
    pub messages: Vec<LinkedMessage>,
    /// When older messages exist: the cursor that reads the page before this one.
    pub older: Option<ThreadCursor>,
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// Opens ticket `number` at the page before `before` (the newest without it).
    pub async fn show(
        &self,
        number: &str,
        before: Option<ThreadCursor>,
    ) -> Result<ShownTicket, AppError> {
        let ticket = self.ticket(number, Access::Referral).await?;
        let shown = self
            // The tickets merged into it show on its newest page, those the agent may see.
            .with_links(
                ticket,
                &ThreadQuery::newest(before.clone()),
                before.is_none(),
            )
            .await?;
        self.audit_ticket(AuditAction::ViewTicket, &shown.ticket.number)
            .await?;
        Ok(shown)
    }
}

impl<S: AgentPorts, B: BlobStore, M> Session<S, B, M> {
    /// The ticket with the page `query` of its thread, each file with its download link.
    pub async fn with_links(
        &self,
        ticket: Ticket,
        query: &ThreadQuery,
        with_merged: bool,
    ) -> Result<ShownTicket, AppError> {
        let (_, page) = self.desk.store.thread_page(&ticket.number, query).await?;
        let valid_for = self.site.settings.limits.download_link;
        let desk = &self.desk;
        let agent = &self.agent;
        let sees = |merged: &Ticket| agent.access(merged) != Access::None;
        let reader = Reader {
            message: &|_| true,
            merged: with_merged.then_some(&sees as _),
        };
        let messages = linked_thread(
            &desk.store,
            &desk.blobs,
            &ticket,
            page.items,
            reader,
            valid_for,
        )
        .await?;
        Ok(ShownTicket {
            ticket,
            messages,
            older: page.next,
        })
    }
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Who did what on ticket `number` (admins).
    pub async fn audit_trail(&self, number: &str) -> Result<Vec<AuditEntry>, AppError> {
        let ticket = self.ticket(number, Access::Full).await?;
        self.require(Role::Admin)?;
        Ok(self.desk.store.ticket_audit(&ticket.number).await?)
    }
}
