//! The site a use case serves: its settings, the access links it signs, its clock and where
//! its ids come from.

use std::sync::Arc;

use ventanilla_domain::ports::{AgencyDirectory, Clock, IdSource, StoreError};

use crate::access::AccessLinks;
use crate::config::{Settings, SettingsError};

/// What every function knows about the site it serves.
#[derive(Clone)]
pub struct Site {
    pub settings: Settings,
    pub links: AccessLinks,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(
        "the link secret (VENTANILLA_LINK_SECRET_PARAMETER or VENTANILLA_LINK_SECRET) is missing or shorter than 32 bytes"
    )]
    Secret,
}

impl Site {
    /// The site as the environment describes it (`VENTANILLA_CONFIG` or the compiled-in
    /// default, `VENTANILLA_PUBLIC_URL`) with the link secret the function read
    /// (`AwsPorts::secret`). A missing or weak secret stops the cold start.
    pub fn from_env(
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        link_secret: &[u8],
    ) -> Result<Self, SiteError> {
        let settings = Settings::from_env()?;
        let links = AccessLinks::new(link_secret).map_err(|_| SiteError::Secret)?;
        Ok(Site {
            settings,
            links,
            clock,
            ids,
        })
    }

    /// The site as it stands for this request: the configured agencies with those admins
    /// saved at run time.
    pub async fn current(&self, store: &impl AgencyDirectory) -> Result<Site, StoreError> {
        let stored = store.agencies().await?;
        if stored.is_empty() {
            return Ok(self.clone());
        }
        let mut site = self.clone();
        site.settings = site.settings.with_agencies(stored);
        Ok(site)
    }
}
