//! Merging a duplicate: a citizen asked the same thing twice (the form, then a mail); an agent
//! merges the duplicate into the ticket that goes on. The survivor lists it and shows its
//! thread with its own; the duplicate is closed, points to the survivor, and takes no more
//! work. Both numbers keep working for whom the survivor opens too (the same credential): the
//! status page of the duplicate opens the survivor, and a mail that threads to the duplicate
//! joins it. Only tickets of the same requester (the same mailbox, or the same ID document)
//! of the agent's agency.

use ventanilla_domain::model::agents::{Access, AuditAction};
use ventanilla_domain::model::ticket::MAX_MERGED;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{StoreError, ThreadQuery, TicketStore};
use ventanilla_domain::{
    Author, Body, FieldError, FieldProblem, Message, Requester, Status, Ticket, TicketChange,
    TicketNumber,
};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// How many merges a mail or a lookup follows from a duplicate to the ticket it goes on in
/// (a survivor is never merged away, so one is enough).
const HOPS: usize = 3;
/// How many times a merge is decided again when either ticket moved under it.
const MERGE_TRIES: usize = 5;

/// Whether two tickets' requesters are the same person: the same mailbox, or the same ID
/// document for callers who gave no address.
fn same_requester(a: &Requester, b: &Requester) -> bool {
    let mailbox = match (&a.email, &b.email) {
        (Some(a), Some(b)) => a.same_mailbox(b),
        _ => false,
    };
    let document = match (&a.id_document, &b.id_document) {
        (Some(a), Some(b)) => a.id_type() == b.id_type() && b.has_number(a.number()),
        _ => false,
    };
    mailbox || document
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// Merges `duplicate` (read with `Session::ticket`, full access) into the ticket numbered
    /// `into`, which the agent must work too (one they may not see is refused as unknown).
    /// Both tickets change in one store write, conditional on the versions checked: two
    /// merges at once never make a chain or a cycle. The survivor as it stands after.
    pub async fn merge(&self, duplicate: Ticket, into: &str) -> Result<Ticket, AppError> {
        let field = |problem| AppError::invalid(FieldError::new("into", problem));
        let into = TicketNumber::parse(into).map_err(|e| field(e.problem))?;
        if into == duplicate.number {
            return Err(field(FieldProblem::UnknownValue));
        }
        let store = &self.desk.store;
        let mut duplicate = duplicate;
        for attempt in 0..MERGE_TRIES {
            if attempt > 0 {
                duplicate = store.ticket(&duplicate.number).await?;
            }
            let survivor = match store.ticket(&into).await {
                Ok(found) if self.agent.access(&found) == Access::Full => found,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(field(FieldProblem::UnknownValue));
                }
                Err(error) => return Err(error.into()),
            };
            self.may(&duplicate, Access::Full)?;
            // Merged already (a second press): nothing to do.
            if duplicate.merged_into.as_ref() == Some(&survivor.number)
                && survivor.merged.contains(&duplicate.number)
            {
                return Ok(survivor);
            }
            self.mergeable(&duplicate, &survivor).await?;
            let (survivor_update, duplicate_update) = self.merge_updates(&duplicate, &survivor)?;
            match store.update_pair(survivor_update, duplicate_update).await {
                Ok((survivor, _)) => {
                    let (gone, kept) = (&duplicate.number, &survivor.number);
                    self.audit(
                        AuditAction::Merge,
                        Some(gone),
                        format!("merged into {kept}"),
                    )
                    .await?;
                    self.audit(
                        AuditAction::Merge,
                        Some(kept),
                        format!("{gone} merged into it"),
                    )
                    .await?;
                    return Ok(survivor);
                }
                // Either moved meanwhile: read both again and decide again.
                Err(StoreError::VersionConflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::unavailable("the tickets kept changing during the merge").into())
    }

    /// Whether `duplicate` may be merged into `survivor`, as both were read.
    async fn mergeable(&self, duplicate: &Ticket, survivor: &Ticket) -> Result<(), AppError> {
        if duplicate.erased_at.is_some() || survivor.erased_at.is_some() {
            return Err(AppError::NotAllowed(
                "a ticket whose personal data was erased",
            ));
        }
        if duplicate.merged_into.is_some() || survivor.merged_into.is_some() {
            return Err(AppError::NotAllowed(
                "a ticket already merged into another takes no more merges",
            ));
        }
        if !merged_into_it(&self.desk.store, duplicate)
            .await?
            .is_empty()
        {
            return Err(AppError::NotAllowed(
                "a ticket others were merged into is not merged away",
            ));
        }
        if !same_requester(&duplicate.requester, &survivor.requester) {
            return Err(AppError::NotAllowed(
                "only tickets of the same requester are merged",
            ));
        }
        if survivor.merged.len() >= MAX_MERGED {
            return Err(AppError::invalid(FieldError::new(
                "into",
                FieldProblem::TooLong { max: MAX_MERGED },
            )));
        }
        Ok(())
    }

    /// The two writes of a merge, each at the version read, each with a line in its thread.
    fn merge_updates(
        &self,
        duplicate: &Ticket,
        survivor: &Ticket,
    ) -> Result<(TicketUpdate, TicketUpdate), AppError> {
        let (gone, kept) = (&duplicate.number, &survivor.number);
        let name = &self.agent.name;
        let on_survivor = TicketUpdate {
            number: kept.clone(),
            expected_version: survivor.version,
            change: TicketChange {
                merged: Some(gone.clone()),
                related: Some(gone.clone()),
                ..TicketChange::default()
            },
            message: Some(self.line(format!(
                "Se unió el ticket {gone}, del mismo solicitante, por {name}: su conversación se \
                 muestra aquí."
            ))?),
            mails: Vec::new(),
        };
        let now = self.site.clock.now();
        let days = self.site.settings.deadlines.suspension_max_days;
        let closed = (duplicate.status != Status::Closed).then_some(Status::Closed);
        let on_duplicate = TicketUpdate {
            number: gone.clone(),
            expected_version: duplicate.version,
            change: TicketChange {
                merged_into: Some(kept.clone()),
                related: Some(kept.clone()),
                ..TicketChange::to_status(duplicate, closed, now, days)
            },
            message: Some(self.line(format!(
                "Unido al ticket {kept} por {name}: la conversación sigue allí."
            ))?),
            mails: Vec::new(),
        };
        Ok((on_survivor, on_duplicate))
    }

    fn line(&self, text: String) -> Result<Message, AppError> {
        let body = Body::parse(&text).map_err(AppError::invalid)?;
        Ok(Message::system_event(
            self.site.ids.message_id(),
            self.site.clock.now(),
            Author::Agent(self.agent.reference()),
            body,
        ))
    }
}

/// The ticket `ticket`'s conversation goes on in: itself, or the one it was merged into
/// (while that one is not erased).
pub async fn going_on(store: &impl TicketStore, ticket: Ticket) -> Result<Ticket, StoreError> {
    let mut current = ticket;
    for _ in 0..HOPS {
        let Some(next) = current.merged_into.clone() else {
            break;
        };
        match store.ticket(&next).await {
            Ok(survivor) if survivor.erased_at.is_none() => current = survivor,
            Ok(_) | Err(StoreError::NotFound) => break,
            Err(error) => return Err(error),
        }
    }
    Ok(current)
}

/// The tickets merged into `ticket` that point back to it (a merge that lost a race to
/// another leaves its listing behind: it shows nothing), read, erased ones left out.
pub async fn merged_into_it(
    store: &impl TicketStore,
    ticket: &Ticket,
) -> Result<Vec<Ticket>, StoreError> {
    let mut merged = Vec::new();
    for number in ticket.merged.iter().take(MAX_MERGED) {
        match store.ticket(number).await {
            Ok(found)
                if found.merged_into.as_ref() == Some(&ticket.number)
                    && found.erased_at.is_none() =>
            {
                merged.push(found);
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(merged)
}

/// The messages of the tickets merged into `ticket` that `shown` lets the reader see (an
/// agent: those they have access to; a citizen: those their credential opens), the newest
/// page of each, with the number each came from.
pub async fn merged_messages(
    store: &impl TicketStore,
    ticket: &Ticket,
    shown: impl Fn(&Ticket) -> bool,
) -> Result<Vec<(Message, TicketNumber)>, StoreError> {
    let mut messages = Vec::new();
    for merged in merged_into_it(store, ticket).await? {
        if !shown(&merged) {
            continue;
        }
        let (_, page) = store
            .thread_page(&merged.number, &ThreadQuery::newest(None))
            .await?;
        messages.extend(page.items.into_iter().map(|m| (m, merged.number.clone())));
    }
    Ok(messages)
}
