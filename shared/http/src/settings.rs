//! The configuration file (`infra/ventanilla.toml`): the site, its limits, the agencies and
//! their queues. Parsed once at start-up into typed values, so a bad file stops a cold start
//! instead of failing requests.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use ventanilla_domain::mail::Mailbox;
use ventanilla_domain::{AgencyCode, Category, Email, QueueName};

/// The configuration compiled in: one example agency (MDT).
pub const DEFAULT_CONFIG: &str = include_str!("../../../infra/ventanilla.toml");

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the configuration is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("the configuration is not valid: {0}")]
    Invalid(String),
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub site_name: String,
    /// No trailing slash.
    pub public_url: String,
    pub mail_domain: String,
    pub no_reply: Mailbox,
    pub support: Email,
    pub limits: Limits,
    pub agencies: Vec<Agency>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub openings_per_source_per_hour: u64,
    pub lookup_misses_per_number_per_hour: u64,
    pub lookup_misses_per_source_per_hour: u64,
    pub access_link: chrono::Duration,
    pub download_link: Duration,
}

#[derive(Debug, Clone)]
pub struct Agency {
    pub code: AgencyCode,
    pub name: String,
    pub response_days: u32,
    pub default_queue: QueueName,
    pub queues_by_category: BTreeMap<Category, QueueName>,
}

impl Agency {
    /// The queue a new ticket of this category lands in.
    pub fn queue_for(&self, category: Category) -> &QueueName {
        self.queues_by_category
            .get(&category)
            .unwrap_or(&self.default_queue)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    site: SiteFile,
    limits: LimitsFile,
    agencies: Vec<AgencyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    name: String,
    public_url: String,
    mail_domain: String,
    no_reply: String,
    support: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    openings_per_source_per_hour: u64,
    lookup_misses_per_number_per_hour: u64,
    lookup_misses_per_source_per_hour: u64,
    access_link_days: u32,
    download_link_minutes: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyFile {
    code: String,
    name: String,
    response_days: u32,
    default_queue: String,
    #[serde(default)]
    queues_by_category: BTreeMap<String, String>,
}

fn invalid(what: &str, error: impl std::fmt::Display) -> SettingsError {
    SettingsError::Invalid(format!("{what}: {error}"))
}

impl Settings {
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        let file: File = toml::from_str(text)?;
        let agencies = file
            .agencies
            .into_iter()
            .map(|a| {
                let code = AgencyCode::parse(&a.code).map_err(|e| invalid("agencies.code", e))?;
                let default_queue = QueueName::parse(&a.default_queue)
                    .map_err(|e| invalid("agencies.default_queue", e))?;
                let queues_by_category = a
                    .queues_by_category
                    .iter()
                    .map(|(category, queue)| {
                        Ok((
                            Category::parse(category)
                                .map_err(|e| invalid("agencies.queues_by_category", e))?,
                            QueueName::parse(queue)
                                .map_err(|e| invalid("agencies.queues_by_category", e))?,
                        ))
                    })
                    .collect::<Result<_, SettingsError>>()?;
                Ok(Agency {
                    code,
                    name: a.name,
                    response_days: a.response_days,
                    default_queue,
                    queues_by_category,
                })
            })
            .collect::<Result<Vec<_>, SettingsError>>()?;
        if agencies.is_empty() {
            return Err(SettingsError::Invalid("no agency is configured".into()));
        }
        let no_reply =
            Email::parse(&file.site.no_reply).map_err(|e| invalid("site.no_reply", e))?;
        let settings = Settings {
            no_reply: Mailbox::new(file.site.name.clone(), no_reply),
            site_name: file.site.name,
            public_url: file.site.public_url.trim_end_matches('/').to_owned(),
            mail_domain: file.site.mail_domain,
            support: Email::parse(&file.site.support).map_err(|e| invalid("site.support", e))?,
            limits: Limits {
                openings_per_source_per_hour: file.limits.openings_per_source_per_hour,
                lookup_misses_per_number_per_hour: file.limits.lookup_misses_per_number_per_hour,
                lookup_misses_per_source_per_hour: file.limits.lookup_misses_per_source_per_hour,
                access_link: chrono::Duration::days(i64::from(file.limits.access_link_days)),
                download_link: Duration::from_secs(
                    u64::from(file.limits.download_link_minutes) * 60,
                ),
            },
            agencies,
        };
        Ok(settings)
    }

    /// The file named by `VENTANILLA_CONFIG`, else the compiled-in default; then
    /// `VENTANILLA_PUBLIC_URL`, when set, replaces the public URL.
    pub fn from_env() -> Result<Self, SettingsError> {
        let mut settings = match std::env::var("VENTANILLA_CONFIG") {
            Ok(path) if !path.is_empty() => Self::load(std::path::Path::new(&path))?,
            _ => Self::parse(DEFAULT_CONFIG)?,
        };
        if let Ok(url) = std::env::var("VENTANILLA_PUBLIC_URL")
            && !url.is_empty()
        {
            settings.public_url = url.trim_end_matches('/').to_owned();
        }
        Ok(settings)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn agency(&self, code: &AgencyCode) -> Option<&Agency> {
        self.agencies.iter().find(|a| &a.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_parses() {
        let settings = Settings::parse(DEFAULT_CONFIG).unwrap();
        let mdt = settings.agency(&AgencyCode::parse("MDT").unwrap()).unwrap();
        assert_eq!(
            mdt.queue_for(Category::Queja).as_str(),
            "atencion-ciudadana"
        );
        assert_eq!(
            mdt.queue_for(Category::ProblemaTecnico).as_str(),
            "soporte-tecnico"
        );
    }

    #[test]
    fn a_bad_configuration_names_what_is_wrong() {
        let bad = DEFAULT_CONFIG.replace("problema_tecnico = ", "problema = ");
        let error = Settings::parse(&bad).unwrap_err().to_string();
        assert!(error.contains("queues_by_category"), "{error}");
        let bad = DEFAULT_CONFIG.replace("[limits]", "[limits]\nsurprise = 1");
        assert!(Settings::parse(&bad).is_err());
    }
}
