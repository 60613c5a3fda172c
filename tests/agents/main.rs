//! The agent API through its router: the authorisation matrix over every ticket route (role
//! × own agency × other agency × transferred with a referral), tokens, stale versions,
//! notes kept from citizens, and the audit trail. Embedded adapters; the mail loop against
//! the stand-ins is in `tests/agents/loop_aws.rs`.

#![allow(clippy::unwrap_used)]

mod abuse;
mod alerts;
mod alerts_aws;
mod calendar_days;
mod callers;
mod canned;
mod exports;
mod figures;
mod loop_aws;
mod merge;
mod privacy;
mod races;
mod ratings;
mod related;
mod search;

use std::sync::Arc;
use ventanilla_domain::Choice;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_adapters::folder::FolderBlobs;
use ventanilla_adapters::outbox::OutboxMailer;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::open_ticket;
use ventanilla_app::{AccessLinks, Settings, Site};
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::ports::{Clock, TicketStore};
use ventanilla_domain::{AgencyCode, AgentId, Category, QueueName, TicketNumber};

#[derive(Debug)]
pub struct Office {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub router: Router,
    /// What citizens send (create-ticket's router): the rating of a finished ticket.
    pub intake: Router,
    pub mail: ventanilla_app::Desk<SqliteStore, FolderBlobs, OutboxMailer>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Default for Office {
    fn default() -> Self {
        Self::new()
    }
}

impl Office {
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = Site {
            settings: Settings::parse(DEFAULT_CONFIG).unwrap(),
            links: AccessLinks::new(&[3; 32]).unwrap(),
            clock,
            ids: Arc::new(UuidV7),
        };
        let store = SqliteStore::open(&dir.path().join("ventanilla.sqlite3")).unwrap();
        let blobs = FolderBlobs::new(
            dir.path().join("blobs"),
            "http://127.0.0.1:3000",
            vec![2; 32],
        );
        let desk = ventanilla_app::Desk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: OutboxMailer::new(dir.path().join("outbox")),
            identifiers: (),
        };
        let mail = ventanilla_app::Desk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: OutboxMailer::new(dir.path().join("outbox")),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
        };
        let intake = create_ticket::router(Arc::new(ventanilla_app::Desk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: OutboxMailer::new(dir.path().join("outbox")),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
        }));
        let status = ventanilla_app::Desk {
            site,
            store: store.clone(),
            blobs,
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
            mailer: (),
        };
        let router =
            agent_api::router(Arc::new(desk)).merge(ticket_status::router(Arc::new(status)));
        Office {
            dir,
            store,
            router,
            intake,
            mail,
        }
    }

    /// Every mail in the outbox, as written.
    pub fn outbox(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("outbox"))
            .map(|dir| {
                dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn agent(&self, agency: &str, role: Role) -> String {
        let id = AgentId::parse(&ventanilla_tests::unique("agente-")).unwrap();
        let (_, token) = ventanilla_app::agents::create(
            &self.store,
            &SystemClock,
            id,
            "Agente de prueba".into(),
            AgencyCode::parse(agency).unwrap(),
            role,
            None,
        )
        .await
        .unwrap();
        token.expose().to_owned()
    }

    pub async fn ticket(&self, agency: &str) -> TicketNumber {
        let mut new = ventanilla_tests::new_ticket(
            &AgencyCode::parse(agency).unwrap(),
            Category::ProblemaTecnico,
            "ciudadana@example.com",
        );
        new.queue = QueueName::parse("soporte-tecnico").unwrap();
        open_ticket::open(&self.store, &SystemClock, &UuidV7, new)
            .await
            .unwrap()
            .into_ticket()
            .number
    }

    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.call_in("es", token, method, path, body).await
    }

    /// A call from a browser that asks for `lang` (Accept-Language).
    pub async fn call_in(
        &self,
        lang: &str,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("accept-language", lang);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A citizen's lookup of their ticket (`POST /api/v1/tickets/lookup`).
    pub async fn lookup(&self, body: Value) -> Reply {
        self.call(None, "POST", "/api/v1/tickets/lookup", Some(body))
            .await
    }

    /// A plain GET, as a browser sends it: the status and the body as text.
    pub async fn raw_get(&self, path: &str) -> (u16, String) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn version(&self, number: &TicketNumber) -> u64 {
        self.store.ticket(number).await.unwrap().version
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Own,
    Other,
    Referral,
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Show,
    Change,
    Reply,
    Note,
    Transfer,
    Audit,
}

fn expected(role: Role, place: Place, route: Route) -> u16 {
    use Route::*;
    match (place, route) {
        (Place::Other, _) => 404,
        (Place::Referral, Show) => 200,
        (Place::Referral, Note) => 201,
        (Place::Referral, _) => 403,
        (Place::Own, Show | Change) => 200,
        (Place::Own, Reply | Note) => 201,
        (Place::Own, Transfer) if role >= Role::Supervisor => 200,
        (Place::Own, Audit) if role >= Role::Admin => 200,
        (Place::Own, Transfer | Audit) => 403,
    }
}

#[tokio::test]
async fn the_authorisation_matrix_holds_on_every_ticket_route() {
    let office = Office::new();
    let mut wrong = Vec::new();
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    for &role in Role::ALL {
        let token = office.agent("MDT", role).await;
        for place in [Place::Own, Place::Other, Place::Referral] {
            for route in [
                Route::Show,
                Route::Change,
                Route::Reply,
                Route::Note,
                Route::Transfer,
                Route::Audit,
            ] {
                let number = match place {
                    Place::Own => office.ticket("MDT").await,
                    Place::Other => office.ticket("MINTEL").await,
                    Place::Referral => {
                        // MDT hands the case to MINTEL and keeps a referral.
                        let number = office.ticket("MDT").await;
                        let moved = office
                            .call(
                                Some(&supervisor),
                                "POST",
                                &format!("/api/v1/agent/tickets/{number}/transfer"),
                                Some(
                                    json!({"agency": "MINTEL", "note": "Caso técnico para MINTEL"}),
                                ),
                            )
                            .await;
                        assert_eq!(moved.status, 200, "{}", moved.body);
                        number
                    }
                };
                let base = format!("/api/v1/agent/tickets/{number}");
                let version = office.version(&number).await;
                let answer = match route {
                    Route::Show => office.call(Some(&token), "GET", &base, None).await,
                    Route::Change => {
                        office
                            .call(
                                Some(&token),
                                "PATCH",
                                &base,
                                Some(json!({"version": version, "priority": "high"})),
                            )
                            .await
                    }
                    Route::Reply => {
                        office
                            .call(
                                Some(&token),
                                "POST",
                                &format!("{base}/replies"),
                                Some(json!({"text": "Estamos revisando su caso."})),
                            )
                            .await
                    }
                    Route::Note => {
                        office
                            .call(
                                Some(&token),
                                "POST",
                                &format!("{base}/notes"),
                                Some(json!({"text": "Revisar con TI."})),
                            )
                            .await
                    }
                    Route::Transfer => {
                        office
                            .call(
                                Some(&token),
                                "POST",
                                &format!("{base}/transfer"),
                                Some(json!({"agency": "MINTEL", "note": "Para MINTEL"})),
                            )
                            .await
                    }
                    Route::Audit => {
                        office
                            .call(Some(&token), "GET", &format!("{base}/audit"), None)
                            .await
                    }
                };
                let want = expected(role, place, route);
                if answer.status != want {
                    wrong.push(format!(
                        "{role:?} {place:?} {route:?}: {} (expected {want}) {}",
                        answer.status, answer.body
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn tokens_open_only_while_valid() {
    let office = Office::new();
    let number = office.ticket("MDT").await;
    let path = format!("/api/v1/agent/tickets/{number}");
    assert_eq!(office.call(None, "GET", &path, None).await.status, 401);
    let forged = "vnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        office.call(Some(forged), "GET", &path, None).await.status,
        401
    );
    let admin = office.agent("MDT", Role::Admin).await;
    let added = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents",
            Some(json!({"id": "rosa.p", "name": "Rosa P.", "role": "agent"})),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let rosa = added.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        office.call(Some(&rosa), "GET", &path, None).await.status,
        200
    );
    // An agent cannot manage agents.
    let denied = office
        .call(
            Some(&rosa),
            "POST",
            "/api/v1/agent/agents/rosa.p/disable",
            None,
        )
        .await;
    assert_eq!(denied.status, 403);
    // A new token retires the old one.
    let rotated = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents/rosa.p/token",
            None,
        )
        .await;
    assert_eq!(rotated.status, 200);
    let fresh = rotated.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        office.call(Some(&rosa), "GET", &path, None).await.status,
        401
    );
    assert_eq!(
        office.call(Some(&fresh), "GET", &path, None).await.status,
        200
    );
    let disabled = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents/rosa.p/disable",
            None,
        )
        .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(
        office.call(Some(&fresh), "GET", &path, None).await.status,
        401
    );
    // An admin cannot lock themselves (perhaps the agency's last admin) out.
    let me = office
        .call(Some(&admin), "GET", "/api/v1/agent/me", None)
        .await;
    let own_id = me.body["id"].as_str().unwrap().to_owned();
    let locked_out = office
        .call(
            Some(&admin),
            "POST",
            &format!("/api/v1/agent/agents/{own_id}/disable"),
            None,
        )
        .await;
    assert_eq!(locked_out.status, 403);
    assert_eq!(
        office.call(Some(&admin), "GET", &path, None).await.status,
        200
    );
    // The same id twice names the field.
    let again = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents",
            Some(json!({"id": "rosa.p", "name": "Otra Rosa"})),
        )
        .await;
    assert_eq!(again.status, 422);
    assert_eq!(again.body["errors"][0]["field"], "id");
}

#[tokio::test]
async fn a_stale_version_gets_409_with_the_current_state() {
    let office = Office::new();
    let (ana, luis) = (
        office.agent("MDT", Role::Agent).await,
        office.agent("MDT", Role::Agent).await,
    );
    let number = office.ticket("MDT").await;
    let path = format!("/api/v1/agent/tickets/{number}");
    let seen = office.version(&number).await;
    let (first, second) = tokio::join!(
        office.call(
            Some(&ana),
            "PATCH",
            &path,
            Some(json!({"version": seen, "status": "open"}))
        ),
        office.call(
            Some(&luis),
            "PATCH",
            &path,
            Some(json!({"version": seen, "priority": "urgent"}))
        ),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", first.body, second.body);
    let conflict = if first.status == 409 { &first } else { &second };
    assert_eq!(conflict.body["current"]["version"], seen + 1);
    // A transition the state machine refuses names the field.
    let version = office.version(&number).await;
    let bad = office
        .call(
            Some(&ana),
            "PATCH",
            &path,
            Some(json!({"version": version, "status": "new"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "status");
}

/// Issue 22, point 4: a reply or a note carries the version the agent saw. Two agents
/// answering at once: one goes first, the other gets 409 with the ticket as it stands, and
/// no mail of theirs leaves; without a version the reply goes (the console's "send anyway"
/// sends the new version instead).
#[tokio::test]
async fn two_agents_answering_at_once_never_both_reach_the_citizen() {
    let office = Office::new();
    let (ana, luis) = (
        office.agent("MDT", Role::Agent).await,
        office.agent("MDT", Role::Agent).await,
    );
    let number = office.ticket("MDT").await;
    let path = format!("/api/v1/agent/tickets/{number}/replies");
    let seen = office.version(&number).await;
    let (first, second) = tokio::join!(
        office.call(
            Some(&ana),
            "POST",
            &path,
            Some(json!({"text": "Reinicie el equipo.", "version": seen}))
        ),
        office.call(
            Some(&luis),
            "POST",
            &path,
            Some(json!({"text": "Borre la caché.", "version": seen}))
        ),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", first.body, second.body);
    let (won, lost) = if first.status == 201 {
        (&first, &second)
    } else {
        (&second, &first)
    };
    // The loser is shown the ticket with the winner's reply on it (the winner's answer
    // carries one more version: the mail's delivery, marked after).
    let lost_at = lost.body["current"]["version"].as_u64().unwrap();
    assert!(lost_at > seen, "{}", lost.body);
    assert!(lost_at <= won.body["ticket"]["version"].as_u64().unwrap());
    assert_eq!(lost.body["current"]["status"], won.body["ticket"]["status"]);
    let replies: Vec<String> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|mail| mail.contains("Reinicie") || mail.contains("Borre"))
        .collect();
    assert_eq!(replies.len(), 1, "one answer reached the citizen");

    // A colleague's note moves the ticket too: a note against the old version is refused,
    // one against the new version goes.
    let now = office.version(&number).await;
    let notes = format!("/api/v1/agent/tickets/{number}/notes");
    let noted = office
        .call(
            Some(&ana),
            "POST",
            &notes,
            Some(json!({"text": "Ya respondí.", "version": now})),
        )
        .await;
    assert_eq!(noted.status, 201, "{}", noted.body);
    let stale = office
        .call(
            Some(&luis),
            "POST",
            &notes,
            Some(json!({"text": "Yo también.", "version": now})),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    let fresh = office.version(&number).await;
    let again = office
        .call(
            Some(&luis),
            "POST",
            &notes,
            Some(json!({"text": "Visto.", "version": fresh})),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    // No version: the agent chose to send whatever happened.
    let anyway = office
        .call(
            Some(&luis),
            "POST",
            &path,
            Some(json!({"text": "Confirmo lo anterior."})),
        )
        .await;
    assert_eq!(anyway.status, 201, "{}", anyway.body);
    // A multipart reply's version is read too, and a bad one named.
    let boundary = "xVERSIONx";
    let multipart = |version: &str| {
        Body::from(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nHola\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n{version}\r\n\
             --{boundary}--\r\n"
        ))
    };
    let bad = post_reply(&office, &ana, &number, boundary, multipart("tres")).await;
    assert_eq!(bad.status(), 422);
    let empty = post_reply(&office, &ana, &number, boundary, multipart("")).await;
    assert_eq!(
        empty.status(),
        422,
        "an empty version is not \"no version\""
    );
    // A stale reply with a file: refused before the file is stored.
    let with_file = Body::from(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nHola\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n{seen}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nun archivo\r\n--{boundary}--\r\n"
    ));
    let old = post_reply(&office, &ana, &number, boundary, with_file).await;
    assert_eq!(old.status(), 409);
    assert_eq!(
        files_under(&office.dir.path().join("blobs")),
        0,
        "no file of a refused reply is kept"
    );
}

#[tokio::test]
async fn notes_stay_between_agents_and_actions_are_audited() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let number = office.ticket("MDT").await;
    let base = format!("/api/v1/agent/tickets/{number}");
    let note = office
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/notes"),
            Some(json!({"text": "Nota interna <b>confidencial</b>"})),
        )
        .await;
    assert_eq!(note.status, 201);
    let reply = office
        .call(
            Some(&admin),
            "POST",
            &format!("{base}/replies"),
            Some(json!({"text": "Su caso está en revisión.", "status": "waiting_on_citizen"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["delivered"], true);
    assert_eq!(reply.body["ticket"]["status"], "waiting_on_citizen");

    // The citizen's view: the reply, never the note.
    let lookup = office
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            Some(json!({"email": "ciudadana@example.com", "number": number.as_str()})),
        )
        .await;
    assert_eq!(lookup.status, 200);
    let public = lookup.body.to_string();
    assert!(public.contains("Su caso está en revisión."));
    assert!(!public.contains("confidencial"));
    // The mail: the reply, never the note.
    let outbox: Vec<String> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].contains("Su caso est"));
    assert!(!outbox[0].contains("confidencial"));

    // The agent's view: both, the reply delivered; then the audit trail says who did what.
    let shown = office.call(Some(&admin), "GET", &base, None).await;
    let kinds: Vec<&str> = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"internal_note") && kinds.contains(&"public_reply"),
        "{kinds:?}"
    );
    let audit = office
        .call(Some(&admin), "GET", &format!("{base}/audit"), None)
        .await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["note", "reply", "view_ticket", "view_ticket"][..actions.len().min(4)]
    );
    assert!(
        actions.starts_with(&["note", "reply", "view_ticket"]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_queue_lists_by_last_activity_with_filters_and_a_cursor() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let mut opened = Vec::new();
    for _ in 0..5 {
        opened.push(office.ticket("MDT").await);
    }
    office.ticket("MINTEL").await;
    let first = office
        .call(Some(&agent), "GET", "/api/v1/agent/tickets?limit=3", None)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let numbers = |reply: &Reply| -> Vec<String> {
        reply.body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["number"].as_str().unwrap().to_owned())
            .collect()
    };
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets?limit=3&cursor={cursor}"),
            None,
        )
        .await;
    let mut all = numbers(&first);
    all.extend(numbers(&second));
    let expected: Vec<String> = opened.iter().rev().map(ToString::to_string).collect();
    assert_eq!(all, expected, "newest activity first, no MINTEL ticket");
    let oldest = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?order=oldest&limit=2",
            None,
        )
        .await;
    let oldest_first: Vec<String> = opened.iter().take(2).map(ToString::to_string).collect();
    assert_eq!(numbers(&oldest), oldest_first);
    let filtered = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?status=closed",
            None,
        )
        .await;
    assert!(numbers(&filtered).is_empty());
    let bad = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?status=perdido&limit=0",
            None,
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["status", "limit"]);
}

