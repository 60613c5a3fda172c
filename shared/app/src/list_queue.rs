//! An agency's queues as an agent works them: newest (or oldest) activity first, or the
//! soonest due first, filtered, one page at a time.

use ventanilla_domain::model::agencies::calendar_changes;
use ventanilla_domain::ports::{BlobStore, Cursor, DueCursor, DueQuery, Mailer, QueueQuery};
use ventanilla_domain::rules::deadline::{business_days_after, day_in_ecuador, reach};
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
    /// Only unfinished tickets due within some business days, or already overdue; listed
    /// by due date.
    pub due: Option<DueFilter>,
    pub order: ListOrder,
    pub after: Option<ListCursor>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    NewestActivity,
    OldestActivity,
    /// Unfinished tickets with a due date, the soonest due first.
    SoonestDue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueFilter {
    /// Due before today.
    Overdue,
    /// Due on or before the business day this many business days from today (0: today),
    /// overdue ones included.
    Within(u32),
}

/// Where the next page starts, in the order of the listing it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCursor {
    Activity(Cursor),
    Due(DueCursor),
}

impl ListCursor {
    pub fn encode(&self) -> String {
        match self {
            ListCursor::Activity(cursor) => cursor.encode(),
            ListCursor::Due(cursor) => cursor.encode(),
        }
    }
}

/// A page of tickets and the cursor of the next one.
#[derive(Debug)]
pub struct Listed {
    pub tickets: Vec<Ticket>,
    pub next: Option<ListCursor>,
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// The page of the agent's agency's tickets `filter` asks for.
    pub async fn list(&self, filter: QueueFilter) -> Result<Listed, AppError> {
        let mut listed = if filter.order == ListOrder::SoonestDue || filter.due.is_some() {
            self.list_by_due_date(&filter).await?
        } else {
            self.list_by_activity(&filter).await?
        };
        listed.tickets.retain(|t| {
            filter.queue.as_ref().is_none_or(|q| &t.queue == q)
                && filter.status.is_none_or(|s| t.status == s)
                && filter.category.is_none_or(|c| t.category == c)
                && filter
                    .assignee
                    .as_ref()
                    .is_none_or(|a| t.assignee.as_ref() == Some(a))
        });
        Ok(listed)
    }

    /// From the agency's index of unfinished tickets by due date.
    async fn list_by_due_date(&self, filter: &QueueFilter) -> Result<Listed, AppError> {
        let today = day_in_ecuador(self.site.clock.now());
        let until = match filter.due {
            None => None,
            Some(DueFilter::Overdue) => Some(today.pred_opt().unwrap_or(today)),
            Some(DueFilter::Within(0)) => Some(today),
            Some(DueFilter::Within(days)) => {
                let last = reach(today, days);
                let agency = &self.agent.agency;
                let days_changed = self.desk.store.calendar_days(agency, today, last).await?;
                let changes = calendar_changes(&days_changed, agency);
                Some(business_days_after(today, days, &changes))
            }
        };
        let after = match &filter.after {
            Some(ListCursor::Due(cursor)) => Some(cursor.clone()),
            _ => None,
        };
        let page = self
            .desk
            .store
            .due_tickets(&DueQuery {
                agency: self.agent.agency.clone(),
                from: None,
                until,
                after,
                limit: filter.limit,
            })
            .await?;
        Ok(Listed {
            tickets: page.items,
            next: page.next.map(ListCursor::Due),
        })
    }

    async fn list_by_activity(&self, filter: &QueueFilter) -> Result<Listed, AppError> {
        let desk = &*self.desk;
        let oldest_first = filter.order == ListOrder::OldestActivity;
        let queues = match &filter.queue {
            Some(queue) => vec![queue.clone()],
            None => self.site.settings.queues_of(&self.agent.agency),
        };
        let after = match &filter.after {
            Some(ListCursor::Activity(cursor)) => Some(cursor.clone()),
            _ => None,
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
                    after: after.clone(),
                    oldest_first,
                })
                .await?;
            more |= page.next.is_some();
            tickets.extend(page.items);
        }
        tickets.sort_by(|a, b| {
            let newest_first =
                (b.last_activity, b.number.as_str()).cmp(&(a.last_activity, a.number.as_str()));
            if oldest_first {
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
            tickets
                .last()
                .map(|t| ListCursor::Activity(Cursor::after(t)))
        } else {
            None
        };
        Ok(Listed { tickets, next })
    }
}
