//! Counters with a window, agents, agencies and the audit trail.

use super::*;

impl Throttle for SqliteStore {
    async fn take(
        &self,
        key: &ThrottleKey,
        window: std::time::Duration,
        now: Timestamp,
        limit: u64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let key = key.as_str().to_owned();
        let start = window_start(window, now);
        let expires_at = start.saturating_add(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A window may be taken for a moment ahead (a link's expiry, a bounce's next
        // period): only what ended a whole window before it is surely over now.
        let over_before = now
            .unix_seconds()
            .saturating_sub(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
        self.transaction(move |tx| {
            // Windows that are over are of no use to any key: swept here (by the expiry
            // index), so the table holds only live windows without a job of its own.
            execute(
                tx,
                "DELETE FROM throttle WHERE expires_at <= ?1",
                params![over_before],
            )
            .map_err(db)?;
            // One statement: the row is counted only while it is under the limit, so that
            // parallel takers cannot all read "under" and all pass. A row inserted or updated
            // is a take; none changed is the limit. (No RETURNING: SQLite builds a temporary
            // table for it on every call.)
            let changed = execute(
                tx,
                "INSERT INTO throttle (key, window_start, count, expires_at) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1
                     WHERE count < ?4",
                params![key, start, expires_at, limit],
            )
            .map_err(db)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn release(
        &self,
        key: &ThrottleKey,
        window: std::time::Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key.as_str().to_owned();
        let start = window_start(window, now);
        self.transaction(move |tx| {
            execute(
                tx,
                "UPDATE throttle SET count = count - 1
                     WHERE key = ?1 AND window_start = ?2 AND count > 0",
                params![key, start],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn counts(
        &self,
        keys: &[ThrottleKey],
        window: std::time::Duration,
        now: Timestamp,
    ) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
        let start = window_start(window, now);
        self.transaction(move |tx| {
            keys.iter()
                .map(|key| {
                    let count: Option<i64> = query_row(
                        tx,
                        "SELECT count FROM throttle WHERE key = ?1 AND window_start = ?2",
                        params![key, start],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                    Ok(count.map_or(0, |c| u64::try_from(c).unwrap_or(0)))
                })
                .collect()
        })
        .await
    }
}

pub(super) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// An agent's columns: id, agency, token hash and the whole agent.
fn agent_row(agent: &Agent) -> Result<[String; 4], StoreError> {
    Ok([
        agent.id.as_str().to_owned(),
        agent.agency.as_str().to_owned(),
        agent.token_hash.as_str().to_owned(),
        to_json(agent)?,
    ])
}

impl AgentDirectory for SqliteStore {
    async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let row = agent_row(agent)?;
        self.transaction(move |tx| {
            match execute(
                tx,
                "INSERT INTO agents (id, agency, token_hash, agent) VALUES (?1, ?2, ?3, ?4)",
                row,
            ) {
                Ok(_) => Ok(()),
                Err(error) if is_unique_violation(&error) => Err(StoreError::AlreadyExists),
                Err(error) => Err(db(error)),
            }
        })
        .await
    }

    async fn save_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let row = agent_row(agent)?;
        self.transaction(move |tx| {
            let changed = execute(
                tx,
                "UPDATE agents SET agency = ?2, token_hash = ?3, agent = ?4 WHERE id = ?1",
                row,
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            if changed == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        let id = id.as_str().to_owned();
        self.transaction(move |tx| {
            let json = first_text(tx, "SELECT agent FROM agents WHERE id = ?1", &id)?;
            from_json(&json.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn agent_by_token(&self, hash: &TokenHash) -> Result<Option<Agent>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.transaction(move |tx| {
            let json = first_text(tx, "SELECT agent FROM agents WHERE token_hash = ?1", &hash)?;
            json.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn agents(&self, agency: &AgencyCode) -> Result<Vec<Agent>, StoreError> {
        let sql = "SELECT agent FROM agents WHERE agency = ?1 ORDER BY id";
        self.documents(sql, agency.as_str()).await
    }

    async fn mark_open(&self, ticket: &TicketNumber, viewer: &Viewer) -> Result<(), StoreError> {
        let json = to_json(viewer)?;
        let (ticket, agent) = (
            ticket.as_str().to_owned(),
            viewer.agent.id.as_str().to_owned(),
        );
        let until = viewer.until.unix_seconds();
        self.transaction(move |tx| {
            // Records that are over are of no use: swept here, so the table holds only the
            // tickets open now.
            execute(
                tx,
                "DELETE FROM viewing WHERE until <= ?1",
                params![until - VIEWING_KEPT_SECONDS],
            )
            .map_err(db)?;
            execute(
                tx,
                "INSERT INTO viewing (ticket, agent, until, viewer) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (ticket, agent) DO UPDATE SET until = excluded.until, viewer = excluded.viewer",
                params![ticket, agent, until, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn open_by(
        &self,
        ticket: &TicketNumber,
        now: Timestamp,
    ) -> Result<Vec<Viewer>, StoreError> {
        let ticket = ticket.as_str().to_owned();
        let now = now.unix_seconds();
        self.transaction(move |tx| {
            json_rows(
                tx,
                "SELECT viewer FROM viewing WHERE ticket = ?1 AND until > ?2 ORDER BY agent",
                params![ticket, now],
            )
        })
        .await
    }
}

/// How long a record of an open ticket is kept past its end: a marker's own clock may lag.
const VIEWING_KEPT_SECONDS: i64 = 3600;

impl AgencyDirectory for SqliteStore {
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.agencies
            .get_or_load(
                self.transaction(|tx| {
                    json_rows(tx, "SELECT agency FROM agencies ORDER BY code", [])
                }),
            )
            .await
    }

    async fn save_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        let json = to_json(agency)?;
        let code = agency.code.as_str().to_owned();
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO agencies (code, agency) VALUES (?1, ?2)
                 ON CONFLICT (code) DO UPDATE SET agency = excluded.agency",
                params![code, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await?;
        self.agencies.forget();
        Ok(())
    }

    async fn calendar_days(
        &self,
        agency: &AgencyCode,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
    ) -> Result<Vec<CalendarDay>, StoreError> {
        let agency = agency.as_str().to_owned();
        let (first, last) = (first.to_string(), last.to_string());
        self.transaction(move |tx| {
            json_rows(
                tx,
                "SELECT entry FROM calendar_days
                 WHERE agency = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
                params![agency, first, last],
            )
        })
        .await
    }

    async fn save_calendar_day(&self, day: &CalendarDay) -> Result<(), StoreError> {
        let json = to_json(day)?;
        let (agency, date) = (day.agency.as_str().to_owned(), day.day.to_string());
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO calendar_days (agency, day, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (agency, day) DO UPDATE SET entry = excluded.entry",
                params![agency, date, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn remove_calendar_day(
        &self,
        agency: &AgencyCode,
        day: chrono::NaiveDate,
    ) -> Result<Option<CalendarDay>, StoreError> {
        let (agency, date) = (agency.as_str().to_owned(), day.to_string());
        let removed = self
            .transaction(move |tx| {
                let removed: Vec<CalendarDay> = json_rows(
                    tx,
                    "DELETE FROM calendar_days WHERE agency = ?1 AND day = ?2 RETURNING entry",
                    params![agency, date],
                )?;
                Ok(removed.into_iter().next())
            })
            .await?;
        Ok(removed)
    }

    async fn canned_responses(
        &self,
        agency: &AgencyCode,
    ) -> Result<Vec<CannedResponse>, StoreError> {
        let agency = agency.as_str().to_owned();
        self.transaction(move |tx| {
            json_rows(
                tx,
                "SELECT entry FROM canned_responses WHERE agency = ?1 ORDER BY id",
                params![agency],
            )
        })
        .await
    }

    async fn save_canned_response(&self, canned: &CannedResponse) -> Result<(), StoreError> {
        let json = to_json(canned)?;
        let (agency, id) = (
            canned.agency.as_str().to_owned(),
            canned.id.as_str().to_owned(),
        );
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO canned_responses (agency, id, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (agency, id) DO UPDATE SET entry = excluded.entry",
                params![agency, id, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn remove_canned_response(
        &self,
        agency: &AgencyCode,
        id: &CannedId,
    ) -> Result<Option<CannedResponse>, StoreError> {
        let (agency, id) = (agency.as_str().to_owned(), id.as_str().to_owned());
        self.transaction(move |tx| {
            let removed: Vec<CannedResponse> = json_rows(
                tx,
                "DELETE FROM canned_responses WHERE agency = ?1 AND id = ?2 RETURNING entry",
                params![agency, id],
            )?;
            Ok(removed.into_iter().next())
        })
        .await
    }
}

impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = to_json(entry)?;
        let ticket = entry.ticket.as_ref().map(|n| n.as_str().to_owned());
        let at = entry.at.to_string();
        self.transaction(move |tx| {
            execute(
                tx,
                "INSERT INTO audit (ticket, at, entry) VALUES (?1, ?2, ?3)",
                params![ticket, at, json],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn ticket_audit(&self, number: &TicketNumber) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = "SELECT entry FROM audit WHERE ticket = ?1 ORDER BY at, seq";
        self.documents(sql, number.as_str()).await
    }
}
