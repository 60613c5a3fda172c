//! The local server's assembly, also used by tests that want the whole site in-process.

pub mod calendar;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use ventanilla_domain::Choice;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ventanilla_adapters::folder::{DownloadLink, FolderBlobs};
use ventanilla_adapters::outbox::OutboxMailer;
use ventanilla_adapters::sqlite::SqliteStore;
use ventanilla_adapters::system::{SystemClock, UuidV7};
use ventanilla_app::{AccessLinks, Settings, Site};
use ventanilla_domain::BlobKey;
use ventanilla_domain::ports::IdentifierSecret;
use ventanilla_domain::ports::{BlobStore, Clock};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] ventanilla_app::config::SettingsError),
    #[error("the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] ventanilla_domain::ports::StoreError),
    #[error(transparent)]
    Aws(#[from] ventanilla_adapters::aws::SettingError),
    #[error(transparent)]
    App(#[from] ventanilla_app::AppError),
    #[error("{0}")]
    Invalid(String),
}

fn data_error(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::DataDir {
        path: path.display().to_string(),
        source,
    }
}

/// A secret made on first start and kept in the data folder under `name`, so that what it
/// signs or keys survives a restart: `link-secret` (access and download links in mails
/// already sent), `identifier-secret` (the keyed hashes in throttle keys).
fn secret(data_dir: &Path, name: &str) -> Result<Vec<u8>, StartError> {
    let path = data_dir.join(name);
    match std::fs::read(&path) {
        Ok(secret) if secret.len() >= 32 => Ok(secret),
        _ => {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::write(&path, &secret).map_err(data_error(&path))?;
            Ok(secret.into_bytes())
        }
    }
}

/// Adds an agent and returns its token, shown once: how the first admin of an installation
/// comes to be (locally, or on a deployed stack's table).
pub async fn add_agent(
    place: AgentStore<'_>,
    config: Option<&Path>,
    id: &str,
    name: &str,
    agency: &str,
    role: &str,
    email: Option<&str>,
) -> Result<String, StartError> {
    use ventanilla_domain::model::agents::Role;
    let settings = match config {
        Some(path) => Settings::load(path)?,
        None => Settings::parse(ventanilla_app::config::DEFAULT_CONFIG)?,
    };
    let invalid = |what: String| StartError::Invalid(what);
    let agency = ventanilla_domain::AgencyCode::parse(agency)
        .ok()
        .filter(|code| settings.agency(code).is_some())
        .ok_or_else(|| invalid(format!("--agency {agency}: no such agency is configured")))?;
    let role = Role::parse(role).map_err(|_| {
        invalid(format!(
            "--role {role}: agent, supervisor, admin or operator"
        ))
    })?;
    let id = ventanilla_domain::AgentId::parse(id)
        .map_err(|_| invalid(format!("--id {id}: letters, digits, '.', '-' and '_'")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("--name is empty".into()));
    }
    let email = email
        .map(|text| {
            ventanilla_domain::Email::parse(text)
                .map_err(|_| invalid(format!("--email {text}: not an e-mail address")))
        })
        .transpose()?;
    match place {
        AgentStore::DataDir(data_dir) => {
            std::fs::create_dir_all(data_dir).map_err(data_error(data_dir))?;
            let store = SqliteStore::open(&data_dir.join("ventanilla.sqlite3"))?;
            add_to(&store, id, name, agency, role, email).await
        }
        AgentStore::DynamoDb(table) => {
            let config = ventanilla_adapters::aws::load_config().await?;
            let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, table);
            add_to(&store, id, name, agency, role, email).await
        }
    }
}

/// `deadlines backfill`: every unfinished ticket written again, those opened before terms
/// were kept given one (`ventanilla_app::give_terms`).
pub async fn backfill_terms(
    place: AgentStore<'_>,
    config: Option<&Path>,
) -> Result<ventanilla_app::give_terms::Backfill, StartError> {
    use ventanilla_adapters::system::{SystemClock, UuidV7};
    let settings = match config {
        Some(path) => Settings::load(path)?,
        None => Settings::parse(ventanilla_app::config::DEFAULT_CONFIG)?,
    };
    Ok(match place {
        AgentStore::DataDir(data_dir) => {
            let store = SqliteStore::open(&data_dir.join("ventanilla.sqlite3"))?;
            ventanilla_app::give_terms::backfill_terms(&store, &settings, &SystemClock, &UuidV7)
                .await?
        }
        AgentStore::DynamoDb(table) => {
            let config = ventanilla_adapters::aws::load_config().await?;
            let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, table);
            ventanilla_app::give_terms::backfill_terms(&store, &settings, &SystemClock, &UuidV7)
                .await?
        }
    })
}

