//! "Mis trámites": a citizen who lost their numbers types their address and receives a link
//! (signed, 30 minutes, used once) that lists every ticket opened with it, at every agency,
//! newest activity first, each opening its status page. Asking answers alike whether or not
//! the address has tickets; asks are throttled per address and per source, and the mail is
//! capped per address per day on its own count (so that asks cannot use up the day's
//! acknowledgements of the address's new tickets) and never goes to an address that bounced.

use std::time::Duration;

use ventanilla_domain::ports::{Mailer, StoreError, Throttle, ThrottleKey, TicketStore};
use ventanilla_domain::rules::notices::sign_in_link;
use ventanilla_domain::{Email, Lang, Ticket};

use crate::access::SignIn;
use crate::sending::{SHOWN_LINK, access_path, may_notify};
use crate::{AppError, Desk, Site};

/// How long a sign-in link works.
pub const SIGN_IN_LINK: chrono::Duration = chrono::Duration::minutes(30);
/// Asks for one address from one source in an hour.
pub const ASKS_PER_ADDRESS_PER_SOURCE_PER_HOUR: u64 = 3;
/// Asks for one address in an hour, from anywhere.
pub const ASKS_PER_ADDRESS_PER_HOUR: u64 = 10;
/// Asks from one source in an hour, whatever the addresses.
pub const ASKS_PER_SOURCE_PER_HOUR: u64 = 10;
/// Sign-in mails to one address in a day, asked from one source: so that one source cannot
/// spend an address's day.
pub const MAILS_PER_ADDRESS_PER_SOURCE_PER_DAY: u64 = 3;
/// Sign-in mails to one address in a day, from anywhere.
pub const MAILS_PER_ADDRESS_PER_DAY: u64 = 10;
/// The most tickets listed: the newest activity first.
pub const MAX_LISTED: usize = 100;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// One ticket of the list, with the link that opens its status page (for a day).
#[derive(Debug)]
pub struct MyTicket {
    pub ticket: Ticket,
    pub access_path: String,
}

impl<S: TicketStore + Throttle, B, M: Mailer> Desk<S, B, M> {
    /// Sends the sign-in link to `email` if it has tickets, asked from `source`. `Ok` says
    /// nothing of whether it had any, or was sent: a failed send is logged, not told.
    pub async fn send_sign_in_link(
        &self,
        site: &Site,
        email: &Email,
        source: &str,
        lang: Lang,
    ) -> Result<(), AppError> {
        let now = site.clock.now();
        let address = email.match_key();
        // Per source, per address from one source, and per address from anywhere (higher):
        // one source cannot use up an address's asks, so its owner still gets a link.
        let asks = [
            (
                ThrottleKey::personal("sign-in-source", source, &self.identifiers),
                ASKS_PER_SOURCE_PER_HOUR,
            ),
            (
                ThrottleKey::personal(
                    "sign-in-address-source",
                    &format!("{address}\n{source}"),
                    &self.identifiers,
                ),
                ASKS_PER_ADDRESS_PER_SOURCE_PER_HOUR,
            ),
            (
                ThrottleKey::personal("sign-in-address", &address, &self.identifiers),
                ASKS_PER_ADDRESS_PER_HOUR,
            ),
        ];
        for (key, limit) in &asks {
            if !self.store.take(key, HOUR, now, *limit).await? {
                return Err(AppError::TooMany { retry_after: HOUR });
            }
        }
        if listed(&self.store, email).await?.is_empty() {
            return Ok(());
        }
        let mails = [
            (
                ThrottleKey::personal(
                    "sign-in-mails-source",
                    &format!("{address}\n{source}"),
                    &self.identifiers,
                ),
                MAILS_PER_ADDRESS_PER_SOURCE_PER_DAY,
            ),
            (
                ThrottleKey::personal("sign-in-mails", &address, &self.identifiers),
                MAILS_PER_ADDRESS_PER_DAY,
            ),
        ];
        let mut allowed = may_notify(site, &self.store, &self.identifiers, email, false).await?;
        for (key, limit) in &mails {
            allowed = allowed && self.store.take(key, DAY, now, *limit).await?;
        }
        if !allowed {
            tracing::info!("a sign-in link was not sent: the address's mail for the day is sent");
            return Ok(());
        }
        let token = site.links.sign_in_token(email, now.plus(SIGN_IN_LINK));
        let url = format!("{}/mis-tramites/{token}", site.settings.public_url);
        let draft = sign_in_link(
            &url,
            lang,
            email.clone(),
            &site.settings.no_reply,
            site.new_mail_id(),
            now,
        );
        // A provider's refusal may name the address: only that it failed is logged.
        if self.mailer.send(&draft.build()).await.is_err() {
            tracing::error!("a sign-in link was not sent: the mail provider failed");
        }
        Ok(())
    }
}

impl<S: TicketStore + Throttle, B, M> Desk<S, B, M> {
    /// Whether a sign-in link still lists: valid and not used. Asked when it is opened, which
    /// spends nothing (mail scanners open links before their owner does).
    pub async fn sign_in_unused(&self, site: &Site, token: &str) -> Result<bool, AppError> {
        let Some(signed) = site.links.sign_in(token, site.clock.now()) else {
            return Ok(false);
        };
        let used = used_key(&signed);
        let counts = self.store.counts(&[used], HOUR, signed.expires).await?;
        Ok(counts.first().copied().unwrap_or(0) == 0)
    }

    /// The tickets a sign-in link lists, the first time it is used while valid; `NotFound`
    /// for a link forged, expired or used before.
    pub async fn my_tickets(&self, site: &Site, token: &str) -> Result<Vec<MyTicket>, AppError> {
        let now = site.clock.now();
        let Some(signed) = site.links.sign_in(token, now) else {
            return Err(AppError::NotFound);
        };
        // Used once: marked in a window fixed by the link's expiry (not by the hour it is
        // used in), which lasts past it.
        let used = used_key(&signed);
        if !self.store.take(&used, HOUR, signed.expires, 1).await? {
            return Err(AppError::NotFound);
        }
        let tickets = match listed(&self.store, &signed.email).await {
            Ok(tickets) => tickets,
            Err(error) => {
                // Not spent by a failure of ours.
                if let Err(error) = self.store.release(&used, HOUR, signed.expires).await {
                    tracing::error!(%error, "a sign-in link's use could not be given back");
                }
                return Err(error.into());
            }
        };
        Ok(tickets
            .into_iter()
            .map(|ticket| MyTicket {
                access_path: access_path(site, &ticket.number, &signed.email, SHOWN_LINK),
                ticket,
            })
            .collect())
    }
}

fn used_key(signed: &SignIn) -> ThrottleKey {
    ThrottleKey::new("sign-in-used", &signed.signature)
}

/// The tickets opened with `email` that a list shows: not erased, not merged into another
/// (its number opens that one), newest activity first, at most [`MAX_LISTED`].
async fn listed(store: &impl TicketStore, email: &Email) -> Result<Vec<Ticket>, StoreError> {
    let mut tickets: Vec<Ticket> = store
        .requester_tickets(email)
        .await?
        .into_iter()
        .filter(|t| t.erased_at.is_none() && t.merged_into.is_none())
        .filter(|t| (t.requester.email.as_ref()).is_some_and(|own| own.same_mailbox(email)))
        .collect();
    tickets.sort_by_key(|t| std::cmp::Reverse(t.last_activity));
    tickets.truncate(MAX_LISTED);
    Ok(tickets)
}
