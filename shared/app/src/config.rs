//! The configuration file (`shared/app/ventanilla.toml`): the site, its limits, the agencies and
//! their queues. Parsed once at start-up into typed values, so a bad file stops a cold start
//! instead of failing requests.

use std::collections::BTreeMap;
use std::time::Duration;
use ventanilla_domain::Choice;

use serde::Deserialize;
use ventanilla_domain::BlobKey;
use ventanilla_domain::model::agencies::FinishedTicketRule;
use ventanilla_domain::model::mail::{MailMessageId, Mailbox};
use ventanilla_domain::model::mail_queue::RetryPolicy;
use ventanilla_domain::model::term::{DayKind, Term, TermExtension, WarningRules};
use ventanilla_domain::rules::mail_in::support_address::MailPolicy;
use ventanilla_domain::rules::privacy::Retention;
use ventanilla_domain::{AgencyCode, Category, Email, QueueName};

/// The configuration compiled in: one example agency (MDT).
pub const DEFAULT_CONFIG: &str = include_str!("../ventanilla.toml");

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
    pub mail: MailSettings,
    pub mail_queue: MailQueueSettings,
    /// The legal term of each category that has one (`[terms.<category>]`); the others get
    /// their agency's `response_days`.
    pub terms: BTreeMap<Category, Term>,
    /// An agency's own terms (`[agencies.terms.<category>]`), over `terms`.
    pub agency_terms: BTreeMap<(AgencyCode, Category), Term>,
    pub deadlines: DeadlineSettings,
    /// `None`: personal data is kept until an admin erases it.
    pub retention: Option<Retention>,
}

/// How due dates move (`[deadlines]`).
#[derive(Debug, Clone, Copy)]
pub struct DeadlineSettings {
    /// The business days a ticket's clock may stay stopped while the agency waits on the
    /// citizen; 0: it never stops.
    pub suspension_max_days: u32,
    /// When agents are warned before a due date (given to each ticket with its term).
    pub warnings: WarningRules,
}

/// How the mail queue (the durable outbox) retries and how often it is swept.
#[derive(Debug, Clone, Copy)]
pub struct MailQueueSettings {
    pub retry: RetryPolicy,
    /// How often the local server sweeps (on AWS the schedule in `template.yaml` does).
    pub sweep_every: Duration,
}

/// The support address: where its mail goes and how it behaves.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub policy: MailPolicy,
    /// Where the SES receipt rule (and the local SMTP listener) stores raw mail.
    pub inbound_prefix: String,
    /// Attachments beyond these stay only in the raw mail.
    pub max_attachment_bytes: u64,
    pub max_attachments: usize,
    /// Whether mail that reaches the desk without SES's verdicts (the local SMTP listener) is
    /// taken as from an authenticated sender: `local_senders` in the file. On AWS every mail
    /// comes with SES's receipt, which decides instead.
    pub local_senders_authenticated: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub openings_per_source_per_hour: u64,
    pub lookup_misses_per_number_per_hour: u64,
    pub lookup_misses_per_source_per_hour: u64,
    pub access_link: chrono::Duration,
    pub download_link: Duration,
}

pub use ventanilla_domain::model::agencies::Agency;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    site: SiteFile,
    limits: LimitsFile,
    mail: MailFile,
    #[serde(default)]
    privacy: PrivacyFile,
    #[serde(default)]
    mail_queue: MailQueueFile,
    #[serde(default)]
    terms: BTreeMap<String, TermFile>,
    #[serde(default)]
    deadlines: DeadlinesFile,
    agencies: Vec<AgencyFile>,
}

/// `[terms.<category>]` (and `[agencies.terms.<category>]`, for one agency): the term the
/// law gives to answer that kind of request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermFile {
    days: u32,
    /// `business` (término) or `calendar` (plazo).
    kind: String,
    basis: String,
    /// Days (of the same kind) a supervisor may extend it by, once; none without it.
    #[serde(default)]
    extension_days: Option<u32>,
    /// Whether the citizen is told of an extension by mail.
    #[serde(default = "yes")]
    extension_notice: bool,
}

fn yes() -> bool {
    true
}

