//! The warnings agents get about their tickets' terms (`rules::deadline::warnings`): once a
//! share of a term has passed, a few business days before it ends, and after it. A daily
//! schedule on AWS (the local server: a timer) reads, per agency, the tickets owed one from
//! their index, queues one mail per agent to warn, and marks the ticket.
//!
//! Once, under any concurrency: each mail's Message-ID is made from the ticket, the warning,
//! the agent and the due date, and the queue writes a Message-ID only once; the mark is a conditional
//! write. Two sweeps at once queue each mail once; a sweep that stops between the mails and
//! the mark is finished by the next, which finds the mails queued and marks the ticket.

use std::collections::{BTreeMap, BTreeSet};

use ventanilla_domain::model::agents::{Agent, AlertEvent, Delivery, Role};
use ventanilla_domain::model::mail_queue::{HeldAlert, Notice, Recipient};
use ventanilla_domain::model::term::WarningPoint;
use ventanilla_domain::model::ticket::TicketUpdate;
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, BlobStore, DueCursor, DueQuery, IdentifierSecret, MailQueue,
    Mailer, StoreError, Throttle, TicketStore,
};
use ventanilla_domain::rules::deadline::{day_in_ecuador, warning_due};
use ventanilla_domain::{AgencyCode, Lang, Ticket, TicketChange, TicketNumber};

use crate::Desk;
use crate::alerts::Summary;

/// Tickets read from the index at a time.
const PAGE: usize = 100;
/// How long a sweep warns before it leaves the rest to the next run (hourly on AWS during
/// office hours), inside inbound-mail's 60 s, with the mail queue's sweep after it.
const SWEEP_TIME: std::time::Duration = std::time::Duration::from_secs(20);

/// What a sweep of the warnings did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WarningReport {
    /// Tickets marked as warned.
    pub warned: usize,
    /// Mails queued (one per agent and warning).
    pub mails: usize,
    /// Tickets owed a warning that no agent with an address could get: marked all the same
    /// (nobody would get it tomorrow either), and logged.
    pub nobody_to_tell: usize,
    /// Tickets changed by someone else meanwhile: the next sweep tries them again.
    pub changed_meanwhile: usize,
    /// Whether the sweep stopped at its time limit, leaving the rest to the next one.
    pub cut_short: bool,
}

/// Who is warned about `ticket`: its assignee, or every agent of its agency while nobody
/// has it; and the agency's supervisors and admins. Only active agents with an address
/// who did not turn deadline warnings off;
/// never an operator (the platform's staff, not the agency's).
pub fn recipients<'a>(ticket: &Ticket, agents: &'a [Agent]) -> Vec<&'a Agent> {
    agents
        .iter()
        .filter(|agent| {
            agent.active
                && agent.email.is_some()
                && agent.agency == ticket.agency
                && agent.alerts.deadline != Delivery::Off
        })
        .filter(|agent| match agent.role {
            Role::Operator => false,
            Role::Supervisor | Role::Admin => true,
            Role::Agent => ticket
                .assignee
                .as_ref()
                .is_none_or(|assignee| assignee == &agent.id),
        })
        .collect()
}

