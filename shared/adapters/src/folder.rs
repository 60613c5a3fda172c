//! Blobs in a folder: the embedded default. Download links point at the local server's
//! `/blobs/` route and carry an HMAC signature with an expiry, the folder's stand-in for
//! S3's presigned URLs; [`FolderBlobs::verify_download`] checks them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::system::SystemClock;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use ventanilla_domain::BlobKey;
use ventanilla_domain::Timestamp;
use ventanilla_domain::ports::{Blob, BlobError, BlobStore, Clock};

/// Where the content types live, beside the blobs; keys never start with a dot.
const META_DIR: &str = ".meta";

#[derive(Debug, Clone)]
pub struct FolderBlobs {
    root: PathBuf,
    link_base: String,
    link_secret: Vec<u8>,
}

/// The parts of a download link the local server reads back from its query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadLink {
    pub name: String,
    pub expires: i64,
    pub signature: String,
}

fn unavailable(error: impl Into<ventanilla_domain::ports::BoxError>) -> BlobError {
    BlobError::Unavailable(error.into())
}

impl FolderBlobs {
    /// `link_base` is the server's public URL (e.g. `http://127.0.0.1:3000`); `link_secret`
    /// signs download links and must stay private to the server.
    pub fn new(
        root: impl Into<PathBuf>,
        link_base: impl Into<String>,
        link_secret: Vec<u8>,
    ) -> Self {
        FolderBlobs {
            root: root.into(),
            link_base: link_base.into().trim_end_matches('/').to_owned(),
            link_secret,
        }
    }

    fn data_path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn type_path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(META_DIR).join(key.as_str())
    }

    fn signature(&self, key: &BlobKey, name: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.link_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{key}\n{name}\n{expires}").as_bytes());
        mac
    }

    /// Whether a link was signed by this store for this blob and name, and is still valid.
    pub fn verify_download(&self, key: &BlobKey, link: &DownloadLink, now: Timestamp) -> bool {
        if link.expires < now.unix_seconds() {
            return false;
        }
        let Ok(signature) = URL_SAFE_NO_PAD.decode(&link.signature) else {
            return false;
        };
        self.signature(key, &link.name, link.expires)
            .verify_slice(&signature)
            .is_ok()
    }

    fn download_link(&self, key: &BlobKey, name: &str, expires: i64) -> String {
        let signature =
            URL_SAFE_NO_PAD.encode(self.signature(key, name, expires).finalize().into_bytes());
        let name = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        format!(
            "{}/blobs/{key}?name={name}&expires={expires}&sig={signature}",
            self.link_base
        )
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl BlobStore for FolderBlobs {
    async fn put(&self, key: &BlobKey, blob: Blob) -> Result<(), BlobError> {
        let (data, types) = (self.data_path(key), self.type_path(key));
        tokio::task::spawn_blocking(move || {
            write_atomically(&types, blob.content_type.as_bytes())?;
            write_atomically(&data, &blob.bytes)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError> {
        let bytes = match tokio::fs::read(self.data_path(key)).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(unavailable(e)),
        };
        let content_type = tokio::fs::read_to_string(self.type_path(key))
            .await
            .unwrap_or_else(|_| "application/octet-stream".to_owned());
        Ok(Blob {
            bytes,
            content_type,
        })
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        for path in [self.data_path(key), self.type_path(key)] {
            match tokio::fs::remove_file(path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }

    async fn download_url(
        &self,
        key: &BlobKey,
        file_name: &str,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        let valid_for = i64::try_from(valid_for.as_secs()).map_err(unavailable)?;
        let expires = SystemClock.now().unix_seconds() + valid_for;
        Ok(self.download_link(key, file_name, expires))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_parts(url: &str) -> DownloadLink {
        let query = url.split_once('?').unwrap().1;
        let get = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_owned()
        };
        DownloadLink {
            name: percent_encoding::percent_decode_str(&get("name"))
                .decode_utf8()
                .unwrap()
                .into_owned(),
            expires: get("expires").parse().unwrap(),
            signature: get("sig"),
        }
    }

    #[tokio::test]
    async fn links_verify_until_they_expire_and_cannot_be_forged() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FolderBlobs::new(dir.path(), "http://127.0.0.1:3000/", b"secret".to_vec());
        let key = BlobKey::parse("attachments/MDT-REQ-2025-00001/a/captura.png").unwrap();
        let url = blobs
            .download_url(&key, "captura de pantalla.png", Duration::from_secs(300))
            .await
            .unwrap();
        assert!(url.starts_with(
            "http://127.0.0.1:3000/blobs/attachments/MDT-REQ-2025-00001/a/captura.png?"
        ));
        let link = link_parts(&url);
        assert_eq!(link.name, "captura de pantalla.png");
        let now = SystemClock.now();
        assert!(blobs.verify_download(&key, &link, now));
        // Expired.
        assert!(!blobs.verify_download(&key, &link, now.plus(chrono::Duration::seconds(301))));
        // Another blob, another name, a later expiry, another secret: all refused.
        let other = BlobKey::parse("attachments/MDT-REQ-2025-00002/a/captura.png").unwrap();
        assert!(!blobs.verify_download(&other, &link, now));
        assert!(!blobs.verify_download(
            &key,
            &DownloadLink {
                name: "x.png".into(),
                ..link.clone()
            },
            now
        ));
        assert!(!blobs.verify_download(
            &key,
            &DownloadLink {
                expires: link.expires + 3600,
                ..link.clone()
            },
            now
        ));
        let stranger = FolderBlobs::new(dir.path(), "http://127.0.0.1:3000", b"other".to_vec());
        assert!(!stranger.verify_download(&key, &link, now));
        assert!(!blobs.verify_download(
            &key,
            &DownloadLink {
                signature: "!!".into(),
                ..link
            },
            now
        ));
    }
}
