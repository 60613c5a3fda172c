//! Signed access links: the acknowledgement mail carries `/estado/<token>`, which opens the
//! ticket's status page without typing anything, until it expires. The token names the
//! ticket and the expiry and is signed together with the requester's e-mail, so it is bound
//! to the ticket's requester without carrying the address.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use ventanilla_domain::{Email, TicketNumber, Timestamp};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the signature kept in a token: 128 bits.
const SIGNATURE_BYTES: usize = 16;

#[derive(Clone)]
pub struct AccessLinks {
    secret: Vec<u8>,
}

impl std::fmt::Debug for AccessLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLinks(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the link secret must have at least 32 bytes")]
pub struct WeakSecret;

/// A token that parsed and has not expired; it still has to be checked against the ticket's
/// requester (`AccessLinks::verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaim {
    pub number: TicketNumber,
    expires: i64,
    signature: Vec<u8>,
}

impl AccessLinks {
    pub fn new(secret: &[u8]) -> Result<Self, WeakSecret> {
        if secret.len() < 32 {
            return Err(WeakSecret);
        }
        Ok(AccessLinks {
            secret: secret.to_vec(),
        })
    }

    fn mac(&self, number: &TicketNumber, email: &Email, expires: i64) -> HmacSha256 {
        // A key of any length is accepted by HMAC; `new` checked the length already.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(number.as_str().as_bytes());
        mac.update(b"\n");
        mac.update(email.match_key().as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    pub fn token(&self, number: &TicketNumber, email: &Email, expires: Timestamp) -> String {
        let expires = expires.unix_seconds();
        let signature = self.mac(number, email, expires).finalize().into_bytes();
        format!(
            "{}.{expires}.{}",
            number.as_str(),
            URL_SAFE_NO_PAD.encode(&signature[..SIGNATURE_BYTES])
        )
    }

    /// Reads a token; `None` when it is malformed or expired.
    pub fn claim(&self, token: &str, now: Timestamp) -> Option<AccessClaim> {
        let mut parts = token.splitn(3, '.');
        let number = TicketNumber::parse(parts.next()?).ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let signature = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        if signature.len() != SIGNATURE_BYTES || expires <= now.unix_seconds() {
            return None;
        }
        Some(AccessClaim {
            number,
            expires,
            signature,
        })
    }

    /// Whether the claim was signed for this requester (constant time).
    pub fn verify(&self, claim: &AccessClaim, email: &Email) -> bool {
        self.mac(&claim.number, email, claim.expires)
            .verify_truncated_left(&claim.signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AccessLinks {
        AccessLinks::new(&[7; 32]).unwrap()
    }

    #[test]
    fn a_token_opens_its_ticket_for_its_requester_until_it_expires() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let email = Email::parse("Maria@Example.com").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let token = links().token(&number, &email, now.plus(chrono::Duration::days(90)));
        let claim = links().claim(&token, now).unwrap();
        assert_eq!(claim.number, number);
        assert!(links().verify(&claim, &Email::parse("maria@example.com").unwrap()));
        assert!(!links().verify(&claim, &Email::parse("otra@example.com").unwrap()));
        assert!(
            links()
                .claim(&token, now.plus(chrono::Duration::days(91)))
                .is_none()
        );
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let email = Email::parse("maria@example.com").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let token = links().token(&number, &email, now.plus(chrono::Duration::days(1)));
        let other = AccessLinks::new(&[8; 32]).unwrap();
        assert!(!other.verify(&other.claim(&token, now).unwrap(), &email));
        let longer = token.replacen(".", "0.", 1);
        let moved = token.replace("00001", "00002");
        for bad in [
            longer.as_str(),
            moved.as_str(),
            "",
            "x.y.z",
            "MDT-QUE-2025-00001.1",
        ] {
            let verified = links()
                .claim(bad, now)
                .is_some_and(|c| links().verify(&c, &email));
            assert!(!verified, "{bad}");
        }
        assert!(AccessLinks::new(&[1; 31]).is_err());
    }
}