impl<S, B, M> Desk<S, B, M, IdentifierSecret>
where
    S: TicketStore + Throttle + MailQueue + AgentDirectory + AgencyDirectory,
    B: BlobStore,
    M: Mailer,
{
    /// Warns about every ticket owed a warning today, in every agency (configured, or saved
    /// by an admin at run time); the mails go with the mail queue's next sweep.
    pub async fn warn_due(&self) -> Result<WarningReport, StoreError> {
        let site = &self.site;
        let today = day_in_ecuador(site.clock.now());
        let mut agencies: BTreeSet<AgencyCode> = site
            .settings
            .agencies
            .iter()
            .map(|a| a.code.clone())
            .collect();
        agencies.extend(self.store.agencies().await?.into_iter().map(|a| a.code));
        let mut report = WarningReport::default();
        let mut staff: BTreeMap<AgencyCode, Vec<Agent>> = BTreeMap::new();
        let started = std::time::Instant::now();
        'agencies: for agency in agencies {
            let mut after: Option<DueCursor> = None;
            loop {
                let page = self
                    .store
                    .tickets_to_warn(&DueQuery {
                        agency: agency.clone(),
                        from: None,
                        until: Some(today),
                        after: after.clone(),
                        limit: PAGE,
                    })
                    .await?;
                for number in &page.items {
                    if started.elapsed() >= SWEEP_TIME {
                        report.cut_short = true;
                        tracing::warn!("deadline warnings sweep cut short; the next run goes on");
                        break 'agencies;
                    }
                    if let Err(error) = self.warn(number, today, &mut staff, &mut report).await {
                        tracing::error!(%error, ticket = %number, "a deadline warning failed; the next sweep tries again");
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(report)
    }

    /// The warning `number` is owed today, if it still is when read.
    async fn warn(
        &self,
        number: &TicketNumber,
        today: chrono::NaiveDate,
        staff: &mut BTreeMap<AgencyCode, Vec<Agent>>,
        report: &mut WarningReport,
    ) -> Result<(), StoreError> {
        let site = &self.site;
        let ticket = match self.store.ticket(number).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound) => return Ok(()),
            Err(error) => return Err(error),
        };
        let Some(point) = warning_due(&ticket, today) else {
            return Ok(());
        };
        if !staff.contains_key(&ticket.agency) {
            let agents = self.store.agents(&ticket.agency).await?;
            staff.insert(ticket.agency.clone(), agents);
        }
        let agents = staff.get(&ticket.agency).map_or(&[][..], Vec::as_slice);
        let to = recipients(&ticket, agents);
        if to.is_empty() {
            report.nobody_to_tell += 1;
            tracing::warn!(ticket = %ticket.number, point = point.as_str(), "a deadline warning has nobody to go to: no active agent of the agency has an e-mail address");
        }
        for agent in to {
            let Some(email) = agent.email.clone() else {
                continue;
            };
            let recipient = Recipient {
                agent: Some(agent.id.clone()),
                agency: agent.agency.clone(),
                name: agent.name.clone(),
                email,
            };
            // The first warning may wait for the morning's digest; "due soon" and "expired"
            // may not.
            if agent.alerts.deadline == Delivery::Daily && point == WarningPoint::SharePassed {
                let held = HeldAlert {
                    ticket: ticket.number.clone(),
                    event: AlertEvent::Deadline,
                };
                self.hold(held, recipient, Summary::Daily, site.clock.now())
                    .await?;
                report.mails += 1;
                continue;
            }
            // The due date is part of it: after an extension the new date's warnings are
            // other mails.
            let due = ticket.due_key().map(|d| d.to_string()).unwrap_or_default();
            let key = format!(
                "{}|{}|{}|{due}",
                ticket.number,
                point.as_str(),
                agent.id.as_str()
            );
            let now = site.clock.now();
            let mut intent = site.mail_intent(
                site.derived_mail_id("warning", &key),
                Notice::DeadlineWarning { point },
                ventanilla_domain::MessageId::UNSET,
                Lang::Es,
                None,
            );
            // Nobody sends it right after the write: the sweeper may take it at once.
            intent.writer_until = now;
            intent.to = Some(recipient);
            let queued = intent.queued(ticket.number.clone(), ticket.agency.clone());
            match self.store.queue_mail(&queued).await {
                Ok(()) => report.mails += 1,
                Err(StoreError::AlreadyExists) => {}
                Err(error) => return Err(error),
            }
        }
        self.mark(&ticket, point, report).await
    }

    async fn mark(
        &self,
        ticket: &Ticket,
        point: WarningPoint,
        report: &mut WarningReport,
    ) -> Result<(), StoreError> {
        let update = TicketUpdate {
            number: ticket.number.clone(),
            expected_version: ticket.version,
            change: TicketChange {
                warned: Some(point),
                ..TicketChange::default()
            },
            message: None,
            mails: Vec::new(),
        };
        match self.store.update(update).await {
            Ok(_) => {
                report.warned += 1;
                tracing::info!(ticket = %ticket.number, point = point.as_str(), "deadline warning queued");
                Ok(())
            }
            Err(StoreError::VersionConflict) => {
                report.changed_meanwhile += 1;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}
