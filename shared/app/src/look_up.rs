//! A citizen looks up their ticket: by its number and the e-mail it was opened with, by the
//! signed link of its mails, or (a ticket an agent opened for a caller who gave no address)
//! by its number and their ID document's number. Every way of missing (no such ticket,
//! someone else's ticket) answers alike, and misses are counted against the number and the
//! source.

use std::time::Duration;

use ventanilla_domain::ports::{
    BlobStore, StoreError, ThreadQuery, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::{Email, IdDocument, Message, Ticket, TicketNumber};

use crate::show_ticket::{LinkedMessage, Reader, linked_thread};
use crate::{AppError, Desk};

/// How long a miss counts.
const HOUR: Duration = Duration::from_secs(3600);

/// A ticket as its requester sees it: the public thread only (their messages and the
/// agency's replies), oldest first, each file with a short-lived download link.
#[derive(Debug)]
pub struct PublicTicket {
    pub ticket: Ticket,
    pub messages: Vec<LinkedMessage>,
    /// The number asked for, when it was merged into `ticket`.
    pub merged_from: Option<TicketNumber>,
}

impl<S: TicketStore + Throttle, B: BlobStore> Desk<S, B, ()> {
    /// The ticket `number`, if it was opened with `email`; asked from `source`.
    pub async fn by_email(
        &self,
        number: &TicketNumber,
        email: &Email,
        source: &str,
    ) -> Result<PublicTicket, AppError> {
        self.look_up(number, source, None, |ticket| {
            (ticket.requester.email.as_ref()).is_some_and(|own| own.same_mailbox(email))
        })
        .await
    }

    /// The ticket `number`, if it has no e-mail address and its requester's document number
    /// is `id_number`; asked from `source`. A ticket with an address is followed by it
    /// (and its link) only: a document number is easier to come by than a mailbox.
    pub async fn by_id_number(
        &self,
        number: &TicketNumber,
        id_number: &str,
        source: &str,
    ) -> Result<PublicTicket, AppError> {
        // Misses count against the document number too: one cédula tried on number after
        // number (they run in order) stops at the number's limit, from any source. The cost
        // is the owner's, on purpose: five wrong tries with their cédula hold their own lookup
        // back for an hour (the agency still answers them by phone), since answering the
        // right number while refusing wrong ones would let the scan go on to it.
        let typed = IdDocument::typed_number(id_number);
        let follower = ThrottleKey::personal("miss-id", &typed, &self.identifiers);
        self.look_up(number, source, Some(follower), |ticket| {
            let requester = &ticket.requester;
            requester.email.is_none()
                && (requester.id_document.as_ref()).is_some_and(|d| d.has_number(id_number))
        })
        .await
    }

    /// The ticket a signed access link opens, while it is valid; asked from `source`.
    pub async fn by_link(&self, token: &str, source: &str) -> Result<PublicTicket, AppError> {
        let links = &self.site.links;
        let Some(claim) = links.claim(token, self.site.clock.now()) else {
            return Err(AppError::NotFound);
        };
        self.look_up(&claim.number, source, None, |ticket| {
            links.verify(&claim, &ticket.requester)
        })
        .await
    }

    /// Finds the ticket if `matches` accepts its requester. Every way of missing takes the
    /// same path from here on. `follower`: a miss counter of what the asker typed, which
    /// refuses them before anything is read once past the number's limit.
    async fn look_up(
        &self,
        number: &TicketNumber,
        source: &str,
        follower: Option<ThrottleKey>,
        matches: impl Fn(&Ticket) -> bool + Sync,
    ) -> Result<PublicTicket, AppError> {
        let mut keys = self.miss_keys(number, source).to_vec();
        let per_number = self.site.settings.limits.lookup_misses_per_number_per_hour;
        keys.extend(follower.map(|key| (key, per_number)));
        let throttled = AppError::TooMany { retry_after: HOUR };
        // Misses cost the guesser, not the owner: a source past its limit is refused before
        // anything is read; a number being guessed at still opens for the right e-mail or a
        // valid link, and answers every wrong one as throttled.
        let over = self.over_limit(&keys).await?;
        let number_guessed = over.first().copied().unwrap_or(false);
        if over.iter().skip(1).any(|&over| over) {
            return Err(throttled);
        }
        // One read for the ticket and its thread: on DynamoDB one Query instead of a GetItem
        // and a Query. Numbers follow each other, so that a wrong e-mail reads a little more
        // than an unknown number gives away nothing a citizen could not guess.
        // The newest page: a thread of ten thousand robot mails still opens.
        match self
            .store
            .thread_page(number, &ThreadQuery::newest(None))
            .await
        {
            // An erased ticket is no one's: it answers as an unknown number does, whatever
            // address (its placeholder included) or link is given.
            Ok((ticket, page)) if ticket.erased_at.is_none() && matches(&ticket) => {
                if ticket.merged_into.is_none() {
                    return self.public(ticket, page.items, None, &matches).await;
                }
                // A duplicate merged into another: its number opens the ticket it goes on
                // in, to whoever that one opens for too (merged by ID document, the two may
                // have different addresses: each still sees only their own).
                let asked = ticket.number.clone();
                let survivor = crate::merge::going_on(&self.store, ticket.clone()).await?;
                if survivor.number == asked || !matches(&survivor) {
                    return self.public(ticket, page.items, None, &matches).await;
                }
                let (survivor, page) = self
                    .store
                    .thread_page(&survivor.number, &ThreadQuery::newest(None))
                    .await?;
                self.public(survivor, page.items, Some(asked), &matches)
                    .await
            }
            Ok(_) | Err(StoreError::NotFound) => {
                self.count_miss(&keys).await;
                Err(if number_guessed {
                    throttled
                } else {
                    AppError::NotFound
                })
            }
            // Logged once, with its causes, where it is answered (`Problem::from_app`).
            Err(error) => Err(error.into()),
        }
    }

    async fn public(
        &self,
        ticket: Ticket,
        thread: Vec<Message>,
        merged_from: Option<TicketNumber>,
        opens: &(dyn Fn(&Ticket) -> bool + Sync),
    ) -> Result<PublicTicket, AppError> {
        let valid_for = self.site.settings.limits.download_link;
        // The tickets merged into it that the asker's own credential opens: merged by ID
        // document, another address's conversation stays theirs.
        let reader = Reader {
            message: &|m: &Message| m.kind.is_public(),
            merged: Some(opens),
        };
        let messages =
            linked_thread(&self.store, &self.blobs, &ticket, thread, reader, valid_for).await?;
        Ok(PublicTicket {
            ticket,
            messages,
            merged_from,
        })
    }

    fn miss_keys(&self, number: &TicketNumber, source: &str) -> [(ThrottleKey, u64); 2] {
        let limits = &self.site.settings.limits;
        [
            (
                ThrottleKey::new("miss-number", number.as_str()),
                limits.lookup_misses_per_number_per_hour,
            ),
            (
                ThrottleKey::personal("miss-source", source, &self.identifiers),
                limits.lookup_misses_per_source_per_hour,
            ),
        ]
    }

    /// Which of the miss counters (`keys`, in their order) are at their limit.
    async fn over_limit(&self, keys: &[(ThrottleKey, u64)]) -> Result<Vec<bool>, StoreError> {
        let now = self.site.clock.now();
        let names: Vec<ThrottleKey> = keys.iter().map(|(key, _)| key.clone()).collect();
        let counts = self.store.counts(&names, HOUR, now).await?;
        Ok(counts
            .iter()
            .zip(keys)
            .map(|(count, (_, limit))| count >= limit)
            .collect())
    }

    async fn count_miss(&self, keys: &[(ThrottleKey, u64)]) {
        let now = self.site.clock.now();
        for (key, limit) in keys {
            // Counting stops at the limit: past it, every wrong guess is refused anyway.
            if let Err(error) = self.store.take(key, HOUR, now, *limit).await {
                tracing::error!(%error, "a lookup miss could not be counted");
            }
        }
    }
}
