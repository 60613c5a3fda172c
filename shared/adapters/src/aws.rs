//! The one AWS SDK configuration a process builds, shared by every client it makes.

use std::sync::{Arc, OnceLock};

pub use aws_config::SdkConfig;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder as HttpClientBuilder, tls::rustls_provider::CryptoMode};
use ventanilla_domain::ports::IdentifierSecret;

/// Amazon Trust Services' root certificates: every AWS endpoint's chain ends in one of them.
/// Trusting these, compiled in, instead of the system's store spares each cold start the
/// reading and parsing of the whole store (about 140 files on Debian; docs/PERFORMANCE.md
/// has the figures), and narrows whom the functions trust to whom they talk to.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The TLS crypto of every AWS call: AWS-LC, the SDK's default, which offers AWS endpoints a
/// post-quantum key exchange (X25519MLKEM768) beside the classical ones, so that where an
/// endpoint takes it, a recording of what the functions send (citizens' data) cannot be read
/// later. Its price is seeding a random generator of its own from CPU timing jitter on the
/// first handshake, roughly 30-40 ms of CPU per cold start, which it skips only where a VM
/// generation id is guaranteed, and Lambda gives none. ring was measured instead (no generator
/// to seed: a first answer of 13-36 ms of CPU instead of 54-74) and not kept for want of a
/// post-quantum key exchange. docs/PERFORMANCE.md, "Issue 25, 2026-12-04 (machine E)".
const TLS_CRYPTO: CryptoMode = CryptoMode::AwsLc;

/// What stops a function's start: a missing setting or an unusable CA bundle.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error("AWS_CA_BUNDLE={path}: {reason}")]
    CaBundle { path: String, reason: String },
    #[error("a secret could not be read from SSM parameter {name}: {reason}")]
    Secret { name: String, reason: String },
    #[error("the secret ({0}) is missing or shorter than 32 bytes")]
    ShortSecret(&'static str),
}

/// The HTTPS client of every SDK configuration (the SDK's own default is not built in): it
/// trusts Amazon's roots, plus the certificates of the PEM file `AWS_CA_BUNDLE` names (the
/// variable every AWS SDK reads; e.g. a TLS proxy in front of a stand-in), over `TLS_CRYPTO`.
pub fn https_client() -> Result<SharedHttpClient, SettingError> {
    let mut trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES);
    if let Some(path) = std::env::var_os("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
        trust = trust.with_pem_certificate(ca_bundle(std::path::Path::new(&path))?);
    }
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| SettingError::CaBundle {
            path: "(compiled-in roots)".into(),
            reason: e.to_string(),
        })?;
    Ok(HttpClientBuilder::new()
        .tls_provider(tls::Provider::Rustls(TLS_CRYPTO))
        .tls_context(tls)
        .build_https())
}

/// Loads region, credentials and endpoint from the standard places (environment, profile,
/// the Lambda execution role's variables). `AWS_ENDPOINT_URL` points every client at a local
/// stand-in. HTTPS through [`https_client`].
pub async fn load_config() -> Result<SdkConfig, SettingError> {
    let http_client = https_client()?;
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client);
    // On Lambda the region and the execution role's credentials are always in the
    // environment. Naming that source skips building the default chains (profile, web
    // identity, ECS and IMDS providers, each with a client of its own), which a start pays
    // for and no call would reach. Elsewhere (a developer's profile) the chains apply.
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_REGION") && set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader
            .region(EnvironmentVariableRegionProvider::new())
            .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    Ok(loader.load().await)
}

/// The PEM file, checked now: the SDK would panic on a certificate it cannot read.
fn ca_bundle(path: &std::path::Path) -> Result<Vec<u8>, SettingError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let error = |reason: String| SettingError::CaBundle {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("not a PEM certificate file ({e})")))?;
    if certificates.is_empty() {
        return Err(error("holds no certificate".into()));
    }
    Ok(pem)
}

fn required(name: &'static str) -> Result<String, SettingError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(SettingError::Missing(name))
}

/// The AWS resources a function works on, as `template.yaml` names them in its environment.
/// Read at cold start, so a missing one fails the start and not a citizen's request.
#[derive(Debug, Clone)]
pub struct Resources {
    /// `VENTANILLA_TABLE`
    pub table: String,
    /// `VENTANILLA_BUCKET`
    pub bucket: String,
    /// `VENTANILLA_SES_CONFIGURATION_SET`, optional: bounce and complaint tracking.
    pub configuration_set: Option<String>,
    /// `VENTANILLA_S3_PATH_STYLE=true` for S3 stand-ins that cannot route by host name.
    pub s3_path_style: bool,
}

impl Resources {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Resources {
            table: required("VENTANILLA_TABLE")?,
            bucket: required("VENTANILLA_BUCKET")?,
            configuration_set: std::env::var("VENTANILLA_SES_CONFIGURATION_SET")
                .ok()
                .filter(|v| !v.is_empty()),
            s3_path_style: std::env::var("VENTANILLA_S3_PATH_STYLE").is_ok_and(|v| v == "true"),
        })
    }
}

