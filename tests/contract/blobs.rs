//! The `BlobStore` contract, run on a folder and on S3 over the wire.

use std::time::Duration;

use ventanilla_domain::BlobKey;
use ventanilla_domain::ports::{Blob, BlobError, BlobStore};
use ventanilla_tests::unique;

fn sample() -> Blob {
    // Every byte value, so no encoding step can hide a corruption.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1_000_003).collect();
    Blob {
        bytes,
        content_type: "image/png".into(),
    }
}

pub async fn blobs_round_trip(blobs: impl BlobStore) {
    let key = BlobKey::parse(&format!("attachments/{}/captura.png", unique("t"))).unwrap();
    blobs.put(&key, sample()).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), sample());
    // Writing again replaces.
    let smaller = Blob {
        bytes: b"%PDF-1.7".to_vec(),
        content_type: "application/pdf".into(),
    };
    blobs.put(&key, smaller.clone()).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), smaller);
}

pub async fn a_missing_blob_is_not_found(blobs: impl BlobStore) {
    let key = BlobKey::parse(&format!("attachments/{}/nada.png", unique("t"))).unwrap();
    assert!(matches!(blobs.get(&key).await, Err(BlobError::NotFound)));
}

pub async fn a_download_link_names_the_blob_and_expires(blobs: impl BlobStore) {
    let key = BlobKey::parse(&format!("attachments/{}/captura.png", unique("t"))).unwrap();
    blobs.put(&key, sample()).await.unwrap();
    let url = blobs
        .download_url(&key, "captura de pantalla.png", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.contains(key.as_str()), "{url}");
    assert!(url.contains("300") || url.contains("expires="), "{url}");
}

pub async fn a_deleted_blob_is_gone_and_deleting_again_is_fine(blobs: impl BlobStore) {
    let key = BlobKey::parse(&format!("attachments/{}/captura.png", unique("t"))).unwrap();
    blobs.put(&key, sample()).await.unwrap();
    blobs.delete(&key).await.unwrap();
    assert!(matches!(blobs.get(&key).await, Err(BlobError::NotFound)));
    blobs.delete(&key).await.unwrap();
}

macro_rules! blob_contract {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            #[tokio::test]
            async fn blobs_round_trip() {
                super::blobs_round_trip($make).await;
            }
            #[tokio::test]
            async fn a_missing_blob_is_not_found() {
                super::a_missing_blob_is_not_found($make).await;
            }
            #[tokio::test]
            async fn a_download_link_names_the_blob_and_expires() {
                super::a_download_link_names_the_blob_and_expires($make).await;
            }
            #[tokio::test]
            async fn a_deleted_blob_is_gone_and_deleting_again_is_fine() {
                super::a_deleted_blob_is_gone_and_deleting_again_is_fine($make).await;
            }
        }
    };
}

blob_contract!(folder, {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("blobs-"));
    ventanilla_adapters::folder::FolderBlobs::new(
        dir,
        "http://127.0.0.1:3000",
        b"test secret".to_vec(),
    )
});

blob_contract!(s3, s3_blobs().await.1);

async fn s3_blobs() -> (String, ventanilla_adapters::s3::S3Blobs) {
    let config = ventanilla_tests::aws_config().await;
    let blobs = ventanilla_tests::stand_in_bucket(&config).await;
    (blobs.bucket().to_owned(), blobs)
}

/// S3 only: the presigned link really downloads the blob, under its name. (moto does not
/// check signatures or expiry, so this shows the link's shape, not its enforcement.)
#[tokio::test]
async fn s3_presigned_link_downloads_the_blob() {
    let (bucket, blobs) = s3_blobs().await;
    let key = BlobKey::parse("mail/raw/abc").unwrap();
    blobs.put(&key, sample()).await.unwrap();
    let url = blobs
        .download_url(&key, "correo original.eml", Duration::from_secs(600))
        .await
        .unwrap();
    assert!(url.contains(&format!("/{bucket}/mail/raw/abc?")), "{url}");
    assert!(url.contains("X-Amz-Expires=600"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("filename*=UTF-8''correo%20original%2Eeml"),
        "{disposition}"
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), sample().bytes);
}
