//! Adapters: Ventanilla's ports implemented for AWS and for the embedded default.
//!
//! | port    | AWS                      | embedded                   |
//! |---------|--------------------------|----------------------------|
//! | tickets | [`dynamodb::DynamoStore`]| [`sqlite::SqliteStore`]    |
//! | blobs   | [`s3::S3Blobs`]          | [`folder::FolderBlobs`]    |
//! | mail    | [`ses::SesMailer`]       | [`outbox::OutboxMailer`]   |

pub mod aws;
pub mod dynamodb;
pub mod folder;
pub mod outbox;
pub mod s3;
pub mod ses;
pub mod sqlite;
pub mod system;

mod agency_cache;

pub use agency_cache::AGENCIES_FRESH_FOR;
