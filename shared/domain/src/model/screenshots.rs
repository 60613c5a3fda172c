//! Screenshots attached to a new ticket: recognised by their bytes (not by the name or the
//! declared type), limited in number and total size.

use crate::{FieldError, FieldProblem};

/// At most this many files per ticket.
pub const MAX_FILES: usize = 3;
/// At most this many bytes in all: what fits in a Lambda request once base64-encoded.
pub const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024;

/// A file as it arrived.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A file that passed the checks, with the type its bytes say it has.
#[derive(Debug, Clone)]
pub struct Screenshot {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

const ACCEPTED: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "application/pdf"];

/// The file name a citizen's browser sent, reduced to its last path segment and to what is
/// safe in a header and on a page.
fn clean_file_name(raw: &str, index: usize, content_type: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() || name.starts_with('.') {
        let extension = content_type.rsplit('/').next().unwrap_or("bin");
        format!("captura-{}.{extension}", index + 1)
    } else {
        name
    }
}

/// Checks the files of one request; the error names the `screenshots` field.
pub fn check(uploads: Vec<Upload>) -> Result<Vec<Screenshot>, FieldError> {
    let field = |problem| FieldError::new("screenshots", problem);
    if uploads.len() > MAX_FILES {
        return Err(field(FieldProblem::TooManyFiles { max: MAX_FILES }));
    }
    let total: u64 = uploads.iter().map(|u| u.bytes.len() as u64).sum();
    if total > MAX_TOTAL_BYTES {
        return Err(field(FieldProblem::FilesTooLarge {
            max_bytes: MAX_TOTAL_BYTES,
        }));
    }
    uploads
        .into_iter()
        .enumerate()
        .map(|(index, upload)| {
            let content_type = infer::get(&upload.bytes)
                .map(|kind| kind.mime_type())
                .and_then(|mime| ACCEPTED.iter().find(|a| **a == mime).copied())
                .ok_or_else(|| field(FieldProblem::UnsupportedFileType))?;
            Ok(Screenshot {
                file_name: clean_file_name(&upload.file_name, index, content_type),
                content_type,
                bytes: upload.bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    fn upload(name: &str, bytes: &[u8]) -> Upload {
        Upload {
            file_name: name.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn files_are_recognised_by_their_bytes() {
        let ok = check(vec![upload("captura.txt", PNG)]).unwrap();
        assert_eq!(ok[0].content_type, "image/png");
        assert_eq!(ok[0].file_name, "captura.txt");
        let html = check(vec![upload(
            "captura.png",
            b"<html><script>alert(1)</script>",
        )]);
        assert_eq!(html.unwrap_err().problem, FieldProblem::UnsupportedFileType);
        let pdf = check(vec![upload("a.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")]).unwrap();
        assert_eq!(pdf[0].content_type, "application/pdf");
    }

    #[test]
    fn count_and_size_are_limited() {
        let four = vec![upload("a", PNG); 4];
        assert_eq!(
            check(four).unwrap_err().problem,
            FieldProblem::TooManyFiles { max: 3 }
        );
        let mut big = PNG.to_vec();
        big.resize(usize::try_from(MAX_TOTAL_BYTES).unwrap() / 2 + 1, 0);
        let two_halves = vec![upload("a", &big), upload("b", &big)];
        assert!(matches!(
            check(two_halves).unwrap_err().problem,
            FieldProblem::FilesTooLarge { .. }
        ));
    }

    #[test]
    fn file_names_lose_their_paths_and_control_characters() {
        let ok = check(vec![
            upload("C:\\Users\\ana\\pantalla\u{7}.png", PNG),
            upload("../../.htaccess", PNG),
        ])
        .unwrap();
        assert_eq!(ok[0].file_name, "pantalla.png");
        assert_eq!(ok[1].file_name, "captura-2.png");
    }
}
