//! Handler CPU per request (issue 8; the figures are in `docs/PERFORMANCE.md`): the functions'
//! real entry points on the embedded adapters, with no network in the way.
//!
//! - create-ticket: `POST /api/v1/tickets` through its router, a new citizen each time;
//! - ticket-status: `POST /api/v1/tickets/lookup` through its router, for a stored ticket;
//! - inbound-mail: a ~30 KB reply to one of our mails through `Desk::accept`, the entry
//!   the local SMTP listener uses: stored raw, parsed, threaded, split and appended.
//!
//! The store is SQLite in memory. Mail out and blobs are kept in memory by the two small
//! adapters below: the embedded ones write and fsync a file per mail or blob, and SES and S3
//! are network calls, neither of which is handler CPU. Each benchmark checks its first answer
//! (and, afterwards, that every measured request did the real work), so that a figure cannot
//! be an error path's. No log subscriber is installed: the figures leave out writing logs.
//!
//! `cargo bench -p ventanilla-bench --bench handlers`

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use mail_builder::MessageBuilder;
use serde_json::{Value, json};
use tower::ServiceExt;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::SystemClock;
use ventanilla_app::Desk;
use ventanilla_app::config::DEFAULT_CONFIG;
use ventanilla_app::{AccessLinks, Settings, Site};
use ventanilla_domain::TicketNumber;
use ventanilla_domain::fakes::{MemoryBlobs, MemoryMailer};
use ventanilla_domain::model::mail::OutgoingMail;
use ventanilla_domain::ports::{Clock, TicketStore};
use ventanilla_domain::rules::mail_in::read::read;
use ventanilla_domain::rules::mail_in::support_address::Outcome;

const PUBLIC_URL: &str = "https://ventanilla.example.gob.ec";
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                       (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const LANGUAGES: &str = "es-EC,es;q=0.9,en;q=0.8";
/// The size of the reply the inbound benchmark receives, at least.
const REPLY_BYTES: usize = 30 * 1024;

/// One instance of the functions, wired as the local server wires them, on the default
/// configuration.
#[derive(Debug, Clone)]
struct Office {
    site: Site,
    store: SqliteStore,
    blobs: MemoryBlobs,
    mailer: MemoryMailer,
}

impl Office {
    fn new() -> Self {
        let mut settings = Settings::parse(DEFAULT_CONFIG).expect("the default configuration");
        settings.public_url = PUBLIC_URL.into();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Office {
            site: Site {
                settings,
                links: AccessLinks::new(&[42; 32]).expect("a 32-byte secret"),
                clock,
                ids: Arc::new(ventanilla_adapters::system::UuidV7),
            },
            store: SqliteStore::in_memory().expect("an in-memory database"),
            blobs: MemoryBlobs::new(PUBLIC_URL),
            mailer: MemoryMailer::default(),
        }
    }

    fn create_ticket(&self) -> Router {
        create_ticket::router(Arc::new(Desk {
            site: self.site.clone(),
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            mailer: self.mailer.clone(),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
        }))
    }

    fn ticket_status(&self) -> Router {
        ticket_status::router(Arc::new(Desk {
            site: self.site.clone(),
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
            mailer: (),
        }))
    }

    fn mail_desk(&self) -> Desk<SqliteStore, MemoryBlobs, MemoryMailer> {
        Desk {
            site: self.site.clone(),
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            mailer: self.mailer.clone(),
            identifiers: ventanilla_domain::ports::IdentifierSecret::new(&[8; 32])
                .expect("a 32-byte secret"),
        }
    }
}

/// As the functions' `#[tokio::main(flavor = "current_thread")]` builds it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn citizen_email(citizen: u32) -> String {
    format!("ciudadana{citizen}@example.com")
}

/// Every citizen writes from an address of their own, so no opening is throttled.
fn citizen_address(citizen: u32) -> SocketAddr {
    let first = u32::from(Ipv4Addr::new(190, 152, 0, 0));
    SocketAddr::from((Ipv4Addr::from(first.wrapping_add(citizen)), 51_000))
}

/// A JSON request with the headers a browser sends, from the citizen's address (as the local
/// server passes it; on Lambda it comes in API Gateway's request context).
fn browser_post(path: &str, citizen: u32, body: &Value) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_LANGUAGE, LANGUAGES)
        .header(header::USER_AGENT, BROWSER)
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    request
        .extensions_mut()
        .insert(ConnectInfo(citizen_address(citizen)));
    request
}

