//! Signed access links: the acknowledgement mail carries `/estado/<token>`, which opens the
//! ticket's status page without typing anything, until it expires. The token names the
//! ticket and the expiry and is signed together with the requester's e-mail (or, for a ticket
//! without one, their document number), so it is bound to the ticket's requester without
//! carrying either. The status page's answer form carries an answer token: the same shape,
//! signed for answering only (it opens no page), and short-lived.
//!
//! "Mis trámites" sign-in links (`/mis-tramites/<token>`) carry the address itself (its
//! tickets are found by it), signed apart from access links so that neither opens the other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use ventanilla_domain::{Email, IdDocument, Requester, TicketNumber, Timestamp};

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

impl AccessClaim {
    /// The token in its one spelling (the number as ticket numbers are written).
    pub fn token(&self) -> String {
        format!(
            "{}.{}.{}",
            self.number.as_str(),
            self.expires,
            URL_SAFE_NO_PAD.encode(&self.signature)
        )
    }

    /// When the token stops working.
    pub fn expires(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.expires.saturating_mul(1000))
            .unwrap_or_else(|| unreachable!("a parsed expiry is at most twelve digits of seconds"))
    }
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

    fn keyed(&self) -> HmacSha256 {
        // A key of any length is accepted by HMAC; `new` checked the length already.
        HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    fn mac(
        &self,
        purpose: Purpose,
        number: &TicketNumber,
        follower: &str,
        expires: i64,
    ) -> HmacSha256 {
        let mut mac = self.keyed();
        // Access links sign as they always have, so that the links already mailed still
        // open; an answer or rating token signs its purpose first (a number never starts
        // with it).
        match purpose {
            Purpose::Access => {}
            Purpose::Answer => mac.update(b"answer\n"),
            Purpose::Rating => mac.update(b"rating\n"),
        }
        mac.update(number.as_str().as_bytes());
        mac.update(b"\n");
        mac.update(follower.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    pub fn token(&self, number: &TicketNumber, email: &Email, expires: Timestamp) -> String {
        self.follower_token(number, &email.match_key(), expires)
    }

    /// An access link's token for the requester `follows` names ([`follower_key`]).
    pub fn follower_token(
        &self,
        number: &TicketNumber,
        follows: &str,
        expires: Timestamp,
    ) -> String {
        self.signed(Purpose::Access, number, follows, expires)
    }

    /// A token that answers ticket `number` for the requester `follows` names, and opens
    /// nothing.
    pub fn answer_token(&self, number: &TicketNumber, follows: &str, expires: Timestamp) -> String {
        self.signed(Purpose::Answer, number, follows, expires)
    }

    /// A token that rates ticket `number` for the requester `follows` names, and opens
    /// nothing.
    pub fn rating_token(&self, number: &TicketNumber, follows: &str, expires: Timestamp) -> String {
        self.signed(Purpose::Rating, number, follows, expires)
    }

    fn signed(
        &self,
        purpose: Purpose,
        number: &TicketNumber,
        follows: &str,
        expires: Timestamp,
    ) -> String {
        let expires = expires.unix_seconds();
        let signature = self
            .mac(purpose, number, follows, expires)
            .finalize()
            .into_bytes();
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
        let expires = seconds(parts.next()?)?;
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

    /// Whether the claim is an access link signed for this requester (constant time).
    pub fn verify(&self, claim: &AccessClaim, requester: &Requester) -> bool {
        self.verify_for(Purpose::Access, claim, requester)
    }

    /// Whether the claim is an answer token signed for this requester (constant time).
    pub fn verify_answer(&self, claim: &AccessClaim, requester: &Requester) -> bool {
        self.verify_for(Purpose::Answer, claim, requester)
    }

    /// Whether the claim is a rating token signed for this requester (constant time).
    pub fn verify_rating(&self, claim: &AccessClaim, requester: &Requester) -> bool {
        self.verify_for(Purpose::Rating, claim, requester)
    }

    fn verify_for(&self, purpose: Purpose, claim: &AccessClaim, requester: &Requester) -> bool {
        follower_key(requester).is_some_and(|follows| {
            self.mac(purpose, &claim.number, &follows, claim.expires)
                .verify_truncated_left(&claim.signature)
                .is_ok()
        })
    }

    fn sign_in_mac(&self, email: &str, expires: i64) -> HmacSha256 {
        let mut mac = self.keyed();
        // Its own domain: an access token's fields can never sign a sign-in.
        mac.update(b"mis-tramites\n");
        mac.update(email.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The "Mis trámites" link's token for `email`: the address (base64url), the expiry and
    /// the signature.
    pub fn sign_in_token(&self, email: &Email, expires: Timestamp) -> String {
        let expires = expires.unix_seconds();
        let address = email.match_key();
        let signature = self.sign_in_mac(&address, expires).finalize().into_bytes();
        format!(
            "{}.{expires}.{}",
            URL_SAFE_NO_PAD.encode(address.as_bytes()),
            URL_SAFE_NO_PAD.encode(&signature[..SIGNATURE_BYTES])
        )
    }

    /// The address a sign-in token was made for, while it is valid; `None` when it is
    /// malformed, forged or expired.
    pub fn sign_in(&self, token: &str, now: Timestamp) -> Option<SignIn> {
        let mut parts = token.splitn(3, '.');
        let address = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
        let expires = seconds(parts.next()?)?;
        let signature_text = parts.next()?;
        let signature = URL_SAFE_NO_PAD.decode(signature_text).ok()?;
        if signature.len() != SIGNATURE_BYTES || expires <= now.unix_seconds() {
            return None;
        }
        self.sign_in_mac(&address, expires)
            .verify_truncated_left(&signature)
            .ok()?;
        Some(SignIn {
            email: Email::parse(&address).ok()?,
            signature: signature_text.to_owned(),
            expires: Timestamp::from_unix_millis(expires.checked_mul(1000)?)?,
        })
    }
}

/// What a token is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Access,
    Answer,
    Rating,
}

/// A token's expiry: digits only, so that one signature has one spelling.
fn seconds(text: &str) -> Option<i64> {
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    if text.is_empty() || text.len() > 12 || !digits || text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// A valid sign-in token: the address it lists, its signature (what marks it used) and when
/// it expires.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub email: Email,
    pub signature: String,
    pub expires: Timestamp,
}

/// What an access token is bound to: the requester's e-mail (as matched), or for a requester
/// without one their document's number; `None` for neither, whose ticket no link opens.
pub fn follower_key(requester: &Requester) -> Option<String> {
    match (&requester.email, &requester.id_document) {
        (Some(email), _) => Some(email.match_key()),
        // A newline cannot be in an address: the two kinds never meet.
        (None, Some(document)) => Some(format!(
            "id\n{}",
            IdDocument::typed_number(document.number())
        )),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AccessLinks {
        AccessLinks::new(&[7; 32]).unwrap()
    }

    fn requester(email: &str) -> Requester {
        Requester {
            name: ventanilla_domain::PersonName::parse("María").unwrap(),
            email: Email::parse(email).ok(),
            id_document: None,
            phone: None,
            nationality: None,
            gender: None,
            user_type: None,
        }
    }

    #[test]
    fn a_token_opens_its_ticket_for_its_requester_until_it_expires() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let email = Email::parse("Maria@Example.com").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let token = links().token(&number, &email, now.plus(chrono::Duration::days(90)));
        let claim = links().claim(&token, now).unwrap();
        assert_eq!(claim.number, number);
        assert!(links().verify(&claim, &requester("maria@example.com")));
        assert!(!links().verify(&claim, &requester("otra@example.com")));
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
        let maria = requester("maria@example.com");
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let token = links().token(&number, &email, now.plus(chrono::Duration::days(1)));
        let other = AccessLinks::new(&[8; 32]).unwrap();
        assert!(!other.verify(&other.claim(&token, now).unwrap(), &maria));
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
                .is_some_and(|c| links().verify(&c, &maria));
            assert!(!verified, "{bad}");
        }
        assert!(AccessLinks::new(&[1; 31]).is_err());
        // A sign-in token opens no ticket, and an access token signs no one in.
        let sign_in = links().sign_in_token(&email, now.plus(chrono::Duration::minutes(30)));
        assert!(links().sign_in(&token, now).is_none());
        assert!(
            links()
                .claim(&sign_in, now)
                .is_none_or(|c| !links().verify(&c, &maria))
        );
    }

    #[test]
    fn a_sign_in_token_names_its_address_until_it_expires_and_cannot_be_altered() {
        let email = Email::parse("Maria@Example.com").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let token = links().sign_in_token(&email, now.plus(chrono::Duration::minutes(30)));
        let signed = links().sign_in(&token, now).unwrap();
        assert!(signed.email.same_mailbox(&email));
        assert_eq!(signed.expires, now.plus(chrono::Duration::minutes(30)));
        assert!(
            links()
                .sign_in(&token, now.plus(chrono::Duration::minutes(31)))
                .is_none()
        );
        let other = links().sign_in_token(
            &Email::parse("otra@example.com").unwrap(),
            now.plus(chrono::Duration::minutes(30)),
        );
        // Another address under this signature, or a later expiry, is refused.
        let swapped = format!(
            "{}.{}",
            other.split('.').next().unwrap(),
            token.split_once('.').unwrap().1
        );
        let later = token.replacen(".", ".9", 1);
        let plus = token.replacen(".", ".+", 1);
        for bad in [swapped.as_str(), later.as_str(), plus.as_str(), "", "a.b.c"] {
            assert!(links().sign_in(bad, now).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_ticket_without_an_address_is_followed_by_its_document_number() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let mut caller = requester("x@example.com");
        caller.email = None;
        caller.id_document = Some(IdDocument::Pasaporte(
            ventanilla_domain::Passport::parse("ab123456").unwrap(),
        ));
        let follows = follower_key(&caller).unwrap();
        let token = links().follower_token(&number, &follows, now.plus(chrono::Duration::days(1)));
        let claim = links().claim(&token, now).unwrap();
        assert!(links().verify(&claim, &caller));
        assert!(!links().verify(&claim, &requester("x@example.com")));
        caller.id_document = None;
        assert!(!links().verify(&claim, &caller));
    }

    #[test]
    fn an_answer_token_answers_and_opens_nothing_and_an_access_link_answers_nothing() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let maria = requester("maria@example.com");
        let follows = follower_key(&maria).unwrap();
        let later = now.plus(chrono::Duration::hours(2));
        let answer = links().answer_token(&number, &follows, later);
        let access = links().follower_token(&number, &follows, later);
        let answer_claim = links().claim(&answer, now).unwrap();
        let access_claim = links().claim(&access, now).unwrap();
        assert!(links().verify_answer(&answer_claim, &maria));
        assert!(!links().verify(&answer_claim, &maria));
        assert!(links().verify(&access_claim, &maria));
        assert!(!links().verify_answer(&access_claim, &maria));
        assert_eq!(answer_claim.expires(), later);
    }

    #[test]
    fn a_rating_token_rates_only_and_no_other_token_rates() {
        let number = TicketNumber::parse("MDT-QUE-2025-00001").unwrap();
        let now = Timestamp::parse("2025-03-01T00:00:00Z").unwrap();
        let maria = requester("maria@example.com");
        let follows = follower_key(&maria).unwrap();
        let later = now.plus(chrono::Duration::days(30));
        let rating = links().claim(&links().rating_token(&number, &follows, later), now);
        let rating = rating.unwrap();
        assert!(links().verify_rating(&rating, &maria));
        assert!(!links().verify_rating(&rating, &requester("otra@example.com")));
        assert!(!links().verify(&rating, &maria), "it opens no page");
        assert!(
            !links().verify_answer(&rating, &maria),
            "it answers nothing"
        );
        for other in [
            links().answer_token(&number, &follows, later),
            links().follower_token(&number, &follows, later),
        ] {
            let claim = links().claim(&other, now).unwrap();
            assert!(!links().verify_rating(&claim, &maria), "{other}");
        }
    }
}
