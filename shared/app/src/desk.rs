//! What one function's use cases run on.

use ventanilla_domain::ports::IdentifierSecret;

use crate::Site;

/// The site and the ports one function's use cases use; its IAM policy grants the same.
/// A port the function has no grant for is `()`: the status lookup sends no mail
/// (`M = ()`), the console keys no personal identifiers (`K = ()`).
pub struct Desk<S, B, M, K = IdentifierSecret> {
    pub site: Site,
    pub store: S,
    pub blobs: B,
    pub mailer: M,
    /// Keys the personal identifiers in store keys (a source's address, the answers an
    /// address got, idempotency keys).
    pub identifiers: K,
}

impl<S, B, M, K> std::fmt::Debug for Desk<S, B, M, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}
