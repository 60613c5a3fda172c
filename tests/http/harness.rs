//! Handler tests drive the real routers with API Gateway v2 events: a fixture event from
//! `../shared/testdata/05_apigw_events` gets the method, path, headers, body and source
//! address of the request under test, `lambda_http` turns it into the request Lambda would
//! hand the function, and the answer is read as a citizen's browser or a program would.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use ventanilla_adapters::folder::FolderBlobs;
use ventanilla_adapters::outbox::OutboxMailer;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_app::config::{DEFAULT_CONFIG, Limits};
use ventanilla_app::{AccessLinks, Settings, Site};
use ventanilla_domain::Timestamp;
use ventanilla_domain::fakes::ManualClock;
use ventanilla_domain::ports::Clock;

pub const PUBLIC_URL: &str = "https://ventanilla.example.gob.ec";

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub store: SqliteStore,
    pub blobs: FolderBlobs,
    router: Router,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_limits(|_| {})
    }

    pub fn with_limits(change: impl FnOnce(&mut Limits)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::parse(DEFAULT_CONFIG).unwrap();
        settings.public_url = PUBLIC_URL.into();
        change(&mut settings.limits);
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse("2025-03-03T14:00:00Z").unwrap(),
        ));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let site = Site {
            settings: settings.clone(),
            links: AccessLinks::new(&[42; 32]).unwrap(),
            clock: dyn_clock,
            ids: Arc::new(ventanilla_adapters::system::UuidV7),
        };
        let store = SqliteStore::open(&dir.path().join("ventanilla.sqlite3")).unwrap();
        let blobs = FolderBlobs::new(dir.path().join("blobs"), PUBLIC_URL, vec![9; 32]);
        let intake = ventanilla_app::Desk {
            site: site.clone(),
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: OutboxMailer::new(dir.path().join("outbox")),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
        };
        let desk = ventanilla_app::Desk {
            site,
            store: store.clone(),
            blobs: blobs.clone(),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32]).unwrap(),
            mailer: (),
        };
        let router =
            create_ticket::router(Arc::new(intake)).merge(ticket_status::router(Arc::new(desk)));
        Harness {
            dir,
            clock,
            store,
            blobs,
            router,
        }
    }

    pub async fn send(&self, event: Event) -> Answer {
        let request = lambda_http::request::from_str(&event.to_json().to_string())
            .expect("the event is one lambda_http reads");
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The page a 303 sends the browser to, as the browser asks for it.
    pub async fn follow(&self, answer: &Answer) -> Answer {
        assert_eq!(answer.status, 303, "{}", answer.text());
        let location = answer.header("location").expect("a redirect names where");
        self.send(Event::get(location)).await
    }

    /// The mails sent so far, parsed, oldest first.
    pub fn outbox(&self) -> Vec<Vec<u8>> {
        let dir = self.dir.path().join("outbox");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

/// One HTTP request, as API Gateway would deliver it.
#[derive(Debug, Clone)]
pub struct Event {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    source_ip: String,
}

impl Event {
    pub fn get(path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Event {
            method: "GET",
            path: path.into(),
            query: query.into(),
            headers: vec![("accept".into(), "text/html".into())],
            body: Vec::new(),
            source_ip: "190.152.10.1".into(),
        }
    }

    pub fn post_json(path_and_query: &str, body: &Value) -> Self {
        let mut event = Event::get(path_and_query);
        event.method = "POST";
        event.headers = vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
        ];
        event.body = body.to_string().into_bytes();
        event
    }

    pub fn post_form(path_and_query: &str, form: &[(&str, &str)]) -> Self {
        let mut event = Event::get(path_and_query);
        event.method = "POST";
        event.headers = vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "text/html".into()),
        ];
        event.body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        event
    }

    /// A browser's multipart form post: text fields, then files (as screenshots).
    pub fn post_multipart(
        path_and_query: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> Self {
        Self::post_files(path_and_query, fields, "screenshots", files)
    }

    /// A browser's multipart form post: text fields, then files under `file_field`.
    pub fn post_files(
        path_and_query: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        files: &[(&str, &[u8])],
    ) -> Self {
        let boundary = "----ventanillaBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut event = Event::get(path_and_query);
        event.method = "POST";
        event.headers = vec![
            (
                "content-type".into(),
                format!("multipart/form-data; boundary={boundary}"),
            ),
            ("accept".into(), "text/html,application/xhtml+xml".into()),
        ];
        event.body = body;
        event
    }

    /// The same request with `body` as it is (a broken one, say).
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn sent_from(mut self, ip: &str) -> Self {
        self.source_ip = ip.into();
        self
    }

    fn to_json(&self) -> Value {
        let fixture = ventanilla_tests::testdata_dir().join(
            "05_apigw_events/aws-lambda-rust-runtime/example-apigw-v2-request-no-authorizer.json",
        );
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
        event["rawPath"] = self.path.clone().into();
        event["rawQueryString"] = self.query.clone().into();
        event["requestContext"]["http"]["method"] = self.method.into();
        event["requestContext"]["http"]["path"] = self.path.clone().into();
        event["requestContext"]["http"]["sourceIp"] = self.source_ip.clone().into();
        let headers = event["headers"].as_object_mut().unwrap();
        headers.remove("content-length");
        headers.insert("x-forwarded-for".into(), self.source_ip.clone().into());
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone().into());
        }
        // API Gateway hands binary bodies (multipart) over in base64.
        if self.body.is_empty() {
            event.as_object_mut().unwrap().remove("body");
            event["isBase64Encoded"] = false.into();
        } else {
            event["body"] = base64::engine::general_purpose::STANDARD
                .encode(&self.body)
                .into();
            event["isBase64Encoded"] = true.into();
        }
        event
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A valid ticket request; tests change one field at a time.
pub fn ticket_json(email: &str) -> Value {
    serde_json::json!({
        "agency": "MDT",
        "category": "queja",
        "nationality": "EC",
        "id_type": "cedula",
        "id_number": "1710034065",
        "full_name": "María José Pérez Quishpe",
        "email": email,
        "gender": "prefiero_no_decir",
        "phone": "099 123 4567",
        "user_type": "ciudadano",
        "subject": "Demora en la atención del trámite",
        "description": "Buenos días,\nmi trámite lleva tres semanas sin respuesta."
    })
}

/// The same request as form fields.
pub fn ticket_form(email: &str) -> Vec<(String, String)> {
    ticket_json(email)
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// A real 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