/// An SDK client built the first time a call needs it, from the process's one configuration.
/// Building one costs 200-300 µs (docs/PERFORMANCE.md); built on first use, a cold start
/// pays for none before its first event, and a path that never calls a service (an opening
/// without screenshots stores nothing in S3) never builds its client. Clones share it.
#[derive(Clone)]
pub struct OnFirstUse<C> {
    client: Arc<OnceLock<C>>,
    build: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C> OnFirstUse<C> {
    pub fn new(build: impl Fn() -> C + Send + Sync + 'static) -> Self {
        OnFirstUse {
            client: Arc::default(),
            build: Arc::new(build),
        }
    }

    pub fn get(&self) -> &C {
        self.client.get_or_init(|| (self.build)())
    }
}

impl<C> std::fmt::Debug for OnFirstUse<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnFirstUse")
            .field("built", &self.client.get().is_some())
            .finish()
    }
}

/// The AWS adapters of a function, from one SDK configuration loaded at cold start. Each
/// function builds only the clients it uses, on first use (ticket-status sends no mail).
#[derive(Debug, Clone)]
pub struct AwsPorts {
    config: SdkConfig,
    resources: Resources,
}

impl AwsPorts {
    /// From the environment `template.yaml` gives every function (see [`Resources`]).
    pub async fn from_env() -> Result<Self, SettingError> {
        let resources = Resources::from_env()?;
        let config = load_config().await?;
        Ok(AwsPorts { config, resources })
    }

    pub fn store(&self) -> crate::dynamodb::DynamoStore {
        crate::dynamodb::DynamoStore::new(&self.config, &self.resources.table)
    }

    pub fn blobs(&self) -> crate::s3::S3Blobs {
        crate::s3::S3Blobs::new(
            &self.config,
            &self.resources.bucket,
            self.resources.s3_path_style,
        )
    }

    pub fn mailer(&self) -> crate::ses::SesMailer {
        crate::ses::SesMailer::new(&self.config, self.resources.configuration_set.clone())
    }

    /// One of the functions' secrets. On AWS it is an SSM Parameter Store SecureString named
    /// by the secret's `_PARAMETER` variable (template.yaml), read once per cold start: it
    /// never sits in the functions' configuration, and a redeploy cannot change it by
    /// accident (which would break every link already mailed, or reset every count). Without
    /// that variable (a developer's machine) it is the plain variable itself. Its length is
    /// checked by the caller.
    pub async fn secret(&self, secret: Secret) -> Result<Vec<u8>, SettingError> {
        let (parameter, plain) = secret.variables();
        let Some(name) = std::env::var(parameter).ok().filter(|v| !v.is_empty()) else {
            return Ok(std::env::var(plain).unwrap_or_default().into_bytes());
        };
        let error = |reason: String| SettingError::Secret {
            name: name.clone(),
            reason,
        };
        let answer = aws_sdk_ssm::Client::new(&self.config)
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| error(aws_sdk_ssm::error::DisplayErrorContext(e).to_string()))?;
        answer
            .parameter
            .and_then(|p| p.value)
            .map(String::into_bytes)
            .ok_or_else(|| error("the parameter has no value".into()))
    }

    /// The keyed hash of personal identifiers in store keys, from its own secret.
    pub async fn identifier_secret(&self) -> Result<IdentifierSecret, SettingError> {
        let bytes = self.secret(Secret::Identifiers).await?;
        IdentifierSecret::new(&bytes).ok_or(SettingError::ShortSecret(
            "VENTANILLA_IDENTIFIER_SECRET_PARAMETER or VENTANILLA_IDENTIFIER_SECRET",
        ))
    }
}

/// The functions' secrets, each in an SSM parameter of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// Signs access and download links (every function).
    Link,
    /// Keys the personal identifiers in throttle and idempotency keys (the functions that
    /// count per person: create-ticket, ticket-status, inbound-mail).
    Identifiers,
}

impl Secret {
    /// The variable naming its SSM parameter, and the one holding it plainly.
    fn variables(self) -> (&'static str, &'static str) {
        match self {
            Secret::Link => ("VENTANILLA_LINK_SECRET_PARAMETER", "VENTANILLA_LINK_SECRET"),
            Secret::Identifiers => (
                "VENTANILLA_IDENTIFIER_SECRET_PARAMETER",
                "VENTANILLA_IDENTIFIER_SECRET",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_compiled_in_roots_are_amazons_five() {
        let roots = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(roots.len(), 5);
    }

    #[test]
    fn an_unusable_ca_bundle_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = ca_bundle(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let error = ca_bundle(&empty).unwrap_err().to_string();
        assert!(error.contains("no certificate"), "{error}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(ca_bundle(&broken).is_err());

        let good = dir.path().join("good.pem");
        std::fs::write(&good, AMAZON_TRUST_SERVICES).unwrap();
        assert_eq!(ca_bundle(&good).unwrap(), AMAZON_TRUST_SERVICES);
    }
}
