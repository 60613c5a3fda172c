//! Races an agent's request can lose: a transfer, or a colleague's change, that lands
//! between the agent's read and the write. The store below lets the other request win on
//! cue, deterministically, through the agent API's real router.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use std::time::Duration;
use tower::ServiceExt;
use ventanilla_adapters::folder::FolderBlobs;
use ventanilla_adapters::outbox::OutboxMailer;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::SystemClock;
use ventanilla_domain::Timestamp;
use ventanilla_domain::model::agencies::{Agency, CalendarDay};
use ventanilla_domain::model::agents::{Agent, AuditEntry, Role, TokenHash, Viewer};
use ventanilla_domain::model::canned_responses::{CannedId, CannedResponse};
use ventanilla_domain::model::erasure::Erasure;
use ventanilla_domain::model::mail::MailMessageId;
use ventanilla_domain::model::mail_queue::QueuedMail;
use ventanilla_domain::model::ticket::{MessageId, TicketDraft, TicketUpdate};
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, AuditLog, DueCursor, DueQuery, MailQueue, Opened, Page,
    QueueQuery, StatsStore, StoreError, ThreadCursor, ThreadQuery, Throttle, ThrottleKey,
    TicketStore,
};
use ventanilla_domain::rules::stats::Tally;
use ventanilla_domain::{
    AgencyCode, AgentId, Email, Message, MessageKind, QueueName, Ticket, TicketChange, TicketNumber,
};

use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::{AccessLinks, Settings, Site};

use super::Office;

/// SQLite, except that the first ticket update after `arm` is preceded by `midway` on that
/// ticket: another agent's request that won (a transfer to MINTEL without a referral, a
/// change of priority).
#[derive(Clone)]
struct TransferredMidway {
    inner: SqliteStore,
    armed: Arc<AtomicBool>,
    midway: TicketChange,
}

fn transfer_to_mintel() -> TicketChange {
    TicketChange {
        queue: Some((
            AgencyCode::parse("MINTEL").unwrap(),
            QueueName::parse("soporte-tecnico").unwrap(),
        )),
        assignee: Some(None),
        ..TicketChange::default()
    }
}

impl TicketStore for TransferredMidway {
    async fn open(&self, draft: TicketDraft) -> Result<Opened, StoreError> {
        self.inner.open(draft).await
    }
    async fn ticket(&self, number: &TicketNumber) -> Result<Ticket, StoreError> {
        self.inner.ticket(number).await
    }
    async fn thread_page(
        &self,
        number: &TicketNumber,
        query: &ThreadQuery,
    ) -> Result<(Ticket, Page<Message, ThreadCursor>), StoreError> {
        self.inner.thread_page(number, query).await
    }
    async fn update_pair(
        &self,
        first: TicketUpdate,
        second: TicketUpdate,
    ) -> Result<(Ticket, Ticket), StoreError> {
        self.inner.update_pair(first, second).await
    }
    async fn update(&self, update: TicketUpdate) -> Result<Ticket, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            let current = self.inner.ticket(&update.number).await?;
            let winner = TicketUpdate {
                number: current.number.clone(),
                expected_version: current.version,
                change: self.midway.clone(),
                message: None,
                mails: Vec::new(),
            };
            self.inner.update(winner).await?;
        }
        self.inner.update(update).await
    }
    async fn add_event(&self, number: &TicketNumber, event: &Message) -> Result<(), StoreError> {
        self.inner.add_event(number, event).await
    }
    async fn link_mail_id(
        &self,
        number: &TicketNumber,
        message: MessageId,
        mail_id: &MailMessageId,
    ) -> Result<(), StoreError> {
        self.inner.link_mail_id(number, message, mail_id).await
    }
    async fn find_by_mail_ids(
        &self,
        mail_ids: &[MailMessageId],
    ) -> Result<Vec<Option<TicketNumber>>, StoreError> {
        self.inner.find_by_mail_ids(mail_ids).await
    }
    async fn queue(&self, query: &QueueQuery) -> Result<Page<Ticket>, StoreError> {
        self.inner.queue(query).await
    }
    async fn due_tickets(&self, query: &DueQuery) -> Result<Page<Ticket, DueCursor>, StoreError> {
        self.inner.due_tickets(query).await
    }
    async fn tickets_to_warn(
        &self,
        query: &DueQuery,
    ) -> Result<Page<TicketNumber, DueCursor>, StoreError> {
        self.inner.tickets_to_warn(query).await
    }
    async fn search(&self, keys: &[String], limit: usize) -> Result<Vec<TicketNumber>, StoreError> {
        self.inner.search(keys, limit).await
    }
    async fn requester_tickets(&self, email: &Email) -> Result<Vec<Ticket>, StoreError> {
        self.inner.requester_tickets(email).await
    }
    async fn erase(&self, erasure: &Erasure) -> Result<Ticket, StoreError> {
        self.inner.erase(erasure).await
    }
}