/// A new ticket from `citizen`, with a fresh idempotency key: a new opening every time.
fn opening(citizen: u32, description: &str) -> Request<Body> {
    let fields = json!({
        "agency": "MDT",
        "category": "queja",
        "nationality": "EC",
        "id_type": "cedula",
        "id_number": "1710034065",
        "full_name": "María José Pérez Quishpe",
        "email": citizen_email(citizen),
        "gender": "prefiero_no_decir",
        "phone": "099 123 4567",
        "user_type": "ciudadano",
        "subject": "Demora en la atención del trámite",
        "description": description,
    });
    let mut request = browser_post("/api/v1/tickets", citizen, &fields);
    let key = uuid::Uuid::new_v4().to_string();
    request.headers_mut().insert(
        "idempotency-key",
        key.parse().expect("a uuid is a header value"),
    );
    request
}

const DESCRIPTION: &str = "Buenos días,\nmi trámite lleva tres semanas sin respuesta.";

/// The answer as the platform reads it: status and whole body.
async fn answer(router: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    (status, body)
}

/// Opens a ticket through the form's route and returns its number.
fn open(runtime: &tokio::runtime::Runtime, router: &Router, request: Request<Body>) -> String {
    let (status, body) = runtime.block_on(answer(router, request));
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: Value = serde_json::from_slice(&body).expect("a JSON answer");
    created["number"].as_str().expect("a number").to_owned()
}

fn opening_a_ticket(c: &mut Criterion) {
    let runtime = runtime();
    let office = Office::new();
    let router = office.create_ticket();
    open(&runtime, &router, opening(0, DESCRIPTION));
    let mut citizens = 0;
    c.benchmark_group("create_ticket")
        .bench_function("open_json", |b| {
            b.iter_batched(
                || {
                    citizens += 1;
                    opening(citizens, DESCRIPTION)
                },
                |request| runtime.block_on(answer(&router, request)),
                BatchSize::SmallInput,
            );
        });
    // Not one opening replayed or throttled: each was stored and acknowledged.
    assert_eq!(office.mailer.count(), u64::from(citizens) + 1);
}

fn looking_up_a_ticket(c: &mut Criterion) {
    let runtime = runtime();
    let office = Office::new();
    let number = open(&runtime, &office.create_ticket(), opening(1, DESCRIPTION));
    let router = office.ticket_status();
    let lookup = json!({ "email": citizen_email(1), "number": number });
    let (status, body) = runtime.block_on(answer(&router, browser_post_lookup(&lookup)));
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let found: Value = serde_json::from_slice(&body).expect("a JSON answer");
    assert_eq!(found["number"], number);
    c.benchmark_group("ticket_status")
        .bench_function("lookup_json", |b| {
            b.iter_batched(
                || browser_post_lookup(&lookup),
                |request| runtime.block_on(answer(&router, request)),
                BatchSize::SmallInput,
            );
        });
}

fn browser_post_lookup(lookup: &Value) -> Request<Body> {
    browser_post("/api/v1/tickets/lookup", 1, lookup)
}

/// Who wrote the earlier exchange the citizen pastes into the form.
#[derive(Debug, Clone, Copy)]
enum Writer {
    Citizen,
    Inspector,
}

const INSPECTOR: (&str, &str) = ("Jorge Andrade Villacís", "jorge.andrade@trabajo.gob.ec");
const CITIZEN_NAME: &str = "María José Pérez Quishpe";