#[tokio::test]
async fn every_documented_agent_route_exists_and_asks_for_a_token() {
    let office = Office::new();
    let spec: Value = serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/agent") {
            continue;
        }
        let concrete = path
            .replace("{number}", "MDT-TEC-2026-00001")
            .replace("{id}", "ana")
            .replace("{code}", "MINEDUC")
            .replace("{day}", "2027-12-06");
        for method in item.as_object().unwrap().keys() {
            let body = (method != "get").then(|| json!({}));
            let answer = office
                .call(None, &method.to_uppercase(), &concrete, body)
                .await;
            assert_eq!(answer.status, 401, "{method} {path}");
            assert_eq!(answer.body["type"], "/problems/unauthorized");
            checked += 1;
        }
    }
    assert!(checked >= 11, "{checked}");
    let console = office.call(None, "GET", "/agente", None).await;
    assert_eq!(console.status, 200);
}

#[tokio::test]
async fn a_reply_with_attachments_is_stored_listed_and_mailed_with_them() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let number = office.ticket("MDT").await;
    let boundary = "limite-de-prueba";
    let part = |name: &str, file: Option<(&str, &str)>, body: &str| match file {
        Some((file_name, content_type)) => format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n{body}\r\n"
        ),
        None => format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{body}\r\n"
        ),
    };
    let send = |body: String| post_reply(&office, &agent, &number, boundary, Body::from(body));
    let body = [
        part("text", None, "Adjunto el formulario que debe llenar."),
        part(
            "attachments",
            Some(("formulario.pdf", "application/pdf")),
            "%PDF-1.4 formulario",
        ),
        format!("--{boundary}--\r\n"),
    ]
    .concat();
    let response = send(body).await;
    assert_eq!(response.status(), 201);

    let outbox: Vec<Vec<u8>> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(outbox.len(), 1);
    let mail = mail_parser::MessageParser::default()
        .parse(&outbox[0])
        .unwrap();
    let files: Vec<(&str, &[u8])> = mail
        .attachments()
        .map(|a| (a.attachment_name().unwrap(), a.contents()))
        .collect();
    assert_eq!(files, [("formulario.pdf", &b"%PDF-1.4 formulario"[..])]);

    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            None,
        )
        .await;
    let reply = shown.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "public_reply")
        .unwrap();
    assert_eq!(reply["attachments"][0]["name"], "formulario.pdf");
    assert!(
        reply["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/blobs/attachments/replies/")
    );

    let mut too_many = vec![part("text", None, "Muchos archivos")];
    for i in 0..6 {
        too_many.push(part(
            "attachments",
            Some((&format!("a{i}.txt"), "text/plain")),
            "x",
        ));
    }
    too_many.push(format!("--{boundary}--\r\n"));
    let response = send(too_many.concat()).await;
    assert_eq!(response.status(), 422);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(problem["errors"][0]["field"], "attachments");
}

