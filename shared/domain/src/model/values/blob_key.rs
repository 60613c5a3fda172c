use crate::{FieldError, FieldProblem};

/// Where a blob lives: `/`-separated segments of letters, digits and `._=-`, no `..`, so the
/// same key is safe as an S3 key and as a path below the blob folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("blob", FieldProblem::InvalidFormat);
        if raw.is_empty() || raw.len() > 512 {
            return Err(bad());
        }
        // No segment starts with a dot: no `..`, no hidden files, and the folder store can
        // keep its own bookkeeping under `.meta/` without meeting a key.
        let segment_ok = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'=' | b'-'))
        };
        if raw.split('/').all(segment_ok) {
            Ok(BlobKey(raw.to_owned()))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::text_serde!(BlobKey, "blob");