impl StatsStore for TransferredMidway {
    async fn stats(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<(Tally, usize), StoreError> {
        self.inner.stats(agency, from, to).await
    }
    async fn all_stats(&self) -> Result<Tally, StoreError> {
        self.inner.all_stats().await
    }
    async fn add_stats(&self, tally: &Tally) -> Result<(), StoreError> {
        self.inner.add_stats(tally).await
    }
    async fn every_ticket(
        &self,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        self.inner.every_ticket(after).await
    }
    async fn received_tickets(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        self.inner.received_tickets(agency, from, to, after).await
    }
}

impl AgentDirectory for TransferredMidway {
    async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        self.inner.add_agent(agent).await
    }
    async fn save_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        self.inner.save_agent(agent).await
    }
    async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        self.inner.agent(id).await
    }
    async fn agent_by_token(&self, hash: &TokenHash) -> Result<Option<Agent>, StoreError> {
        self.inner.agent_by_token(hash).await
    }
    async fn agents(&self, agency: &AgencyCode) -> Result<Vec<Agent>, StoreError> {
        self.inner.agents(agency).await
    }
    async fn mark_open(&self, ticket: &TicketNumber, viewer: &Viewer) -> Result<(), StoreError> {
        self.inner.mark_open(ticket, viewer).await
    }
    async fn open_by(
        &self,
        ticket: &TicketNumber,
        now: Timestamp,
    ) -> Result<Vec<Viewer>, StoreError> {
        self.inner.open_by(ticket, now).await
    }
}

impl AgencyDirectory for TransferredMidway {
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.inner.agencies().await
    }
    async fn save_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        self.inner.save_agency(agency).await
    }
    async fn calendar_days(
        &self,
        agency: &AgencyCode,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
    ) -> Result<Vec<CalendarDay>, StoreError> {
        self.inner.calendar_days(agency, first, last).await
    }
    async fn save_calendar_day(&self, day: &CalendarDay) -> Result<(), StoreError> {
        self.inner.save_calendar_day(day).await
    }
    async fn remove_calendar_day(
        &self,
        agency: &AgencyCode,
        day: chrono::NaiveDate,
    ) -> Result<Option<CalendarDay>, StoreError> {
        self.inner.remove_calendar_day(agency, day).await
    }
    async fn canned_responses(
        &self,
        agency: &AgencyCode,
    ) -> Result<Vec<CannedResponse>, StoreError> {
        self.inner.canned_responses(agency).await
    }
    async fn save_canned_response(&self, canned: &CannedResponse) -> Result<(), StoreError> {
        self.inner.save_canned_response(canned).await
    }
    async fn remove_canned_response(
        &self,
        agency: &AgencyCode,
        id: &CannedId,
    ) -> Result<Option<CannedResponse>, StoreError> {
        self.inner.remove_canned_response(agency, id).await
    }
}

impl Throttle for TransferredMidway {
    async fn take(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
        limit: u64,
    ) -> Result<bool, StoreError> {
        self.inner.take(key, window, now, limit).await
    }
    async fn release(
        &self,
        key: &ThrottleKey,
        window: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.release(key, window, now).await
    }
    async fn counts(
        &self,
        keys: &[ThrottleKey],
        window: Duration,
        now: Timestamp,
    ) -> Result<Vec<u64>, StoreError> {
        self.inner.counts(keys, window, now).await
    }
}

impl MailQueue for TransferredMidway {
    async fn queue_mail(&self, mail: &QueuedMail) -> Result<(), StoreError> {
        self.inner.queue_mail(mail).await
    }
    async fn save_mail(&self, mail: &QueuedMail) -> Result<bool, StoreError> {
        self.inner.save_mail(mail).await
    }
    async fn queued_mail(&self, id: &MailMessageId) -> Result<QueuedMail, StoreError> {
        self.inner.queued_mail(id).await
    }
    async fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<QueuedMail>, StoreError> {
        self.inner.due_mail(now, limit).await
    }
    async fn parked_mail(
        &self,
        agency: &AgencyCode,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        self.inner.parked_mail(agency, limit).await
    }
}