#[tokio::test]
async fn empty_filters_are_no_filters_and_unreadable_ones_are_named() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let number = office.ticket("MDT").await;
    let all = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?queue=&status=&category=&assignee=&cursor=&limit=",
            None,
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["tickets"][0]["number"], number.as_str());
    let unreadable = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?limit=muchos",
            None,
        )
        .await;
    assert_eq!(unreadable.status, 422);
    assert_eq!(unreadable.body["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn admins_manage_agencies_queues_and_follow_up_rules_at_run_time() {
    let office = Office::new();
    let (operator, admin, supervisor, agent) = (
        office.agent("MDT", Role::Operator).await,
        office.agent("MDT", Role::Admin).await,
        office.agent("MDT", Role::Supervisor).await,
        office.agent("MDT", Role::Agent).await,
    );
    let number = office.ticket("MDT").await;
    let transfer = |to: &'static str| json!({"agency": to, "queue": "tecnologia", "note": "Para el equipo de TI"});
    let path = format!("/api/v1/agent/tickets/{number}/transfer");
    let unknown = office
        .call(Some(&supervisor), "POST", &path, Some(transfer("MINEDUC")))
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);

    let mineduc = json!({
        "name": "Ministerio de Educación", "response_days": 10, "default_queue": "atencion",
        "queues_by_category": {"problema_tecnico": "tecnologia"},
        "follow_ups": {"tecnologia": {"rule": "new-linked"}}
    });
    let denied = office
        .call(
            Some(&agent),
            "PUT",
            "/api/v1/agent/agencies/MINEDUC",
            Some(mineduc.clone()),
        )
        .await;
    assert_eq!(denied.status, 403);
    // An agency's admin does not create agencies: that is the platform operator's.
    let not_theirs = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/agencies/MINEDUC",
            Some(mineduc.clone()),
        )
        .await;
    assert_eq!(not_theirs.status, 403);
    let bad = office
        .call(
            Some(&operator),
            "PUT",
            "/api/v1/agent/agencies/MINEDUC",
            Some(json!({"response_days": 0, "follow_ups": {"x": {"rule": "maybe"}}})),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "response_days", "default_queue", "follow_ups"]
    );
    let saved = office
        .call(
            Some(&operator),
            "PUT",
            "/api/v1/agent/agencies/MINEDUC",
            Some(mineduc),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["queues"], json!(["atencion", "tecnologia"]));
    let listed = office
        .call(Some(&agent), "GET", "/api/v1/agent/agencies", None)
        .await;
    let codes: Vec<&str> = listed.body["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MDT", "MINTEL", "MINEDUC"]);
    let moved = office
        .call(Some(&supervisor), "POST", &path, Some(transfer("MINEDUC")))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["agency"], "MINEDUC");

    // A queue's follow-up rule, changed by an admin, decides what a citizen's mail to a
    // closed ticket does: MDT's soporte-tecnico now refuses to reopen.
    let rejecting = json!({
        "name": "Ministerio del Trabajo", "response_days": 5, "default_queue": "atencion-ciudadana",
        "queues_by_category": {"problema_tecnico": "soporte-tecnico"},
        "follow_ups": {"soporte-tecnico": {"rule": "reject"}}
    });
    let saved = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/agencies/MDT",
            Some(rejecting),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let closed = office.ticket("MDT").await;
    let ticket_path = format!("/api/v1/agent/tickets/{closed}");
    for status in ["open", "resolved", "closed"] {
        let version = office.version(&closed).await;
        let changed = office
            .call(
                Some(&admin),
                "PATCH",
                &ticket_path,
                Some(json!({"version": version, "status": status})),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
    }
    let raw = format!(
        "From: ciudadana@example.com\r\nTo: soporte@ventanilla.example.gob.ec\r\n\
         Subject: Re: [{closed}] Consulta\r\nMessage-ID: <otra-vez@example.com>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSigue sin funcionar.\r\n"
    );
    let outcome = office.mail.accept(raw.clone().into_bytes()).await.unwrap();
    assert_eq!(outcome.as_str(), "rejected", "{outcome:?}");
    // The sender is told, once for the same mail delivered twice, and at most three times a
    // day whatever they send to the closed ticket.
    let tag = format!("[{closed}]");
    let refusals = || {
        std::fs::read_dir(office.dir.path().join("outbox"))
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .filter(|mail| mail.contains(&tag))
            .count()
    };
    assert_eq!(refusals(), 1);
    let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
    assert_eq!(outcome.as_str(), "rejected", "{outcome:?}");
    assert_eq!(refusals(), 1, "the same mail is refused once");
    for n in 0..4 {
        let raw = format!(
            "From: ciudadana@example.com\r\nTo: soporte@ventanilla.example.gob.ec\r\n\
             Subject: Re: [{closed}] Consulta\r\nMessage-ID: <otra-vez-{n}@example.com>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nSigue sin funcionar ({n}).\r\n"
        );
        let outcome = office.mail.accept(raw.into_bytes()).await.unwrap();
        assert_eq!(outcome.as_str(), "rejected", "{outcome:?}");
    }
    assert_eq!(refusals(), 3, "three refusals a ticket a day");
    let audit = office
        .call(Some(&admin), "GET", &format!("{ticket_path}/audit"), None)
        .await;
    assert_eq!(audit.status, 200);
}

