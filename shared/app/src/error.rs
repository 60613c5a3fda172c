//! What a use case answers when it does not do what was asked. The web crate turns it into
//! problem+json in one place; the inbound-mail function into a retryable or final Lambda
//! error.

use std::time::Duration;

use ventanilla_domain::ports::{BlobError, MailError, StoreError};
use ventanilla_domain::{FieldError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request names fields that are not valid; each says why.
    #[error("invalid fields: {0:?}")]
    Invalid(FieldErrors),
    /// No such thing, or one the caller may not know exists.
    #[error("not found")]
    NotFound,
    /// The caller is known but may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The caller's allowance for this is used up; it may try again after a while.
    #[error("too many requests; retry after {retry_after:?}")]
    TooMany { retry_after: Duration },
    /// Something the request depends on failed; trying again later may work.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blobs(#[from] BlobError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl AppError {
    pub fn invalid(error: FieldError) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(error);
        AppError::Invalid(errors)
    }

    /// Whether the same request may succeed later without any change: a failure of a port,
    /// not of the request. Mail the provider rejected for good is not worth a retry.
    pub fn is_transient(&self) -> bool {
        match self {
            AppError::Store(StoreError::Unavailable(_) | StoreError::VersionConflict)
            | AppError::Blobs(BlobError::Unavailable(_))
            | AppError::Mail(MailError::Unavailable(_)) => true,
            AppError::Store(_)
            | AppError::Blobs(_)
            | AppError::Mail(_)
            | AppError::Invalid(_)
            | AppError::NotFound
            | AppError::Forbidden
            | AppError::TooMany { .. } => false,
        }
    }
}
