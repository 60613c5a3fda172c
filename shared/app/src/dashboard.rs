//! An agency's dashboard for its supervisors: what came in and went out in a period, how
//! quickly, and what is still open, read from its figures (`rules::stats`), never from its
//! tickets.

use chrono::{Datelike, Duration, NaiveDate};
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::{BlobStore, Mailer};
use ventanilla_domain::rules::deadline::day_in_ecuador;
use ventanilla_domain::rules::stats::{Bucket, Counts, counter, sum};
use ventanilla_domain::{AgencyCode, FieldError, FieldProblem, QueueName};

use crate::AppError;
use crate::session::{AgentPorts, Session};

/// A period may span at most this many days (three years): what one dashboard reads.
pub const MAX_DAYS: i64 = 3 * 366;

/// The first year a period may start in: no agency worked on Ventanilla before it (and
/// dates far from now are refused before any arithmetic on them).
pub const FIRST_YEAR: i32 = 2020;

/// The days a dashboard covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// `kind` `semana` (the last 7 days), `mes` (this month), `anio` (this year) or
    /// `personalizado` with `from` and `to` (`YYYY-MM-DD`); English names too. `today` is
    /// Ecuador's.
    pub fn parse(
        kind: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, AppError> {
        let day = |field: &'static str, text: Option<&str>| {
            let text = text.map(str::trim).filter(|t| !t.is_empty());
            let text = text.ok_or_else(|| FieldError::new(field, FieldProblem::Required))?;
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| (FIRST_YEAR..=today.year() + 1).contains(&d.year()))
                .ok_or_else(|| FieldError::new(field, FieldProblem::InvalidFormat))
        };
        let period = match kind.map(str::trim).unwrap_or("mes") {
            "semana" | "week" => Period {
                from: today - Duration::days(6),
                to: today,
            },
            "" | "mes" | "month" => Period {
                from: today.with_day(1).unwrap_or(today),
                to: today,
            },
            "anio" | "year" => Period {
                from: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
                to: today,
            },
            "personalizado" | "custom" => {
                let from = day("from", from).map_err(AppError::invalid)?;
                let to = day("to", to).map_err(AppError::invalid)?;
                if to < from || (to - from).num_days() >= MAX_DAYS {
                    return Err(AppError::invalid(FieldError::new(
                        "to",
                        FieldProblem::InvalidFormat,
                    )));
                }
                Period { from, to }
            }
            _ => {
                return Err(AppError::invalid(FieldError::new(
                    "period",
                    FieldProblem::UnknownValue,
                )));
            }
        };
        Ok(period)
    }
}

/// What a week (from Monday) of the period saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Week {
    /// Its Monday (or the period's first day).
    pub starts: NaiveDate,
    pub opened: i64,
    pub finished: i64,
}

/// An agent's work: finished in the period, unfinished now with them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workload {
    /// The agent's id, `-` for nobody.
    pub agent: String,
    pub name: Option<String>,
    pub finished: i64,
    pub open: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Dashboard {
    pub agency: AgencyCode,
    pub queue: Option<QueueName>,
    pub period: Period,
    /// Every counter summed over the period's days.
    pub totals: Counts,
    pub weeks: Vec<Week>,
    /// Unfinished tickets now, by the month they were received in (oldest first).
    pub backlog: Vec<(NaiveDate, i64)>,
    pub workload: Vec<Workload>,
    /// How many stored items it read.
    pub items_read: usize,
}

/// What a supervisor asks for.
#[derive(Debug, Clone, Default)]
pub struct DashboardQuery {
    /// Another agency than the agent's own: operators only.
    pub agency: Option<String>,
    pub queue: Option<String>,
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl<S: AgentPorts, B, M> Session<S, B, M> {
    /// The agency, queue and period a report (a dashboard, an export) covers: supervisors
    /// and admins read their own agency, operators any.
    pub(crate) fn report_scope(
        &self,
        query: &DashboardQuery,
    ) -> Result<(AgencyCode, Option<QueueName>, Period), AppError> {
        self.require(Role::Supervisor)?;
        let agency = self.readable_agency(query.agency.as_deref())?;
        if agency != self.agent.agency {
            self.require(Role::Operator)?;
        }
        let queue = match query.queue.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let queue = QueueName::parse(text).map_err(AppError::invalid)?;
                if !self.site.settings.queues_of(&agency).contains(&queue) {
                    return Err(AppError::invalid(FieldError::new(
                        "queue",
                        FieldProblem::UnknownValue,
                    )));
                }
                Some(queue)
            }
        };
        let today = day_in_ecuador(self.site.clock.now());
        let period = Period::parse(
            query.period.as_deref(),
            query.from.as_deref(),
            query.to.as_deref(),
            today,
        )?;
        Ok((agency, queue, period))
    }
}

