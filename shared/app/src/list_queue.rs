//! An agency's queues as an agent works them: newest (or oldest) activity first, filtered,
//! one page at a time. Listing also tries again, a few tickets at a time, the replies the
//! mail provider refused.

use ventanilla_domain::ports::{BlobStore, Cursor, Mailer, QueueQuery};
use ventanilla_domain::{AgentId, Category, QueueName, Status, Ticket};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// Which tickets, already parsed; `None` is no filter.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    /// One of the agency's queues; all of them without it.
    pub queue: Option<QueueName>,
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub assignee: Option<AgentId>,
    pub after: Option<Cursor>,
    pub limit: usize,
    pub oldest_first: bool,
}

/// A page of tickets and the cursor of the next one.
#[derive(Debug)]
pub struct Listed {
    pub tickets: Vec<Ticket>,
    pub next: Option<Cursor>,
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// The page of the agent's agency's tickets `filter` asks for.
    pub async fn list(&self, filter: QueueFilter) -> Result<Listed, AppError> {
        let desk = &*self.desk;
        let queues = match filter.queue {
            Some(queue) => vec![queue],
            None => self.site.settings.queues_of(&self.agent.agency),
        };
        // Each queue is read from the cursor on; the pages are merged.
        let mut tickets = Vec::new();
        let mut more = false;
        for queue in queues {
            let page = desk
                .store
                .queue(&QueueQuery {
                    agency: self.agent.agency.clone(),
                    queue,
                    status: filter.status,
                    limit: filter.limit,
                    after: filter.after.clone(),
                    oldest_first: filter.oldest_first,
                })
                .await?;
            more |= page.next.is_some();
            tickets.extend(page.items);
        }
        tickets.sort_by(|a, b| {
            let newest_first =
                (b.last_activity, b.number.as_str()).cmp(&(a.last_activity, a.number.as_str()));
            if filter.oldest_first {
                newest_first.reverse()
            } else {
                newest_first
            }
        });
        if tickets.len() > filter.limit {
            tickets.truncate(filter.limit);
            more = true;
        }
        let next = if more {
            tickets.last().map(Cursor::after)
        } else {
            None
        };
        tickets.retain(|t| {
            filter.category.is_none_or(|c| t.category == c)
                && filter
                    .assignee
                    .as_ref()
                    .is_none_or(|a| t.assignee.as_ref() == Some(a))
        });
        Ok(Listed { tickets, next })
    }
}
