//! E-mail addresses, checked by the `email_address` crate (RFC 5321/5322 syntax), restricted
//! to what can actually receive mail: a domain with a dot, no display name, no comments.

use crate::{FieldError, FieldProblem};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const FIELD: &str = "email";
const MAX_LEN: usize = 254;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(FIELD, FieldProblem::Required));
        }
        if text.len() > MAX_LEN {
            return Err(FieldError::new(
                FIELD,
                FieldProblem::TooLong { max: MAX_LEN },
            ));
        }
        let bad = || FieldError::new(FIELD, FieldProblem::InvalidFormat);
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        let parsed =
            email_address::EmailAddress::parse_with_options(text, options).map_err(|_| bad())?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        // Quoted local parts are legal but no citizen has one, and they carry characters
        // (quotes, spaces, backslashes) that header and log handling should never meet.
        if local.starts_with('"') || !domain.contains('.') || domain.ends_with('.') {
            return Err(bad());
        }
        if domain.split('.').any(|label| label.is_empty()) {
            return Err(bad());
        }
        // The domain is case-insensitive everywhere; the local part we keep as written.
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to match a requester: providers treat local parts case-insensitively
    /// in practice, and a citizen who types `Juan@` once and `juan@` later is one person.
    pub fn match_key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// True when both name the same mailbox, as `match_key` defines it.
    pub fn same_mailbox(&self, other: &Email) -> bool {
        self.match_key() == other.match_key()
    }
}
super::text_serde!(Email, "email");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_local_part_and_lowercases_the_domain() {
        let e = Email::parse("  Juan.Perez@Turismo.GOB.EC ").unwrap();
        assert_eq!(e.as_str(), "Juan.Perez@turismo.gob.ec");
        assert_eq!(e.match_key(), "juan.perez@turismo.gob.ec");
        assert!(e.same_mailbox(&Email::parse("juan.perez@turismo.gob.ec").unwrap()));
    }

    #[test]
    fn refuses_what_cannot_receive_mail() {
        for bad in [
            "juan",
            "juan@",
            "@turismo.gob.ec",
            "juan@localhost",
            "Juan <juan@turismo.gob.ec>",
            "juan@[127.0.0.1]",
            "\"juan perez\"@turismo.gob.ec",
            "juan@turismo..gob.ec",
            "juan@turismo.gob.ec.",
            "juan perez@turismo.gob.ec",
            "juan@turismo.gob.ec\r\nBcc: x@y.com",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad:?}");
        }
        assert_eq!(
            Email::parse("").unwrap_err().problem,
            FieldProblem::Required
        );
    }
}