/// `stats check` and `stats rebuild`: the agencies' figures against what their tickets count
/// (`ventanilla_app::stats_check`), mended by `rebuild`.
pub async fn check_stats(
    place: AgentStore<'_>,
    mend: bool,
) -> Result<ventanilla_app::stats_check::StatsCheck, StartError> {
    use ventanilla_app::stats_check::{check, rebuild};
    Ok(match place {
        AgentStore::DataDir(data_dir) => {
            let store = SqliteStore::open(&data_dir.join("ventanilla.sqlite3"))?;
            if mend {
                rebuild(&store).await?
            } else {
                check(&store).await?
            }
        }
        AgentStore::DynamoDb(table) => {
            let config = ventanilla_adapters::aws::load_config().await?;
            let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, table);
            if mend {
                rebuild(&store).await?
            } else {
                check(&store).await?
            }
        }
    })
}

/// `export`: the file the console's "Exportar" makes (`ventanilla_app::export`), from the
/// local installation or a deployed stack's table, and how many tickets it lists.
pub async fn export_file(
    place: AgentStore<'_>,
    query: &ventanilla_app::export::FileQuery,
) -> Result<(Vec<u8>, usize), StartError> {
    use ventanilla_app::export::write_file;
    Ok(match place {
        AgentStore::DataDir(data_dir) => {
            let store = SqliteStore::open(&data_dir.join("ventanilla.sqlite3"))?;
            write_file(&store, query).await?
        }
        AgentStore::DynamoDb(table) => {
            let config = ventanilla_adapters::aws::load_config().await?;
            let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, table);
            write_file(&store, query).await?
        }
    })
}

/// The days `agency` changed from `first` to `last`, as the local installation (or a deployed
/// stack's table) keeps them: what `calendar --agency` counts on.
pub async fn calendar_days(
    place: AgentStore<'_>,
    agency: &ventanilla_domain::AgencyCode,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<Vec<ventanilla_domain::model::agencies::CalendarDay>, StartError> {
    use ventanilla_domain::ports::AgencyDirectory;
    match place {
        AgentStore::DataDir(data_dir) => {
            let file = data_dir.join("ventanilla.sqlite3");
            if !file.exists() {
                // Nothing was ever changed where nothing was ever stored.
                return Ok(Vec::new());
            }
            let store = SqliteStore::open(&file)?;
            Ok(store.calendar_days(agency, first, last).await?)
        }
        AgentStore::DynamoDb(table) => {
            let config = ventanilla_adapters::aws::load_config().await?;
            let store = ventanilla_adapters::dynamodb::DynamoStore::new(&config, table);
            Ok(store.calendar_days(agency, first, last).await?)
        }
    }
}

async fn add_to(
    store: &(impl ventanilla_domain::ports::AgentDirectory + ventanilla_domain::ports::AuditLog),
    id: ventanilla_domain::AgentId,
    name: &str,
    agency: ventanilla_domain::AgencyCode,
    role: ventanilla_domain::model::agents::Role,
    email: Option<ventanilla_domain::Email>,
) -> Result<String, StartError> {
    use ventanilla_domain::model::agents::{AuditAction, AuditEntry};
    let (agent, token) = ventanilla_app::agents::create(
        store,
        &SystemClock,
        id,
        name.to_owned(),
        agency,
        role,
        email,
    )
    .await
    .map_err(|error| match error {
        ventanilla_domain::ports::StoreError::AlreadyExists => {
            StartError::Invalid("that agent id is taken; choose another with --id".into())
        }
        other => StartError::Store(other),
    })?;
    store
        .record(&AuditEntry {
            at: SystemClock.now(),
            agent: agent.id.clone(),
            action: AuditAction::ManageAgent,
            ticket: None,
            detail: format!(
                "added {} ({}) from the command line",
                agent.id.as_str(),
                agent.role.wire()
            ),
        })
        .await?;
    Ok(token.expose().to_owned())
}

/// Where `agent add` writes: the local data folder, or a deployed stack's table (reached
/// with the standard AWS credentials and region).
#[derive(Debug, Clone, Copy)]
pub enum AgentStore<'a> {
    DataDir(&'a Path),
    DynamoDb(&'a str),
}

/// The inbound-mail function's desk on the embedded adapters.
pub type LocalMailDesk = ventanilla_app::Desk<SqliteStore, FolderBlobs, OutboxMailer>;

/// The retention rule, as the daily schedule runs it on AWS: at start and every hour after.
pub async fn retention(desk: Arc<LocalMailDesk>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        if let Err(error) = desk.erase_expired().await {
            tracing::error!(%error, "retention sweep failed; the next one tries again");
        }
    }
}

/// The mail queue's sweep, as the minute's schedule runs it on AWS: at start and every
/// `mail_queue.sweep_seconds` after.
pub async fn sweep_mail(desk: Arc<LocalMailDesk>) {
    let mut every = tokio::time::interval(desk.site.settings.mail_queue.sweep_every);
    loop {
        every.tick().await;
        if let Err(error) = desk.sweep_mail().await {
            tracing::error!(%error, "mail queue sweep failed; the next one tries again");
        }
    }
}

/// The deadline warnings, as the morning's schedule runs them on AWS: at start and every
/// hour after (each warning goes once, whenever it runs).
pub async fn warn_due(desk: Arc<LocalMailDesk>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match desk.warn_due().await {
            Ok(report) if report.mails > 0 => {
                if let Err(error) = desk.sweep_mail().await {
                    tracing::error!(%error, "mail queue sweep failed; the next one tries again");
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "deadline warnings sweep failed; the next one tries again")
            }
        }
    }
}