/// A transfer names a queue of the receiving agency, or none: a queue it does not work would
/// hide the ticket from every console (issue 18, point 5).
#[tokio::test]
async fn a_transfer_to_a_queue_the_agency_does_not_work_is_refused() {
    let office = Office::new();
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let number = office.ticket("MDT").await;
    let path = format!("/api/v1/agent/tickets/{number}/transfer");
    let refused = office
        .call(
            Some(&supervisor),
            "POST",
            &path,
            Some(json!({"agency": "MINTEL", "queue": "no-existe", "note": "Para TI"})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["field"], "queue",
        "{}",
        refused.body
    );
    let still = office
        .call(
            Some(&supervisor),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            None,
        )
        .await;
    assert_eq!(still.status, 200, "the ticket stays with MDT");
    let moved = office
        .call(
            Some(&supervisor),
            "POST",
            &path,
            Some(json!({"agency": "MINTEL", "queue": "soporte-tecnico", "note": "Para TI"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
}

/// No admin can create an agent under a system identity and act under its name in the
/// audit trail (issue 18, point 8).
#[tokio::test]
async fn the_systems_own_identities_cannot_be_taken_by_an_agent() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    for id in ventanilla_domain::model::agents::SYSTEM_AGENT_IDS {
        let refused = office
            .call(
                Some(&admin),
                "POST",
                "/api/v1/agent/agents",
                Some(json!({"id": id, "name": "Retención", "role": "admin"})),
            )
            .await;
        assert_eq!(refused.status, 422, "{id}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], "id");
        assert_eq!(refused.body["errors"][0]["code"], "already_taken");
    }
}

/// A reply's one body limit is the documented one: files of 4 MB in all go (axum's default
/// of 2 MB refused a 3 MB file before), one byte more is a 422 naming the field, and a body
/// past the route's limit is a 413 problem (issue 18, point 7).
#[tokio::test]
async fn a_reply_takes_files_up_to_its_documented_limit_and_no_more() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let number = office.ticket("MDT").await;
    let boundary = "limite-de-prueba";
    let send = |file: Vec<u8>| {
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nAdjunto el plano.\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"plano.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        post_reply(&office, &agent, &number, boundary, Body::from(body))
    };
    let limit = agent_api::MAX_REPLY_BYTES;
    assert_eq!(send(vec![b'x'; 3 * 1024 * 1024]).await.status(), 201);
    assert_eq!(send(vec![b'x'; limit]).await.status(), 201);
    let over = send(vec![b'x'; limit + 1]).await;
    assert_eq!(over.status(), 422);
    let bytes = over.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(problem["errors"][0]["field"], "attachments");
    assert_eq!(problem["errors"][0]["code"], "files_too_large");
    let far_over = send(vec![b'x'; agent_api::MAX_REPLY_REQUEST_BYTES + 1]).await;
    assert_eq!(far_over.status(), 413);
}

/// A multipart reply, as the console posts it.
async fn post_reply(
    office: &Office,
    agent: &str,
    number: &TicketNumber,
    boundary: &str,
    body: Body,
) -> axum::response::Response {
    let request = Request::post(format!("/api/v1/agent/tickets/{number}/replies"))
        .header("authorization", format!("Bearer {agent}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .unwrap();
    office.router.clone().oneshot(request).await.unwrap()
}

/// Issue 18, point 4: an admin of MDT cannot rewrite MINTEL's settings nor make themselves a
/// platform operator; and no agency loses a queue that still holds tickets.
#[tokio::test]
async fn an_admin_manages_only_their_own_agency_and_never_orphans_tickets() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let mintel = json!({
        "name": "Otra cosa", "response_days": 5, "default_queue": "vacia"
    });
    let refused = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/agencies/MINTEL",
            Some(mintel),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let listed = office
        .call(Some(&admin), "GET", "/api/v1/agent/agencies", None)
        .await;
    let names: Vec<&str> = listed.body["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Otra cosa"), "{names:?}");
    let promoted = office
        .call(
            Some(&admin),
            "POST",
            "/api/v1/agent/agents",
            Some(json!({"id": ventanilla_tests::unique("op-"), "name": "Op", "role": "operator"})),
        )
        .await;
    assert_eq!(promoted.status, 403, "{}", promoted.body);
    // Nor take over an operator of their agency by rotating their token, or disable them.
    let operator_id = AgentId::parse(&ventanilla_tests::unique("operadora-")).unwrap();
    ventanilla_app::agents::create(
        &office.store,
        &SystemClock,
        operator_id.clone(),
        "Operadora".into(),
        AgencyCode::parse("MDT").unwrap(),
        Role::Operator,
        None,
    )
    .await
    .unwrap();
    for action in ["token", "disable"] {
        let path = format!("/api/v1/agent/agents/{}/{action}", operator_id.as_str());
        let taken = office.call(Some(&admin), "POST", &path, None).await;
        assert_eq!(taken.status, 403, "{action}: {}", taken.body);
    }

    // MDT's soporte-tecnico holds a ticket: a save without it is refused, naming it; once
    // the ticket is transferred away, the queue may go.
    let number = office.ticket("MDT").await;
    let without = json!({
        "name": "Ministerio del Trabajo", "response_days": 5, "default_queue": "atencion-ciudadana"
    });
    let kept = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/agencies/MDT",
            Some(without.clone()),
        )
        .await;
    assert_eq!(kept.status, 422, "{}", kept.body);
    assert_eq!(kept.body["errors"][0]["field"], "queues");
    assert_eq!(kept.body["errors"][0]["queue"], "soporte-tecnico");
    let moved = office
        .call(
            Some(&admin),
            "POST",
            &format!("/api/v1/agent/tickets/{number}/transfer"),
            Some(json!({"agency": "MDT", "queue": "atencion-ciudadana", "note": "Reordenamos colas"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let saved = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/agencies/MDT",
            Some(without),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["queues"], json!(["atencion-ciudadana"]));
}

/// Issue 18, item size and paging: a ticket with 10,000 messages opens for the agent with
/// its newest hundred and a cursor to the ones before, and for the citizen with the newest.
#[tokio::test]
async fn a_ticket_with_ten_thousand_messages_opens_by_pages() {
    use ventanilla_domain::Timestamp;
    use ventanilla_domain::ports::ThreadQuery;
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let number = office.ticket("MDT").await;
    let start = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    for n in 0..10_000 {
        let event = ventanilla_tests::generated_event(start, n);
        office.store.add_event(&number, &event).await.unwrap();
    }
    let path = format!("/api/v1/agent/tickets/{number}");
    let newest = office.call(Some(&agent), "GET", &path, None).await;
    assert_eq!(newest.status, 200);
    let messages = newest.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), ThreadQuery::PAGE);
    assert_eq!(messages[99]["text"], "auto-reply received: 9999");
    let older = newest.body["older"].as_str().unwrap();
    let before = office
        .call(
            Some(&agent),
            "GET",
            &format!(
                "{path}?before={}",
                older.replace('+', "%2B").replace('#', "%23")
            ),
            None,
        )
        .await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(
        before.body["messages"][99]["text"],
        "auto-reply received: 9899"
    );
    let bad = office
        .call(
            Some(&agent),
            "GET",
            &format!("{path}?before=%3Cscript%3E"),
            None,
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["errors"][0]["field"], "before");
    // The citizen's lookup opens too, with at most the newest page (robots' notes are not
    // theirs to see).
    let lookup = office
        .call(
            None,
            "POST",
            "/api/v1/tickets/lookup",
            Some(json!({"email": "ciudadana@example.com", "number": number.as_str()})),
        )
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.body);
    assert!(lookup.body["messages"].as_array().unwrap().len() <= ThreadQuery::PAGE);
}

/// Who may act is decided before what they sent is read: an agent without the role or the
/// access gets 403 or 404 whatever the body holds, never a 400 or 422 that names fields of a
/// route they may not use (nor a 4 MB reply read for a ticket they cannot see).
#[tokio::test]
async fn the_caller_is_refused_before_their_body_is_read() {
    let office = Office::default();
    let agent = office.agent("MDT", Role::Agent).await;
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let admin = office.agent("MDT", Role::Admin).await;
    let elsewhere = office.agent("MINTEL", Role::Admin).await;
    let number = office.ticket("MDT").await;
    let ticket = format!("/api/v1/agent/tickets/{number}");
    let bad = || json!({"id": "x y", "name": "", "email": "no", "text": "", "version": "v"});
    let cases: [(&str, &str, String, u16); 9] = [
        (&agent, "POST", "/api/v1/agent/agents".into(), 403),
        (
            &supervisor,
            "POST",
            "/api/v1/agent/privacy/export".into(),
            403,
        ),
        (
            &supervisor,
            "POST",
            "/api/v1/agent/privacy/erase".into(),
            403,
        ),
        (&admin, "PUT", "/api/v1/agent/agencies/OTRA".into(), 403),
        (&agent, "POST", format!("{ticket}/transfer"), 403),
        (&elsewhere, "PATCH", ticket.clone(), 404),
        (&elsewhere, "POST", format!("{ticket}/notes"), 404),
        (&elsewhere, "POST", format!("{ticket}/replies"), 404),
        (&elsewhere, "POST", format!("{ticket}/transfer"), 404),
    ];
    for (token, method, path, expected) in cases {
        let reply = office.call(Some(token), method, &path, Some(bad())).await;
        assert_eq!(reply.status, expected, "{method} {path}: {}", reply.body);
    }
}

/// A reply an older version left undelivered (it had no mail queue, and sent such replies
/// again when the ticket was opened) is queued when its data opens under schema 6, and the
/// sweeper sends it, with the reply's own Message-ID.
#[tokio::test]
async fn a_reply_left_undelivered_before_the_mail_queue_is_sent_by_the_sweeper() {
    use ventanilla_domain::model::ticket::{MailMeta, TicketUpdate};
    use ventanilla_domain::ports::IdSource;
    use ventanilla_domain::{AgentRef, Author, Body, Message, MessageKind, TicketChange};
    let office = Office::new();
    let number = office.ticket("MDT").await;
    let ticket = office.store.ticket(&number).await.unwrap();
    let reply_id = UuidV7.message_id();
    let reply = Message {
        id: reply_id,
        at: SystemClock.now(),
        kind: MessageKind::PublicReply,
        author: Author::Agent(AgentRef {
            id: AgentId::parse("ana").unwrap(),
            name: "Ana".into(),
        }),
        body: Body::parse("Respuesta de la versión anterior.").unwrap(),
        attachments: Vec::new(),
        mail: Some(MailMeta {
            message_ids: vec![
                ventanilla_domain::model::mail::MailMessageId::parse(
                    "antigua@ventanilla.example.gob.ec",
                )
                .unwrap(),
            ],
            ..MailMeta::default()
        }),
    };
    // What the older version wrote: the reply, marked undelivered, and nothing queued.
    office
        .store
        .update(TicketUpdate {
            number: number.clone(),
            expected_version: ticket.version,
            change: TicketChange {
                undelivered: Some(reply_id),
                ..TicketChange::default()
            },
            message: Some(reply),
            mails: Vec::new(),
        })
        .await
        .unwrap();
    let path = office.dir.path().join("ventanilla.sqlite3");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 5)
        .unwrap();
    assert_eq!(
        office.mail.sweep_mail().await.unwrap().sent,
        0,
        "nothing queued yet"
    );

    // The next start migrates: the reply is queued, due now, and the sweep sends it once.
    SqliteStore::open(&path).unwrap();
    let swept = office.mail.sweep_mail().await.unwrap();
    assert_eq!(swept.sent, 1, "{swept:?}");
    assert_eq!(office.mail.sweep_mail().await.unwrap().sent, 0);
    assert!(
        office
            .store
            .ticket(&number)
            .await
            .unwrap()
            .undelivered
            .is_empty()
    );
    let mailed: Vec<String> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mailed.len(), 1);
    assert!(
        mailed[0].contains("Message-ID: <antigua@ventanilla.example.gob.ec>"),
        "{}",
        mailed[0]
    );
    assert!(mailed[0].contains("Respuesta de la versi"), "{}", mailed[0]);
}

/// Issue 21: a queue's listing and a ticket's view say how many business days are left to
/// the due date, and how many it is overdue. A queja opened on Friday 5 February 2027 has the
/// COA's 30 business days, from Wednesday 10 February (Carnival rests on the 8th and 9th) to
/// Tuesday 23 March.
#[tokio::test]
async fn agents_see_the_business_days_left_to_a_due_date() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let number = mdt_ticket(&office, &clock, Category::Queja).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let path = format!("/api/v1/agent/tickets/{number}");
    let shown = office.call(Some(&agent), "GET", &path, None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["due_on"], "2027-03-23", "{}", shown.body);
    assert_eq!(shown.body["business_days_left"], 30);
    let listed = office
        .call(Some(&agent), "GET", "/api/v1/agent/tickets", None)
        .await;
    let row = &listed.body["tickets"][0];
    assert_eq!(
        (row["number"].as_str(), row["business_days_left"].as_i64()),
        (Some(number.as_str()), Some(30))
    );

    // Thursday 25 March, two business days after the due date: overdue by two.
    clock.advance(chrono::Duration::days(48));
    let shown = office.call(Some(&agent), "GET", &path, None).await;
    assert_eq!(shown.body["business_days_left"], -2, "{}", shown.body);
}