fn terms(file: BTreeMap<String, TermFile>) -> Result<BTreeMap<Category, Term>, SettingsError> {
    file.into_iter()
        .map(|(category, term)| {
            let category = Category::parse(&category).map_err(|e| invalid("terms", e))?;
            let extension = match term.extension_days {
                None => None,
                Some(days @ 1..=365) => Some(TermExtension {
                    days,
                    notice: term.extension_notice,
                }),
                Some(_) => return Err(invalid("terms.extension_days", "must be 1 to 365")),
            };
            let kind = DayKind::parse(&term.kind).ok_or_else(|| {
                invalid(
                    "terms.kind",
                    format!("\"{}\" is not business or calendar", term.kind),
                )
            })?;
            if !(1..=365).contains(&term.days) {
                return Err(invalid("terms.days", "must be 1 to 365"));
            }
            Ok((
                category,
                Term {
                    days: term.days,
                    kind,
                    basis: term.basis,
                    extension,
                    // Set from [deadlines] by `Settings::term`.
                    warnings: WarningRules::default(),
                    // The agency's, set when a ticket is opened (`open_ticket::open`).
                    calendar: Default::default(),
                },
            ))
        })
        .collect()
}

/// `[deadlines]`, optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DeadlinesFile {
    suspension_max_days: u32,
    warn_at_percent: u32,
    warn_days_before: u32,
}

impl Default for DeadlinesFile {
    fn default() -> Self {
        // COA, art. 140: ten days to complete or correct a request.
        DeadlinesFile {
            suspension_max_days: 10,
            warn_at_percent: 80,
            warn_days_before: 1,
        }
    }
}

impl DeadlinesFile {
    fn settings(self) -> Result<DeadlineSettings, SettingsError> {
        if self.suspension_max_days > 365 {
            return Err(invalid("deadlines.suspension_max_days", "must be 0 to 365"));
        }
        if self.warn_at_percent >= 100 {
            return Err(invalid("deadlines.warn_at_percent", "must be 0 to 99"));
        }
        if self.warn_days_before > 365 {
            return Err(invalid("deadlines.warn_days_before", "must be 0 to 365"));
        }
        Ok(DeadlineSettings {
            suspension_max_days: self.suspension_max_days,
            warnings: WarningRules {
                at_percent: self.warn_at_percent,
                days_before: self.warn_days_before,
            },
        })
    }
}

/// `[mail_queue]`, optional: every key has a default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MailQueueFile {
    first_retry_seconds: u64,
    longest_wait_minutes: u64,
    attempts: u32,
    lease_seconds: u64,
    sweep_seconds: u64,
}

impl Default for MailQueueFile {
    fn default() -> Self {
        MailQueueFile {
            first_retry_seconds: 60,
            longest_wait_minutes: 60,
            attempts: 10,
            lease_seconds: 120,
            sweep_seconds: 30,
        }
    }
}