/// The whole system in one process.
#[derive(Debug)]
pub struct Local {
    /// Every route of every HTTP function, plus the blob downloads the folder store links to.
    pub router: Router,
    /// What the SMTP listener feeds.
    pub mail: Arc<LocalMailDesk>,
}

/// Assembles the system on the data folder; `address` is where the HTTP side listens (links
/// in mails point there).
pub fn app(
    data_dir: &Path,
    config: Option<&Path>,
    address: SocketAddr,
) -> Result<Local, StartError> {
    std::fs::create_dir_all(data_dir).map_err(data_error(data_dir))?;
    let mut settings = match config {
        Some(path) => Settings::load(path)?,
        None => Settings::parse(ventanilla_app::config::DEFAULT_CONFIG)?,
    };
    settings.public_url = format!("http://{address}");
    let identifiers = IdentifierSecret::new(&secret(data_dir, "identifier-secret")?)
        .unwrap_or_else(|| unreachable!("a secret of 64 hex digits"));
    let secret = secret(data_dir, "link-secret")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let site = Site {
        links: AccessLinks::new(&secret).map_err(|_| StartError::DataDir {
            path: data_dir.join("link-secret").display().to_string(),
            source: std::io::Error::other("the link secret is too short"),
        })?,
        settings: settings.clone(),
        clock: Arc::clone(&clock),
        ids: Arc::new(UuidV7),
    };
    let store = SqliteStore::open(&data_dir.join("ventanilla.sqlite3"))?;
    let blobs = FolderBlobs::new(data_dir.join("blobs"), settings.public_url.clone(), secret);
    let mailer = OutboxMailer::new(data_dir.join("outbox"));
    let intake = ventanilla_app::Desk {
        site: site.clone(),
        store: store.clone(),
        blobs: blobs.clone(),
        mailer: mailer.clone(),
        identifiers: identifiers.clone(),
    };
    let agents = ventanilla_app::Desk {
        site: site.clone(),
        store: store.clone(),
        blobs: blobs.clone(),
        mailer: mailer.clone(),
        identifiers: (),
    };
    let mail = Arc::new(ventanilla_app::Desk {
        site: site.clone(),
        store: store.clone(),
        blobs: blobs.clone(),
        mailer,
        identifiers: identifiers.clone(),
    });
    let desk = ventanilla_app::Desk {
        site,
        store,
        blobs: blobs.clone(),
        identifiers: identifiers.clone(),
        mailer: (),
    };
    let downloads = Router::new()
        .route("/blobs/{*key}", get(download))
        .with_state(Arc::new((blobs, clock)));
    let router = create_ticket::router(Arc::new(intake))
        .merge(ticket_status::router(Arc::new(desk)))
        .merge(agent_api::router(Arc::new(agents)))
        .merge(ventanilla_web::finish_router(downloads));
    Ok(Local { router, mail })
}

/// Serves a blob to whoever holds a valid signed link, as S3 serves a presigned GET.
async fn download(
    State(state): State<Arc<(FolderBlobs, Arc<dyn Clock>)>>,
    UrlPath(key): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (blobs, clock) = state.as_ref();
    let forbidden = || StatusCode::FORBIDDEN.into_response();
    let Ok(key) = BlobKey::parse(&key) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(name), Some(expires), Some(signature)) = (
        query.get("name"),
        query.get("expires").and_then(|e| e.parse().ok()),
        query.get("sig"),
    ) else {
        return forbidden();
    };
    let link = DownloadLink {
        name: name.clone(),
        expires,
        signature: signature.clone(),
    };
    if !blobs.verify_download(&key, &link, clock.now()) {
        return forbidden();
    }
    match blobs.get(&key).await {
        Ok(blob) => {
            let encoded =
                percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
            let disposition = format!("attachment; filename*=UTF-8''{encoded}");
            let mut response = blob.bytes.into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&blob.content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(ventanilla_domain::ports::BlobError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "blob unreadable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