impl<S: AgentPorts, B: BlobStore, M: Mailer> Session<S, B, M> {
    /// The dashboard of the agent's agency (supervisors and admins; operators name any).
    pub async fn dashboard(&self, query: &DashboardQuery) -> Result<Dashboard, AppError> {
        let (agency, queue, period) = self.report_scope(query)?;
        let (tally, items_read) = self
            .desk
            .store
            .stats(&agency, period.from, period.to)
            .await?;
        let mine: Vec<_> = tally
            .items()
            .filter(|(key, _)| queue.as_ref().is_none_or(|q| &key.queue == q))
            .collect();
        let days = || {
            mine.iter().filter_map(|(key, counts)| match key.bucket {
                Bucket::Day(day) if day >= period.from && day <= period.to => Some((day, *counts)),
                _ => None,
            })
        };
        let totals = sum(days().map(|(_, counts)| counts));
        let mut weeks: Vec<Week> = Vec::new();
        let first_monday =
            period.from - Duration::days(period.from.weekday().num_days_from_monday().into());
        let mut monday = first_monday;
        while monday <= period.to {
            weeks.push(Week {
                starts: monday.max(period.from),
                opened: 0,
                finished: 0,
            });
            monday += Duration::days(7);
        }
        for (day, counts) in days() {
            let index = usize::try_from((day - first_monday).num_days() / 7).unwrap_or(0);
            if let Some(week) = weeks.get_mut(index) {
                week.opened += counts.get(counter::OPENED).copied().unwrap_or(0);
                week.finished += counts.get(counter::FINISHED).copied().unwrap_or(0);
            }
        }
        let mut backlog: Vec<(NaiveDate, i64)> = Vec::new();
        let mut open_with = Counts::new();
        for (key, counts) in &mine {
            if let Bucket::OpenSince(month) = key.bucket {
                let open = counts.get(counter::OPEN).copied().unwrap_or(0);
                match backlog.iter_mut().find(|(m, _)| *m == month) {
                    Some((_, n)) => *n += open,
                    None => backlog.push((month, open)),
                }
                for (name, value) in *counts {
                    if let Some(agent) = name.strip_prefix("open_with.") {
                        *open_with.entry(agent.to_owned()).or_default() += value;
                    }
                }
            }
        }
        backlog.retain(|(_, n)| *n != 0);
        backlog.sort();
        let names: std::collections::HashMap<String, String> = self
            .desk
            .store
            .agents(&agency)
            .await?
            .into_iter()
            .map(|agent| (agent.id.as_str().to_owned(), agent.name.clone()))
            .collect();
        let mut workload: Vec<Workload> = Vec::new();
        let finished_by = ventanilla_domain::rules::stats::by_prefix(&totals, "finished_by");
        let mut agents: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for (agent, n) in finished_by {
            agents.entry(agent.to_owned()).or_default().0 += n;
        }
        for (agent, n) in &open_with {
            agents.entry(agent.clone()).or_default().1 += n;
        }
        for (agent, (finished, open)) in agents {
            if finished == 0 && open == 0 {
                continue;
            }
            workload.push(Workload {
                name: names.get(&agent).cloned(),
                agent,
                finished,
                open,
            });
        }
        workload.sort_by(|a, b| {
            (b.finished + b.open)
                .cmp(&(a.finished + a.open))
                .then(a.agent.cmp(&b.agent))
        });
        Ok(Dashboard {
            agency,
            queue,
            period,
            totals,
            weeks,
            backlog,
            workload,
            items_read,
        })
    }
}
