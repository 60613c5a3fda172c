//! Blobs in S3: screenshots, attachments, raw mail. Downloads go through presigned GET URLs,
//! so the functions never stream files themselves.

use std::time::Duration;

use crate::aws::OnFirstUse;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use ventanilla_domain::BlobKey;
use ventanilla_domain::ports::{Blob, BlobError, BlobStore};

#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: OnFirstUse<Client>,
    bucket: String,
}

/// What S3 said, whole (the SDK's own Display is only "service error").
fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> BlobError {
    BlobError::Unavailable(
        aws_sdk_s3::error::DisplayErrorContext(error)
            .to_string()
            .into(),
    )
}

impl S3Blobs {
    /// `path_style` addresses the bucket in the path (`http://host/bucket/key`), which local
    /// stand-ins need; AWS itself takes virtual-hosted style.
    pub fn new(config: &SdkConfig, bucket: impl Into<String>, path_style: bool) -> Self {
        let config = config.clone();
        S3Blobs {
            client: OnFirstUse::new(move || {
                Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(path_style)
                        .build(),
                )
            }),
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &Client {
        self.client.get()
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// `Content-Disposition` for a download, with the name in RFC 6266 / 5987 form so that
/// accents and spaces survive and quotes cannot break out of the header.
pub fn attachment_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

impl BlobStore for S3Blobs {
    async fn put(&self, key: &BlobKey, blob: Blob) -> Result<(), BlobError> {
        self.client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(blob.content_type)
            .body(ByteStream::from(blob.bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError> {
        let output = match self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if matches!(error.as_service_error(), Some(GetObjectError::NoSuchKey(_))) =>
            {
                return Err(BlobError::NotFound);
            }
            Err(error) => return Err(unavailable(error)),
        };
        let content_type = output
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = output
            .body
            .collect()
            .await
            .map_err(unavailable)?
            .into_bytes()
            .to_vec();
        Ok(Blob {
            bytes,
            content_type,
        })
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        // S3 answers a delete of a missing key with success.
        self.client
            .get()
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn download_url(
        &self,
        key: &BlobKey,
        file_name: &str,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        let presigning = PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .response_content_disposition(attachment_disposition(file_name))
            .presigned(presigning)
            .await
            .map_err(unavailable)?;
        Ok(request.uri().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_keep_accents_and_neutralise_quotes() {
        let d = attachment_disposition("captura \"1\" año.png");
        assert_eq!(
            d,
            "attachment; filename=\"captura__1__a_o.png\"; filename*=UTF-8''captura%20%221%22%20a%C3%B1o%2Epng"
        );
    }
}
