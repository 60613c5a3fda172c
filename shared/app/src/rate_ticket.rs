//! A citizen rates how their ticket was attended: the mail that tells them it is resolved
//! carries five links, one per score (`/valorar/<token>?nota=N`), signed for rating only
//! and bound to the requester, for [`RATING_LINK`]. A link opens a form with its score
//! chosen and room for a comment; only sending the form records it. A GET never does: mail
//! scanners and link previews open every link of a mail, and would rate each ticket 1.
//! A ticket is rated once: the first rating stays, whatever link or try comes after.

use std::time::Duration;

use ventanilla_domain::model::rating::{RATING_PATH, Rating};
use ventanilla_domain::ports::{AgencyDirectory, StoreError, Throttle, ThrottleKey, TicketStore};
use ventanilla_domain::{Ticket, TicketChange, TicketNumber, TicketUpdate};

use crate::access::follower_key;
use crate::{AppError, Desk, Site};

/// How long the links of a resolution mail rate its ticket.
pub const RATING_LINK: chrono::Duration = chrono::Duration::days(30);
/// Ratings one source sends in an hour (each ticket takes one): more is a script.
pub const RATINGS_PER_SOURCE_PER_HOUR: u64 = 30;
/// Tries of a rating that finds the ticket changed under it (an agent's write at that
/// moment) before it gives up.
const TRIES: usize = 3;
const HOUR: Duration = Duration::from_secs(3600);

/// The link a resolution mail offers to rate `ticket`, without its score: `None` when the
/// ticket is not finished, is rated or erased, or has nobody a link can be bound to.
pub fn rating_url(site: &Site, ticket: &Ticket) -> Option<String> {
    if !ticket.status.is_finished() || ticket.rating.is_some() || ticket.erased_at.is_some() {
        return None;
    }
    let follows = follower_key(&ticket.requester)?;
    let expires = site.clock.now().plus(RATING_LINK);
    let token = site.links.rating_token(&ticket.number, &follows, expires);
    Some(format!("{}{RATING_PATH}{token}", site.settings.public_url))
}

/// What a rating link shows: the ticket's number and agency, and its rating once given.
#[derive(Debug, Clone)]
pub struct RatingAsked {
    pub number: TicketNumber,
    pub agency_name: String,
    pub rated: Option<Rating>,
}

/// What became of a rating sent.
#[derive(Debug, Clone)]
pub enum Rated {
    Recorded(RatingAsked),
    /// The ticket was rated before (another link, a second click): that rating stays.
    Already(RatingAsked),
}

impl<S, B, M> Desk<S, B, M>
where
    S: TicketStore + Throttle + AgencyDirectory,
{
    /// The ticket a rating token rates, for its requester; `NotFound` for a token that is
    /// malformed, expired, forged, someone else's, or of an erased ticket.
    async fn rated_ticket(&self, site: &Site, token: &str) -> Result<Ticket, AppError> {
        let Some(claim) = site.links.claim(token, site.clock.now()) else {
            return Err(AppError::NotFound);
        };
        match self.store.ticket(&claim.number).await {
            Ok(ticket)
                if ticket.erased_at.is_none()
                    && site.links.verify_rating(&claim, &ticket.requester) =>
            {
                Ok(ticket)
            }
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    fn asked(site: &Site, ticket: &Ticket) -> RatingAsked {
        RatingAsked {
            number: ticket.number.clone(),
            agency_name: site
                .settings
                .agency(&ticket.agency)
                .map_or_else(|| ticket.agency.to_string(), |a| a.name.clone()),
            rated: ticket.rating.clone(),
        }
    }

    /// What the rating link `token` opens: the form, or the rating already given.
    pub async fn rating_form(&self, site: &Site, token: &str) -> Result<RatingAsked, AppError> {
        let ticket = self.rated_ticket(site, token).await?;
        Ok(Self::asked(site, &ticket))
    }

    /// Records the rating `score` (with `comment`) of the ticket `token` rates, sent from
    /// `source`, unless the ticket is rated already.
    pub async fn rate(
        &self,
        site: &Site,
        source: &str,
        token: &str,
        score: &str,
        comment: Option<&str>,
    ) -> Result<Rated, AppError> {
        let now = site.clock.now();
        // Before anything is read: a flood of made-up links costs the store one counter.
        let key = ThrottleKey::personal("ratings-source", source, &self.identifiers);
        if !self
            .store
            .take(&key, HOUR, now, RATINGS_PER_SOURCE_PER_HOUR)
            .await?
        {
            return Err(AppError::TooMany { retry_after: HOUR });
        }
        let mut ticket = self.rated_ticket(site, token).await?;
        if ticket.rating.is_some() {
            return Ok(Rated::Already(Self::asked(site, &ticket)));
        }
        let rating = Rating::parse(score, comment, now).map_err(AppError::invalid)?;
        for _ in 0..TRIES {
            // Ours, when a write that went through was tried again and lost to itself.
            if ticket.rating.as_ref() == Some(&rating) {
                return Ok(Rated::Recorded(Self::asked(site, &ticket)));
            }
            if ticket.rating.is_some() {
                return Ok(Rated::Already(Self::asked(site, &ticket)));
            }
            let update = TicketUpdate {
                number: ticket.number.clone(),
                expected_version: ticket.version,
                change: TicketChange {
                    rating: Some(rating.clone()),
                    ..TicketChange::default()
                },
                message: None,
                mails: Vec::new(),
            };
            match self.store.update(update).await {
                Ok(rated) => {
                    tracing::info!(ticket = %rated.number, score = rating.score, "ticket rated");
                    return Ok(Rated::Recorded(Self::asked(site, &rated)));
                }
                // Changed since it was read (another rating at the same moment, an agent's
                // write): read again; a rating there wins.
                Err(StoreError::VersionConflict) => {
                    ticket = self.rated_ticket(site, token).await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