/// The mails a citizen exchanged with an inspector before writing to the agency's desk,
/// oldest first; a long case repeats them with later dates.
const EARLIER: [(Writer, &str); 6] = [
    (
        Writer::Citizen,
        "Buenos días, señor inspector.\n\nLe escribo por mi reclamo de liquidación de haberes \
         contra mi anterior empleador, Comercial Andina S.A., donde trabajé del 2 de marzo de \
         2022 al 30 de noviembre de 2025. Hasta hoy no he recibido el pago de la liquidación, \
         ni de las vacaciones no gozadas ni del décimo tercer sueldo proporcional.\n\nPresenté \
         el reclamo en la Dirección Regional de Quito el 5 de diciembre y me dieron el número \
         de trámite MDT-DRTQ-2025-18342. ¿Podría indicarme en qué estado se encuentra?\n\n\
         Muchas gracias.\nMaría José Pérez Quishpe\nC.I. 1710034065",
    ),
    (
        Writer::Inspector,
        "Estimada señora Pérez:\n\nEn atención a su correo, le informo que su trámite \
         MDT-DRTQ-2025-18342 fue asignado a la Inspectoría de Trabajo de Quito el 9 de \
         diciembre. La inspección a la empresa está programada, pero para continuar necesitamos \
         copia de su contrato de trabajo, del aviso de salida registrado en el Sistema Único de \
         Trabajo (SUT) y de los tres últimos roles de pago.\n\nPuede enviarlos respondiendo a \
         este correo, en formato PDF.\n\nAtentamente,\nJorge Andrade Villacís\nInspector de \
         Trabajo\nDirección Regional de Trabajo y Servicio Público de Quito\nMinisterio del \
         Trabajo",
    ),
    (
        Writer::Citizen,
        "Estimado inspector:\n\nLe envío el contrato y los roles de pago de septiembre, octubre \
         y noviembre. El aviso de salida no lo tengo, porque la empresa nunca lo registró en el \
         SUT; cuando consulto con mi cédula aparece todavía una relación laboral activa. ¿Eso \
         afecta a mi reclamo?\n\nSaludos cordiales,\nMaría José",
    ),
    (
        Writer::Inspector,
        "Estimada señora Pérez:\n\nRecibimos los documentos, gracias. La falta del aviso de \
         salida no impide el trámite: la inspección verificará la terminación de la relación \
         laboral y, de confirmarse, la empresa será sancionada y deberá registrar el aviso. Le \
         pido paciencia, porque la Inspectoría tiene muchos casos pendientes.\n\nAtentamente,\n\
         Jorge Andrade Villacís\nInspector de Trabajo",
    ),
    (
        Writer::Citizen,
        "Buenas tardes, señor inspector.\n\nHan pasado tres semanas desde mi último correo y no \
         he tenido noticias. La empresa sigue sin pagarme y tampoco contesta mis llamadas. ¿Se \
         realizó ya la inspección? ¿Hay una fecha para la audiencia?\n\nGracias por su ayuda.\n\
         María José Pérez Quishpe",
    ),
    (
        Writer::Inspector,
        "Estimada señora Pérez:\n\nLa inspección se realizó y la empresa reconoció la deuda; se \
         comprometió a pagar en un plazo de quince días. Si no recibe el pago, por favor \
         avísenos para convocar a una audiencia de conciliación.\n\nAtentamente,\nJorge Andrade \
         Villacís\nInspector de Trabajo",
    ),
];

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
const MONTHS: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
];

/// Gmail's Spanish attribution line, which the reply splitter must recognise.
fn attribution(at: NaiveDateTime, name: &str, address: &str) -> String {
    format!(
        "El {}, {} {} {} a las {}:{:02}, {name} (<{address}>) escribió:",
        WEEKDAYS[at.weekday().num_days_from_monday() as usize],
        at.day(),
        MONTHS[at.month0() as usize],
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// Quoted as Gmail quotes plain text: `> ` before each line, nesting as the thread deepens.
fn quote(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                ">\n".to_owned()
            } else {
                format!("> {line}\n")
            }
        })
        .collect()
}

/// A long conversation: why the citizen writes, then the earlier exchange of `turns` mails
/// as the citizen's mail client quoted it, newest first.
fn pasted_exchange(turns: usize, email: &str) -> String {
    let start = NaiveDate::from_ymd_opt(2025, 12, 8)
        .and_then(|day| day.and_hms_opt(9, 14, 0))
        .expect("a valid date");
    let mut thread = String::new();
    let mut previous = None;
    for turn in 0..turns {
        let (writer, text) = EARLIER[turn % EARLIER.len()];
        let hours = i64::try_from(turn).expect("few turns") * 53;
        let at = start + chrono::Duration::hours(hours);
        thread = match previous {
            None => text.to_owned(),
            Some(quoted) => format!("{text}\n\n{quoted}\n\n{}", quote(&thread)),
        };
        let (name, address) = match writer {
            Writer::Citizen => (CITIZEN_NAME, email),
            Writer::Inspector => INSPECTOR,
        };
        previous = Some(attribution(at, name, address));
    }
    let intro = "Buenos días. En diciembre presenté un reclamo por mi liquidación de haberes y \
                 hasta hoy no se resuelve. Copio abajo la conversación que mantuve con el \
                 inspector por correo, para que tengan todo el contexto.";
    match previous {
        None => intro.to_owned(),
        Some(quoted) => format!("{intro}\n\n{quoted}\n\n{}", quote(&thread)),
    }
}

/// What the citizen writes now, above the quote; the ticket must keep only this.
const NEW_TEXT: &str = "Buenos días,\n\nGracias por la respuesta. Les confirmo que hasta hoy \
                        la empresa no ha pagado, aunque el plazo de quince días ya venció. \
                        Solicito que se convoque a la audiencia de conciliación.\n\nSaludos \
                        cordiales,\nMaría José Pérez Quishpe";

/// A citizen's reply to one of our mails, as Gmail writes it: the new text on top, the
/// answered mail quoted below, a text part and an HTML part.
#[derive(Debug)]
struct CitizenReply {
    from: String,
    to: String,
    subject: String,
    in_reply_to: String,
    references: Vec<String>,
    text: String,
    html: String,
}