/// Issue 21: a queue listed by due date, the soonest first, filtered to what is due within N
/// business days or already overdue; finished tickets and other agencies' never in it. On
/// Friday 5 February 2027 a queja gets the COA's 30 business days (23 March) and a
/// sugerencia MDT's own 5 (16 February: Carnival rests on the 8th and 9th).
#[tokio::test]
async fn agents_list_the_soonest_due_first_and_filter_what_is_overdue() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let open = async |category| mdt_ticket(&office, &clock, category).await;
    let queja = open(Category::Queja).await;
    let sugerencia = open(Category::Sugerencia).await;
    let done = open(Category::Felicitacion).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let closed = office
        .call(
            Some(&agent),
            "PATCH",
            &format!("/api/v1/agent/tickets/{done}"),
            Some(json!({"version": 1, "status": "resolved"})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let list = async |query: &str| {
        let reply = office
            .call(
                Some(&agent),
                "GET",
                &format!("/api/v1/agent/tickets?{query}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        reply.body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["number"].as_str().unwrap().to_owned(),
                    t["due_on"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let row = |number: &TicketNumber, due: &str| (number.to_string(), due.to_owned());
    assert_eq!(
        list("order=due").await,
        [row(&sugerencia, "2027-02-16"), row(&queja, "2027-03-23")]
    );
    assert_eq!(list("due=5").await, [row(&sugerencia, "2027-02-16")]);
    assert_eq!(list("due=4").await, []);
    assert_eq!(list("due=overdue").await, []);
    // Paged with the cursor the first page gave.
    let first = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/tickets?order=due&limit=1",
            None,
        )
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        list(&format!("order=due&limit=1&cursor={cursor}")).await,
        [row(&queja, "2027-03-23")]
    );

    // Wednesday 17 February: the sugerencia is a business day late.
    clock.advance(chrono::Duration::days(12));
    assert_eq!(list("due=overdue").await, [row(&sugerencia, "2027-02-16")]);
    assert_eq!(list("due=0").await, [row(&sugerencia, "2027-02-16")]);

    // Another agency's agents see none of it.
    let other = office.agent("MINTEL", Role::Supervisor).await;
    let theirs = office
        .call(Some(&other), "GET", "/api/v1/agent/tickets?order=due", None)
        .await;
    assert_eq!(theirs.body["tickets"], json!([]), "{}", theirs.body);

    // Filters that cannot be read are named.
    for (query, field) in [
        ("due=pronto", "due"),
        ("due=366", "due"),
        ("due=3&order=newest", "order"),
        ("order=due&cursor=2027-02-16", "cursor"),
    ] {
        let refused = office
            .call(
                Some(&agent),
                "GET",
                &format!("/api/v1/agent/tickets?{query}"),
                None,
            )
            .await;
        assert_eq!(refused.status, 422, "{query}");
        assert_eq!(refused.body["errors"][0]["field"], field, "{query}");
    }
}

/// Issue 22, point 4: who else has a ticket open, from a minute-long note each console
/// renews; never the caller, never after the minute, never for an agent who may not read it.
#[tokio::test]
async fn agents_see_who_else_has_a_ticket_open() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let number = office.ticket("MDT").await;
    let (ana, luis) = (
        office.agent("MDT", Role::Agent).await,
        office.agent("MDT", Role::Agent).await,
    );
    let stranger = office.agent("MINTEL", Role::Agent).await;
    let path = format!("/api/v1/agent/tickets/{number}/viewing");
    let look = async |token: &str| office.call(Some(token), "PUT", &path, None).await;
    let first = look(&ana).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["others"], json!([]));
    let second = look(&luis).await;
    assert_eq!(
        second.body["others"].as_array().unwrap().len(),
        1,
        "{}",
        second.body
    );
    // Names only: an agency with a referral learns no other agency's agent ids.
    assert_eq!(second.body["others"][0]["name"], "Agente de prueba");
    assert!(second.body["others"][0].get("id").is_none());
    // Ana renews; after a minute without a word Luis is gone from what she sees.
    clock.advance(chrono::Duration::seconds(30));
    assert_eq!(look(&ana).await.body["others"].as_array().unwrap().len(), 1);
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(look(&ana).await.body["others"], json!([]));
    assert_eq!(look(&stranger).await.status, 404);
    assert_eq!(office.call(None, "PUT", &path, None).await.status, 401);
}

/// Issue 22: the console shows words, not codes: `/me` gives them in the caller's language.
#[tokio::test]
async fn agents_get_the_words_for_each_code_in_their_language() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let es = office
        .call(Some(&admin), "GET", "/api/v1/agent/me", None)
        .await;
    assert_eq!(es.status, 200, "{}", es.body);
    let labels = &es.body["labels"];
    let word = |labels: &Value, kind: &str, code: &str| -> String {
        labels[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == code)
            .map(|l| l["label"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        word(labels, "status", "waiting_on_citizen"),
        "Esperando al ciudadano"
    );
    assert_eq!(word(labels, "status", "open"), "En atención");
    assert_eq!(word(labels, "priority", "urgent"), "Urgente");
    assert_eq!(word(labels, "role", "admin"), "Administrador");
    assert_eq!(
        word(labels, "category", "denuncia"),
        "Denuncia administrativa"
    );
    // Every status and priority, in the order people read them.
    let order = |kind: &str| -> Vec<String> {
        labels[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        order("status"),
        ["new", "open", "waiting_on_citizen", "resolved", "closed"]
    );
    assert_eq!(order("priority"), ["low", "normal", "high", "urgent"]);
    // Countries by name, Ecuador first, as the citizen's form lists them.
    assert_eq!(order("nationality")[0], "EC");
    assert_eq!(word(labels, "nationality", "DE"), "Alemania");
    let en = office
        .call(Some(&admin), "GET", "/api/v1/agent/me?lang=en", None)
        .await;
    let english = &en.body["labels"];
    assert_eq!(
        word(english, "status", "waiting_on_citizen"),
        "Waiting on the citizen"
    );
    assert_eq!(word(english, "role", "operator"), "Platform operator");
    assert_eq!(word(english, "nationality", "DE"), "Germany");
}

/// Issue 21: agents ask the calendar the due dates use ("the 30th business day after 5
/// February 2027"); a question it cannot answer is named, and it asks for a token.
#[tokio::test]
async fn agents_ask_the_calendar_for_the_last_day_of_a_term() {
    let office = Office::new();
    let agent = office.agent("MDT", Role::Agent).await;
    let ask = async |token: Option<&str>, query: &str| {
        office
            .call(
                token,
                "GET",
                &format!("/api/v1/agent/calendar/due?{query}"),
                None,
            )
            .await
    };
    let answer = ask(Some(&agent), "from=2027-02-05&days=30").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["due_on"], "2027-03-23");
    assert_eq!(answer.body["due_on_text"], "martes 23 de marzo de 2027");
    assert_eq!(answer.body["kind"], "business");
    let plazo = ask(Some(&agent), "from=2026-12-10&days=15&kind=calendar").await;
    assert_eq!(plazo.body["due_on"], "2026-12-28", "{}", plazo.body);
    for (query, field) in [
        ("days=30", "from"),
        ("from=2027-02-30&days=1", "from"),
        ("from=2027-02-05&days=-1", "days"),
        ("from=2027-02-05&days=999999", "days"),
        ("from=2027-02-05&days=1&kind=habiles", "kind"),
        ("from=1999-01-01&days=1", "from"),
    ] {
        let refused = ask(Some(&agent), query).await;
        assert_eq!(refused.status, 422, "{query}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], field, "{query}");
    }
    assert_eq!(ask(None, "from=2027-02-05&days=30").await.status, 401);
}

/// Issue 21: a data file of schema 6 (before the due-date index) opens with its unfinished
/// tickets in it, listed by due date at once; its finished ones not.
#[tokio::test]
async fn tickets_written_before_the_due_date_index_are_listed_by_due_date() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let numbers = [
        mdt_ticket(&office, &clock, Category::Queja).await,
        mdt_ticket(&office, &clock, Category::Sugerencia).await,
    ];
    ventanilla_tests::change_status(
        &office.store,
        clock.as_ref(),
        &UuidV7,
        &numbers[1],
        1,
        ventanilla_domain::Status::Closed,
        ventanilla_tests::agent_ref(),
    )
    .await
    .unwrap();
    // Back to what schema 6 had: no due-date column, no index.
    let path = office.dir.path().join("ventanilla.sqlite3");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "DROP INDEX tickets_by_due; ALTER TABLE tickets DROP COLUMN due_key;
         PRAGMA user_version = 6;",
    )
    .unwrap();
    drop(old);

    SqliteStore::open(&path).unwrap();
    let agent = office.agent("MDT", Role::Agent).await;
    let listed = office
        .call(Some(&agent), "GET", "/api/v1/agent/tickets?order=due", None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let rows: Vec<&str> = listed.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(rows, [numbers[0].as_str()], "{}", listed.body);
}

/// Issue 21: a supervisor extends a term once, before it ends, with a reason: the due date
/// moves by the days the term allows (the COA's 15 on a 30-day queja), the citizen is told
/// the new date by mail, the audit trail has it; an agent, a second try (even at the same
/// moment) and a term without an extension are refused. A queja of Friday 5 February 2027 is
/// due on 23 March; fifteen business days more, past Good Friday (26 March), end on
/// Wednesday 14 April.
#[tokio::test]
async fn a_supervisor_extends_a_term_once_and_the_citizen_is_told() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let open = async |category| mdt_ticket(&office, &clock, category).await;
    let queja = open(Category::Queja).await;
    let sugerencia = open(Category::Sugerencia).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let other = office.agent("MINTEL", Role::Supervisor).await;
    let extend = async |token: &str, number: &TicketNumber, reason: &str| {
        office
            .call(
                Some(token),
                "POST",
                &format!("/api/v1/agent/tickets/{number}/extension"),
                Some(json!({ "reason": reason })),
            )
            .await
    };
    let reason = "Se requiere el informe de la Dirección Regional de Trabajo.";
    assert_eq!(extend(&agent, &queja, reason).await.status, 403);
    assert_eq!(extend(&other, &queja, reason).await.status, 404);
    let empty = extend(&supervisor, &queja, "  ").await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert_eq!(empty.body["errors"][0]["field"], "reason");
    let long = extend(&supervisor, &queja, &"x".repeat(2_001)).await;
    assert_eq!(long.status, 422, "{}", long.body);
    assert_eq!(long.body["errors"][0]["field"], "reason");
    assert_eq!(long.body["errors"][0]["code"], "too_long");
    assert_eq!(long.body["errors"][0]["max"], 2_000);
    let shown = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{queja}"),
            None,
        )
        .await;
    assert_eq!(
        shown.body["term"]["basis"],
        "COA, art. 207 (silencio administrativo)"
    );
    assert_eq!(shown.body["term"]["extendable_by"], 15, "{}", shown.body);

    // Two supervisors at once: one extension.
    let second = office.agent("MDT", Role::Supervisor).await;
    let (a, b) = tokio::join!(
        extend(&supervisor, &queja, reason),
        extend(&second, &queja, reason)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{} {}", a.body, b.body);
    let granted = if a.status == 200 { a } else { b };
    assert_eq!(granted.body["due_on"], "2027-04-14", "{}", granted.body);
    assert_eq!(granted.body["term"]["extended"]["was_due_on"], "2027-03-23");
    assert_eq!(granted.body["term"]["extended"]["reason"], reason);
    assert!(granted.body["term"].get("extendable_by").is_none());
    let again = extend(&supervisor, &queja, reason).await;
    assert_eq!(again.status, 403);
    assert!(
        again.body["detail"].as_str().unwrap().contains("only once"),
        "{}",
        again.body
    );
    let none = extend(&supervisor, &sugerencia, reason).await;
    assert_eq!(none.status, 403);

    // The citizen's mail: the new date, the rule, the reason, nothing they typed.
    let mails: Vec<String> = std::fs::read_dir(office.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1, "one notice");
    let mail = mail_parser::MessageParser::default()
        .parse(mails[0].as_bytes())
        .unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("ciudadana@example.com")
    );
    let text = mail.body_text(0).unwrap();
    for said in [
        "amplió en 15 días hábiles",
        "miércoles 14 de abril de 2027",
        "COA, art. 207",
        reason,
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(mail.subject().unwrap().contains(&format!("[{queja}]")));

    // The audit trail and the status page.
    let admin = office.agent("MDT", Role::Admin).await;
    let audit = office
        .call(
            Some(&admin),
            "GET",
            &format!("/api/v1/agent/tickets/{queja}/audit"),
            None,
        )
        .await;
    assert!(
        audit.body.to_string().contains("extend_term"),
        "{}",
        audit.body
    );
}

/// An office whose clock stands at `at`, for the due-date tests.
fn office_at(at: &str) -> (Office, Arc<ventanilla_domain::fakes::ManualClock>) {
    let clock = Arc::new(ventanilla_domain::fakes::ManualClock::new(
        ventanilla_domain::Timestamp::parse(at).unwrap(),
    ));
    (Office::with_clock(clock.clone()), clock)
}

/// A ticket of MDT's citizen queue with its category's configured term, opened now.
async fn mdt_ticket(
    office: &Office,
    clock: &ventanilla_domain::fakes::ManualClock,
    category: Category,
) -> TicketNumber {
    let settings = Settings::parse(DEFAULT_CONFIG).unwrap();
    let agency = AgencyCode::parse("MDT").unwrap();
    let mut new = ventanilla_tests::new_ticket(&agency, category, "ciudadana@example.com");
    new.queue = QueueName::parse("atencion-ciudadana").unwrap();
    new.term = settings.term(&agency, category);
    open_ticket::open(&office.store, clock, &UuidV7, new)
        .await
        .unwrap()
        .into_ticket()
        .number
}

/// Issue 21: where an agent's deadline warnings go. An agent sets their own address; an admin
/// those of their agency's agents; nobody another's, or another agency's; a bad address is
/// named; null removes it.
#[tokio::test]
async fn agents_set_the_address_their_warnings_go_to() {
    let office = Office::new();
    let admin = office.agent("MDT", Role::Admin).await;
    let agent = office.agent("MDT", Role::Agent).await;
    let other_admin = office.agent("MINTEL", Role::Admin).await;
    let me = office
        .call(Some(&agent), "GET", "/api/v1/agent/me", None)
        .await;
    let id = me.body["id"].as_str().unwrap().to_owned();
    let colleague = office.agent("MDT", Role::Agent).await;
    let path = format!("/api/v1/agent/agents/{id}/email");
    let set =
        async |token: &str, body: Value| office.call(Some(token), "PUT", &path, Some(body)).await;
    // An agent's own new address waits for the code mailed to it: a typo, or someone
    // else's address, never gets the citizens' words.
    let own = set(&agent, json!({"email": "ana@mdt.gob.ec"})).await;
    assert_eq!(
        (own.status, &own.body["email"], &own.body["pending_email"]),
        (200, &Value::Null, &json!("ana@mdt.gob.ec")),
        "{}",
        own.body
    );
    let confirm = async |code: &str| {
        office
            .call(
                Some(&agent),
                "POST",
                "/api/v1/agent/me/email/confirm",
                Some(json!({ "code": code })),
            )
            .await
    };
    let wrong = confirm("12345678").await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.body["errors"][0]["field"], "code");
    alerts::confirm_address(&office, &agent, "ana@mdt.gob.ec").await;
    // Wrong codes are few: five an hour.
    set(&agent, json!({"email": "otra@mdt.gob.ec"})).await;
    let tries: Vec<u16> = {
        let mut tries = Vec::new();
        for _ in 0..5 {
            tries.push(confirm("00000001").await.status);
        }
        tries
    };
    // Five tries an hour, the wrong one and the right one above included.
    assert_eq!(tries, [422, 422, 422, 429, 429]);
    let me = office
        .call(Some(&agent), "GET", "/api/v1/agent/me", None)
        .await;
    assert_eq!(
        me.body["email"], "ana@mdt.gob.ec",
        "still the confirmed one"
    );
    assert_eq!(
        set(&colleague, json!({"email": "x@mdt.gob.ec"}))
            .await
            .status,
        403
    );
    assert_eq!(
        set(&other_admin, json!({"email": "x@mintel.gob.ec"}))
            .await
            .status,
        404
    );
    let bad = set(&admin, json!({"email": "no es un correo"})).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "email");
    let by_admin = set(&admin, json!({"email": "ana.perez@mdt.gob.ec"})).await;
    assert_eq!(by_admin.body["email"], "ana.perez@mdt.gob.ec");
    let listed = office
        .call(Some(&admin), "GET", "/api/v1/agent/agents", None)
        .await;
    assert!(
        listed.body.to_string().contains("ana.perez@mdt.gob.ec"),
        "{}",
        listed.body
    );
    let removed = set(&agent, json!({"email": null})).await;
    assert_eq!(
        (removed.status, &removed.body["email"]),
        (200, &Value::Null)
    );
    assert_eq!(
        office
            .call(None, "PUT", &path, Some(json!({})))
            .await
            .status,
        401
    );
}

/// The files under `dir`, at any depth (none when it does not exist).
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() { files_under(&path) } else { 1 }
            })
            .sum()
    })
}
