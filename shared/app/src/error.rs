//! What a use case answers when it does not do what was asked. The web crate turns it into
//! problem+json in one place (`Problem::from_app`). The mail use case keeps its own error
//! (`receive_mail::DeliveryError`): every failure it reports is worth a retry of the event.

use std::time::Duration;

use crate::erasure::ErasureError;
use ventanilla_domain::ports::{BlobError, StoreError};
use ventanilla_domain::{FieldError, FieldErrors, Ticket, TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request names fields that are not valid; each says why.
    #[error("invalid fields: {0:?}")]
    Invalid(FieldErrors),
    /// The status machine does not allow the change asked for.
    #[error(transparent)]
    Transition(TransitionError),
    /// No such thing, or one the caller may not know exists.
    #[error("not found")]
    NotFound,
    /// No credentials, or ones that open nothing.
    #[error("unauthorized")]
    Unauthorized,
    /// The caller is known but their role or access does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// Not allowed, for a reason the caller is told.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// Someone changed the ticket since the version the caller saw: it as it is now.
    #[error("the ticket changed since it was read")]
    Conflict(Box<Ticket>),
    /// The caller's allowance for this is used up; it may try again after a while.
    #[error("too many requests; retry after {retry_after:?}")]
    TooMany { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blobs(#[from] BlobError),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
    /// The deployment's configuration cannot do this (a bug or a bad setting, not the
    /// request's fault).
    #[error("misconfigured: {0}")]
    Misconfigured(&'static str),
}

impl AppError {
    pub fn invalid(error: FieldError) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(error);
        AppError::Invalid(errors)
    }

    /// Whether the same request may succeed later without any change: a failure of a port,
    /// not of the request.
    pub fn is_transient(&self) -> bool {
        match self {
            AppError::Store(StoreError::Unavailable(_) | StoreError::VersionConflict)
            | AppError::Blobs(BlobError::Unavailable(_))
            | AppError::Erasure(_) => true,
            AppError::Store(_)
            | AppError::Blobs(_)
            | AppError::Invalid(_)
            | AppError::Transition(_)
            | AppError::NotFound
            | AppError::Unauthorized
            | AppError::Forbidden
            | AppError::NotAllowed(_)
            | AppError::Conflict(_)
            | AppError::TooMany { .. }
            | AppError::Misconfigured(_) => false,
        }
    }
}