impl CitizenReply {
    fn answering(office: &Office, answered: &OutgoingMail, from: String, earlier: &str) -> Self {
        let mail = read(&answered.raw).expect("our own mail reads");
        let quoted = format!("{}\n\n{earlier}", mail.text);
        let ecuador = FixedOffset::west_opt(5 * 3600).expect("UTC-5");
        let at = office.site.clock.now().datetime().with_timezone(&ecuador);
        let sender = mail.from.as_ref().expect("our mail has a sender");
        let said = attribution(
            at.naive_local(),
            mail.from_name.as_deref().unwrap_or(""),
            sender.as_str(),
        );
        let text = format!("{NEW_TEXT}\n\n{said}\n\n{}", quote(&quoted));
        let html = format!(
            "<div dir=\"ltr\">{}</div><br><div class=\"gmail_quote gmail_quote_container\">\
             <div dir=\"ltr\" class=\"gmail_attr\">{}<br></div><blockquote class=\"gmail_quote\" \
             style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);\
             padding-left:1ex\">{}</blockquote></div>\n",
            NEW_TEXT
                .lines()
                .map(|line| match line {
                    "" => "<div><br></div>".to_owned(),
                    line => format!("<div>{}</div>", escape(line)),
                })
                .collect::<String>(),
            escape(&said),
            escape(&quoted).replace('\n', "<br>\n"),
        );
        // References: those of the answered mail, oldest first, then its own id.
        let mut references: Vec<String> = mail
            .parents
            .iter()
            .rev()
            .map(|id| id.as_str().to_owned())
            .collect();
        references.push(answered.message_id.as_str().to_owned());
        CitizenReply {
            from,
            to: office.site.settings.support.as_str().to_owned(),
            subject: format!("Re: {}", mail.subject),
            in_reply_to: answered.message_id.as_str().to_owned(),
            references,
            text,
            html,
        }
    }

    /// The raw mail, with a Message-ID of its own: a new mail, not a duplicate.
    fn raw(&self) -> Vec<u8> {
        MessageBuilder::new()
            .from((CITIZEN_NAME, self.from.as_str()))
            .to(self.to.as_str())
            .subject(self.subject.as_str())
            .message_id(format!(
                "CAJ{}@mail.gmail.com",
                uuid::Uuid::new_v4().simple()
            ))
            .in_reply_to(self.in_reply_to.as_str())
            .references(self.references.clone())
            .date(SystemClock.now().unix_seconds())
            .text_body(self.text.as_str())
            .html_body(self.html.as_str())
            .write_to_vec()
            .expect("a mail is written to memory")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn receiving_a_reply(c: &mut Criterion) {
    let runtime = runtime();
    let office = Office::new();
    let router = office.create_ticket();
    let desk = office.mail_desk();
    // The shortest earlier exchange that makes the reply to the acknowledgement REPLY_BYTES
    // or more: the acknowledgement quotes nothing the form said, so the citizen's client
    // quotes the exchange below it (as a reply in a long conversation does); each try is a
    // ticket of its own.
    let (number, reply) = (0..)
        .find_map(|turns: u32| {
            let earlier = pasted_exchange(turns as usize, &citizen_email(turns));
            let number = open(&runtime, &router, opening(turns, DESCRIPTION));
            let acknowledgement = office.mailer.last().expect("a mail was sent");
            let reply =
                CitizenReply::answering(&office, &acknowledgement, citizen_email(turns), &earlier);
            (reply.raw().len() >= REPLY_BYTES).then_some((number, reply))
        })
        .expect("a long enough exchange");
    let number = TicketNumber::parse(&number).expect("a ticket number");

    let outcome = runtime
        .block_on(desk.accept(reply.raw()))
        .expect("delivered");
    let Outcome::FollowUp { ticket, .. } = &outcome else {
        panic!("expected a follow-up, got {outcome:?}");
    };
    assert_eq!(ticket.number, number);
    let thread = runtime
        .block_on(office.store.thread(&number))
        .expect("the thread")
        .1;
    let added = thread.last().expect("a message").body.as_str();
    assert_eq!(added.trim(), NEW_TEXT.trim(), "only the new text is kept");

    let mut replies = 0;
    c.benchmark_group("inbound_mail")
        .bench_function("reply_30k", |b| {
            b.iter_batched(
                || {
                    replies += 1;
                    reply.raw()
                },
                |raw| runtime.block_on(desk.accept(raw)),
                BatchSize::SmallInput,
            );
        });
    // Every measured reply joined the ticket.
    let now = runtime
        .block_on(office.store.thread(&number))
        .expect("the thread")
        .1;
    assert_eq!(now.len(), thread.len() + replies);
}

criterion_group!(
    handlers,
    opening_a_ticket,
    looking_up_a_ticket,
    receiving_a_reply
);
criterion_main!(handlers);