impl MailQueueFile {
    fn settings(self) -> Result<MailQueueSettings, SettingsError> {
        let positive = |name: &str, value: u64| {
            if value == 0 {
                Err(invalid(&format!("mail_queue.{name}"), "must be at least 1"))
            } else {
                Ok(value)
            }
        };
        Ok(MailQueueSettings {
            retry: RetryPolicy {
                first_retry: Duration::from_secs(positive(
                    "first_retry_seconds",
                    self.first_retry_seconds,
                )?),
                longest_wait: Duration::from_secs(
                    positive("longest_wait_minutes", self.longest_wait_minutes)? * 60,
                ),
                attempts: u32::try_from(positive("attempts", u64::from(self.attempts))?)
                    .unwrap_or(u32::MAX),
                // A send is given half the lease: at least a second.
                lease: Duration::from_secs(positive("lease_seconds", self.lease_seconds)?.max(2)),
            },
            sweep_every: Duration::from_secs(positive("sweep_seconds", self.sweep_seconds)?),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrivacyFile {
    /// 0 (the default when the section is absent): never.
    #[serde(default)]
    erase_finished_after_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    agency: String,
    queue: String,
    review_queue: String,
    follow_ups: String,
    reopen_within_days: u32,
    answers_per_sender_per_day: u64,
    inbound_prefix: String,
    max_attachment_mb: u64,
    max_attachments: usize,
    #[serde(default = "authenticated")]
    local_senders: String,
}

fn authenticated() -> String {
    "authenticated".to_owned()
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
    #[serde(default)]
    follow_ups: BTreeMap<String, String>,
    /// This agency's own terms, over `[terms]`.
    #[serde(default)]
    terms: BTreeMap<String, TermFile>,
    /// The categories under a law of their own it takes.
    #[serde(default)]
    special_categories: Vec<String>,
}

/// `reopen`, `reject` or `new-linked`; a reopening is limited to `reopen_within_days`.
fn follow_up_rule(
    text: &str,
    reopen_within_days: u32,
) -> Result<FinishedTicketRule, SettingsError> {
    match text {
        "reopen" => Ok(FinishedTicketRule::Reopen {
            within_days: (reopen_within_days > 0).then_some(reopen_within_days),
        }),
        "reject" => Ok(FinishedTicketRule::Reject),
        "new-linked" => Ok(FinishedTicketRule::NewLinked),
        other => Err(SettingsError::Invalid(format!(
            "follow_ups: \"{other}\" is not one of reopen, reject, new-linked"
        ))),
    }
}

fn invalid(what: &str, error: impl std::fmt::Display) -> SettingsError {
    SettingsError::Invalid(format!("{what}: {error}"))
}

impl Settings {
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        let file: File = toml::from_str(text)?;
        let reopen_days = file.mail.reopen_within_days;
        let mut agency_terms = BTreeMap::new();
        let agencies = file
            .agencies
            .into_iter()
            .map(|a| {
                let code = AgencyCode::parse(&a.code).map_err(|e| invalid("agencies.code", e))?;
                for (category, term) in terms(a.terms)? {
                    agency_terms.insert((code.clone(), category), term);
                }
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
                let follow_ups = a
                    .follow_ups
                    .iter()
                    .map(|(queue, rule)| {
                        Ok((
                            QueueName::parse(queue)
                                .map_err(|e| invalid("agencies.follow_ups", e))?,
                            follow_up_rule(rule, reopen_days)?,
                        ))
                    })
                    .collect::<Result<_, SettingsError>>()?;
                // A due date is counted from it: as the admin API, 1 to 365 days.
                if !(1..=365).contains(&a.response_days) {
                    return Err(invalid("agencies.response_days", "must be 1 to 365"));
                }
                let special_categories = a
                    .special_categories
                    .iter()
                    .map(|category| match Category::parse(category) {
                        Ok(category) if category.is_special() => Ok(category),
                        _ => Err(invalid(
                            "agencies.special_categories",
                            format!("\"{category}\" is not acceso_informacion or datos_personales"),
                        )),
                    })
                    .collect::<Result<Vec<_>, SettingsError>>()?;
                Ok(Agency {
                    code,
                    name: a.name,
                    response_days: a.response_days,
                    default_queue,
                    queues_by_category,
                    follow_ups,
                    special_categories,
                })
            })
            .collect::<Result<Vec<_>, SettingsError>>()?;
        if agencies.is_empty() {
            return Err(SettingsError::Invalid("no agency is configured".into()));
        }
        let mail = mail_settings(file.mail, &agencies)?;
        let no_reply =
            Email::parse(&file.site.no_reply).map_err(|e| invalid("site.no_reply", e))?;
        // Our Message-IDs are `<uuid>@<mail_domain>`.
        MailMessageId::parse(&format!("x@{}", file.site.mail_domain))
            .map_err(|e| invalid("site.mail_domain", e))?;
        let settings = Settings {
            mail_queue: file.mail_queue.settings()?,
            terms: terms(file.terms)?,
            agency_terms,
            deadlines: file.deadlines.settings()?,
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
            mail,
            retention: (file.privacy.erase_finished_after_days > 0).then(|| Retention {
                erase_finished_after: chrono::Duration::days(i64::from(
                    file.privacy.erase_finished_after_days,
                )),
            }),
        };
        Ok(settings)
    }

    /// The file named by `VENTANILLA_CONFIG`, else the compiled-in default; then what the
    /// deployment decides replaces the file's value, when set: `VENTANILLA_PUBLIC_URL`,
    /// `VENTANILLA_MAIL_DOMAIN`, `VENTANILLA_SUPPORT_ADDRESS` and
    /// `VENTANILLA_NO_REPLY_ADDRESS` (`template.yaml` passes its parameters through them, so
    /// the addresses SES is set up for are the ones the code sends from).
    pub fn from_env() -> Result<Self, SettingsError> {
        let settings = match std::env::var("VENTANILLA_CONFIG") {
            Ok(path) if !path.is_empty() => Self::load(std::path::Path::new(&path))?,
            _ => Self::parse(DEFAULT_CONFIG)?,
        };
        settings.with_deployment(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The overrides of [`Settings::from_env`], read through `var`.
    pub fn with_deployment(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        if let Some(url) = var("VENTANILLA_PUBLIC_URL") {
            self.public_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(domain) = var("VENTANILLA_MAIL_DOMAIN") {
            MailMessageId::parse(&format!("x@{domain}"))
                .map_err(|e| invalid("VENTANILLA_MAIL_DOMAIN", e))?;
            self.mail_domain = domain;
        }
        if let Some(support) = var("VENTANILLA_SUPPORT_ADDRESS") {
            self.support =
                Email::parse(&support).map_err(|e| invalid("VENTANILLA_SUPPORT_ADDRESS", e))?;
        }
        if let Some(no_reply) = var("VENTANILLA_NO_REPLY_ADDRESS") {
            let address =
                Email::parse(&no_reply).map_err(|e| invalid("VENTANILLA_NO_REPLY_ADDRESS", e))?;
            self.no_reply = Mailbox::new(self.site_name.clone(), address);
        }
        Ok(self)
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

    /// The term `agency` has to answer a request of `category`: the law's, or else the
    /// agency's own commitment (`response_days` business days); `None` for an agency not
    /// configured.
    pub fn term(&self, agency: &AgencyCode, category: Category) -> Option<Term> {
        let own = self.agency_terms.get(&(agency.clone(), category));
        let term = match own.or_else(|| self.terms.get(&category)) {
            Some(term) => term.clone(),
            None => Term {
                days: self.agency(agency)?.response_days,
                kind: DayKind::Business,
                basis: "Compromiso de servicio de la entidad".into(),
                extension: None,
                warnings: WarningRules::default(),
                calendar: Default::default(),
            },
        };
        Some(Term {
            warnings: self.deadlines.warnings,
            ..term
        })
    }

    /// The queues an agency works: its default, those its categories go to, and the
    /// support address's queues when mail lands there.
    pub fn queues_of(&self, agency: &AgencyCode) -> Vec<QueueName> {
        let mut queues = std::collections::BTreeSet::new();
        if let Some(config) = self.agency(agency) {
            queues.extend(config.queues());
        }
        let mail = &self.mail.policy;
        if &mail.agency == agency {
            queues.insert(mail.queue.clone());
            queues.insert(mail.review_queue.clone());
        }
        queues.into_iter().collect()
    }

    /// Every agency's queues.
    pub fn all_queues(&self) -> Vec<(AgencyCode, QueueName)> {
        self.agencies
            .iter()
            .flat_map(|a| {
                self.queues_of(&a.code)
                    .into_iter()
                    .map(|q| (a.code.clone(), q))
            })
            .collect()
    }

    /// The configuration with agencies an admin saved at run time: each replaces the
    /// configured agency of its code, or joins the list; the queues' follow-up rules follow.
    pub fn with_agencies(mut self, stored: Vec<Agency>) -> Self {
        for agency in stored {
            match self.agencies.iter_mut().find(|a| a.code == agency.code) {
                Some(configured) => *configured = agency,
                None => self.agencies.push(agency),
            }
        }
        self.mail.policy.finished_by_queue = finished_by_queue(&self.agencies);
        self
    }
}

/// Each agency's queues' own rules for mail to a finished ticket, as the mail policy reads them.
fn finished_by_queue(agencies: &[Agency]) -> BTreeMap<(AgencyCode, QueueName), FinishedTicketRule> {
    agencies
        .iter()
        .flat_map(|a| {
            a.follow_ups
                .iter()
                .map(|(queue, rule)| ((a.code.clone(), queue.clone()), *rule))
        })
        .collect()
}

fn mail_settings(file: MailFile, agencies: &[Agency]) -> Result<MailSettings, SettingsError> {
    let agency = AgencyCode::parse(&file.agency).map_err(|e| invalid("mail.agency", e))?;
    if !agencies.iter().any(|a| a.code == agency) {
        return Err(invalid("mail.agency", "no such agency is configured"));
    }
    let finished_by_queue = finished_by_queue(agencies);
    let inbound_prefix = file.inbound_prefix;
    if !inbound_prefix.ends_with('/') || BlobKey::parse(&format!("{inbound_prefix}x")).is_err() {
        return Err(invalid(
            "mail.inbound_prefix",
            "a folder name ending in '/' (letters, digits, - and _)",
        ));
    }
    Ok(MailSettings {
        policy: MailPolicy {
            agency,
            queue: QueueName::parse(&file.queue).map_err(|e| invalid("mail.queue", e))?,
            review_queue: QueueName::parse(&file.review_queue)
                .map_err(|e| invalid("mail.review_queue", e))?,
            finished: follow_up_rule(&file.follow_ups, file.reopen_within_days)?,
            finished_by_queue,
            acks_per_sender_per_day: file.answers_per_sender_per_day,
        },
        inbound_prefix,
        max_attachment_bytes: file.max_attachment_mb.saturating_mul(1024 * 1024),
        max_attachments: file.max_attachments,
        local_senders_authenticated: match file.local_senders.as_str() {
            "authenticated" => true,
            "unverified" => false,
            other => {
                return Err(SettingsError::Invalid(format!(
                    "mail.local_senders: \"{other}\" is not one of authenticated, unverified"
                )));
            }
        },
    })
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
    fn the_deployment_sets_the_url_and_the_mail_addresses() {
        let vars = |name: &str| match name {
            "VENTANILLA_PUBLIC_URL" => Some("https://mesa.turismo.gob.ec/".to_owned()),
            "VENTANILLA_MAIL_DOMAIN" => Some("turismo.gob.ec".to_owned()),
            "VENTANILLA_SUPPORT_ADDRESS" => Some("ayuda@turismo.gob.ec".to_owned()),
            "VENTANILLA_NO_REPLY_ADDRESS" => Some("avisos@turismo.gob.ec".to_owned()),
            _ => None,
        };
        let settings = Settings::parse(DEFAULT_CONFIG)
            .unwrap()
            .with_deployment(vars)
            .unwrap();
        assert_eq!(settings.public_url, "https://mesa.turismo.gob.ec");
        assert_eq!(settings.mail_domain, "turismo.gob.ec");
        assert_eq!(settings.support.as_str(), "ayuda@turismo.gob.ec");
        assert_eq!(settings.no_reply.email.as_str(), "avisos@turismo.gob.ec");
        assert_eq!(settings.no_reply.name.as_deref(), Some("Ventanilla"));

        let error = Settings::parse(DEFAULT_CONFIG)
            .unwrap()
            .with_deployment(|name| {
                (name == "VENTANILLA_SUPPORT_ADDRESS").then(|| "soporte".to_owned())
            })
            .unwrap_err()
            .to_string();
        assert!(error.contains("VENTANILLA_SUPPORT_ADDRESS"), "{error}");
    }

    #[test]
    fn a_bad_configuration_names_what_is_wrong() {
        let bad = DEFAULT_CONFIG.replace("problema_tecnico = ", "problema = ");
        let error = Settings::parse(&bad).unwrap_err().to_string();
        assert!(error.contains("queues_by_category"), "{error}");
        let bad = DEFAULT_CONFIG.replace("[limits]", "[limits]\nsurprise = 1");
        assert!(Settings::parse(&bad).is_err());
        let bad = DEFAULT_CONFIG.replace("follow_ups = \"reopen\"", "follow_ups = \"maybe\"");
        let error = Settings::parse(&bad).unwrap_err().to_string();
        assert!(error.contains("follow_ups"), "{error}");
    }

    #[test]
    fn follow_up_rules_are_set_per_queue() {
        let text = DEFAULT_CONFIG.replace(
            "[agencies.queues_by_category]",
            "[agencies.follow_ups]\n\"soporte-tecnico\" = \"new-linked\"\n[agencies.queues_by_category]",
        );
        let settings = Settings::parse(&text).unwrap();
        let mdt = AgencyCode::parse("MDT").unwrap();
        let rules = &settings.mail.policy.finished_by_queue;
        assert_eq!(
            rules.get(&(mdt.clone(), QueueName::parse("soporte-tecnico").unwrap())),
            Some(&FinishedTicketRule::NewLinked)
        );
        assert_eq!(
            settings.mail.policy.finished,
            FinishedTicketRule::Reopen {
                within_days: Some(30)
            }
        );
        assert_eq!(settings.mail.inbound_prefix, "inbound/");
    }

    #[test]
    fn an_agency_may_have_its_own_terms() {
        // The last agency in the file is MINTEL: a table after it belongs to it.
        let text = format!(
            "{DEFAULT_CONFIG}\n[agencies.terms.queja]\ndays = 10\nkind = \"calendar\"\n\
             basis = \"Reglamento interno\"\nextension_days = 5\nextension_notice = false\n"
        );
        let settings = Settings::parse(&text).unwrap();
        let mintel = AgencyCode::parse("MINTEL").unwrap();
        let mdt = AgencyCode::parse("MDT").unwrap();
        let own = settings.term(&mintel, Category::Queja).unwrap();
        assert_eq!((own.days, own.kind), (10, DayKind::Calendar));
        assert_eq!(
            own.extension,
            Some(TermExtension {
                days: 5,
                notice: false
            })
        );
        let general = settings.term(&mdt, Category::Queja).unwrap();
        assert_eq!(
            (general.days, general.basis.as_str()),
            (30, "COA, art. 207 (silencio administrativo)")
        );
        assert_eq!(
            general.extension,
            Some(TermExtension {
                days: 15,
                notice: true
            })
        );
        // A category with no term anywhere: the agency's response_days.
        assert_eq!(settings.term(&mintel, Category::Asesoria).unwrap().days, 5);
        let bad = text.replace("extension_days = 5", "extension_days = 0");
        let error = Settings::parse(&bad).unwrap_err().to_string();
        assert!(error.contains("extension_days"), "{error}");
    }
}