impl AuditLog for TransferredMidway {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.inner.record(entry).await
    }
    async fn ticket_audit(&self, number: &TicketNumber) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.ticket_audit(number).await
    }
}

/// Issue 18, point 6: the reply's retry after the version conflict checks access again,
/// and MINTEL's ticket gets neither the MDT agent's reply nor their note.
#[tokio::test]
async fn a_reply_retried_after_a_transfer_checks_access_again() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let armed = Arc::new(AtomicBool::new(false));
    let store = TransferredMidway {
        inner: office.store.clone(),
        armed: Arc::clone(&armed),
        midway: transfer_to_mintel(),
    };
    let blobs = FolderBlobs::new(
        office.dir.path().join("blobs"),
        "http://127.0.0.1:3000",
        vec![2; 32],
    );
    let site = Site {
        settings: Settings::parse(DEFAULT_CONFIG).unwrap(),
        links: AccessLinks::new(&[3; 32]).unwrap(),
        clock: Arc::new(SystemClock),
        ids: Arc::new(ventanilla_adapters::system::UuidV7),
    };
    let desk = ventanilla_app::Desk {
        site,
        store,
        blobs,
        mailer: OutboxMailer::new(office.dir.path().join("outbox")),
        identifiers: (),
    };
    let racing = agent_api::router(Arc::new(desk));
    for (route, body) in [
        ("replies", json!({"text": "Ya revisamos su caso."})),
        ("notes", json!({"text": "Nota interna de MDT."})),
    ] {
        let number = office.ticket("MDT").await;
        armed.store(true, Ordering::SeqCst);
        let path = format!("/api/v1/agent/tickets/{number}/{route}");
        let request = Request::post(&path)
            .header("authorization", format!("Bearer {agent}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = racing.clone().oneshot(request).await.unwrap();
        assert_eq!(answer.status().as_u16(), 404, "{route}");
        let (ticket, thread) = office.store.thread(&number).await.unwrap();
        assert_eq!(ticket.agency.as_str(), "MINTEL");
        let by_agents = thread
            .iter()
            .filter(|m| matches!(m.kind, MessageKind::PublicReply | MessageKind::InternalNote))
            .count();
        assert_eq!(by_agents, 0, "{route}: {thread:?}");
    }
}

/// Issue 22, point 4: a reply sent with the version the agent saw, read before a colleague's
/// change lands and written after it: the write loses the race, the ticket is read again, and
/// the reply is refused on that version (409), not written over it.
#[tokio::test]
async fn a_reply_that_loses_the_race_to_a_change_is_refused_on_the_version_written() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let armed = Arc::new(AtomicBool::new(false));
    let store = TransferredMidway {
        inner: office.store.clone(),
        armed: Arc::clone(&armed),
        midway: TicketChange {
            priority: Some(ventanilla_domain::Priority::Urgent),
            ..TicketChange::default()
        },
    };
    let desk = ventanilla_app::Desk {
        site: Site {
            settings: Settings::parse(DEFAULT_CONFIG).unwrap(),
            links: AccessLinks::new(&[3; 32]).unwrap(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(ventanilla_adapters::system::UuidV7),
        },
        store,
        blobs: FolderBlobs::new(
            office.dir.path().join("blobs"),
            "http://127.0.0.1:3000",
            vec![2; 32],
        ),
        mailer: OutboxMailer::new(office.dir.path().join("outbox")),
        identifiers: (),
    };
    let racing = agent_api::router(Arc::new(desk));
    for route in ["replies", "notes"] {
        let number = office.ticket("MDT").await;
        let seen = office.version(&number).await;
        armed.store(true, Ordering::SeqCst);
        let body = json!({"text": "Respuesta que llega tarde.", "version": seen});
        let request = Request::post(format!("/api/v1/agent/tickets/{number}/{route}"))
            .header("authorization", format!("Bearer {agent}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = racing.clone().oneshot(request).await.unwrap();
        assert_eq!(answer.status().as_u16(), 409, "{route}");
        let (ticket, thread) = office.store.thread(&number).await.unwrap();
        assert_eq!(
            ticket.version,
            seen + 1,
            "{route}: only the colleague's change"
        );
        assert!(
            thread
                .iter()
                .all(|m| !m.body.as_str().contains("llega tarde")),
            "{route}: {thread:?}"
        );
    }
}
