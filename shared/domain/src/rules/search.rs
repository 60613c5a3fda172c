//! The words a ticket is found by in the agents' search: those of its subject, its
//! requester's name and document number, and its messages (the citizen's, the agents'
//! replies and notes), folded to lower case without accents. Stores keep them as keys made
//! from each word's hash, never the word, one per ticket, word and agency that may see the
//! ticket (the one holding it, those keeping a referral): an agency's search reads its own
//! keys, never crowded out by other agencies' tickets. A search for several words is the
//! tickets that have all of them. Pure.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::{AgencyCode, Message, MessageKind, Ticket};

/// At most this many distinct words of one message are indexed (its first ones): what an
/// agent remembers of a long mail is near its top, and the index stays small.
pub const WORDS_PER_MESSAGE: usize = 40;
/// At most this many words of a search count.
pub const WORDS_PER_SEARCH: usize = 5;
const SHORTEST: usize = 3;
const LONGEST: usize = 40;

/// Words too common to tell tickets apart.
const COMMON: &[&str] = &[
    "and",
    "are",
    "but",
    "con",
    "del",
    "desde",
    "dia",
    "dias",
    "donde",
    "el",
    "ella",
    "ellos",
    "els",
    "entre",
    "era",
    "eso",
    "esta",
    "este",
    "esto",
    "for",
    "fue",
    "gracias",
    "hay",
    "las",
    "les",
    "los",
    "mas",
    "mis",
    "muy",
    "nos",
    "not",
    "para",
    "pero",
    "por",
    "que",
    "quien",
    "sea",
    "ser",
    "sin",
    "sobre",
    "son",
    "sus",
    "tambien",
    "the",
    "this",
    "tiene",
    "una",
    "uno",
    "usted",
    "with",
    "you",
    "buenos",
    "buenas",
    "tardes",
    "saludos",
    "atentamente",
    "estimado",
    "estimada",
    "cordial",
    "cordiales",
];

fn folded(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        other => other,
    }
}

/// The distinct words of `text` a search may use, in the order they first appear, at most
/// `limit`.
pub fn words(text: &str, limit: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        if found.len() >= limit {
            break;
        }
        let word: String = raw
            .chars()
            .flat_map(char::to_lowercase)
            .map(folded)
            .collect();
        let length = word.chars().count();
        if !(SHORTEST..=LONGEST).contains(&length) || COMMON.contains(&word.as_str()) {
            continue;
        }
        if seen.insert(word.clone()) {
            found.push(word);
        }
    }
    found
}

/// The words a ticket's first message brings besides its text: the subject, the
/// requester's name and their document number (none of which a change rewrites).
fn opening_words(ticket: &Ticket) -> Vec<String> {
    let mut all = words(ticket.subject.as_str(), WORDS_PER_MESSAGE);
    all.extend(words(ticket.requester.name.as_str(), 8));
    if let Some(document) = &ticket.requester.id_document {
        all.push(document.number().to_lowercase());
    }
    all
}

/// The words `message` adds to `ticket`'s: a first message also brings the
/// [`opening_words`]; a later one leaves them out, since the first wrote them already (a
/// citizen signs with their name and repeats the subject: each word is a store write).
/// System lines add none.
pub fn message_words(ticket: &Ticket, message: &Message, first: bool) -> Vec<String> {
    if message.kind == MessageKind::SystemEvent {
        return Vec::new();
    }
    let (mut all, left_out) = if first {
        (opening_words(ticket), Vec::new())
    } else {
        (Vec::new(), opening_words(ticket))
    };
    all.extend(words(message.body.as_str(), WORDS_PER_MESSAGE));
    let mut seen = BTreeSet::new();
    all.retain(|w| !left_out.contains(w) && seen.insert(w.clone()));
    all
}

/// The key a store keeps for `word` in `agency`'s search: its hash, so that no word (a
/// name, a document number) is written in a key.
pub fn word_key(agency: &AgencyCode, word: &str) -> String {
    key_with(&agency_hasher(agency), word)
}

/// The hash of `agency`'s prefix, which each of its word keys goes on from: hashed once for
/// all the words of a message, not once per word.
fn agency_hasher(agency: &AgencyCode) -> Sha256 {
    Sha256::new_with_prefix(format!("ventanilla-search\n{agency}\n"))
}

fn key_with(agency: &Sha256, word: &str) -> String {
    let digest = agency.clone().chain_update(word.as_bytes()).finalize();
    hex::encode(&digest[..16])
}

/// The agencies whose search finds `ticket`: the one holding it, and those keeping a
/// referral to it.
pub fn searched_by(ticket: &Ticket) -> Vec<&AgencyCode> {
    std::iter::once(&ticket.agency)
        .chain(ticket.referrals.iter())
        .collect()
}

fn keys_in<'a>(
    agencies: &'a [&AgencyCode],
    words: &'a [String],
) -> impl Iterator<Item = String> + 'a {
    agencies.iter().flat_map(move |agency| {
        let hasher = agency_hasher(agency);
        words.iter().map(move |word| key_with(&hasher, word))
    })
}

/// The keys of [`message_words`]: what a store writes with the message.
pub fn message_keys(ticket: &Ticket, message: &Message, first: bool) -> Vec<String> {
    let words = message_words(ticket, message, first);
    keys_in(&searched_by(ticket), &words).collect()
}

fn thread_words(ticket: &Ticket, thread: &[Message]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    thread
        .iter()
        .enumerate()
        .flat_map(|(index, message)| message_words(ticket, message, index == 0))
        .filter(|word| seen.insert(word.clone()))
        .collect()
}

/// The keys of every word of a ticket and its thread, for every agency that finds it: what
/// erasing it removes.
pub fn thread_keys(ticket: &Ticket, thread: &[Message]) -> BTreeSet<String> {
    let words = thread_words(ticket, thread);
    keys_in(&searched_by(ticket), &words).collect()
}

/// The keys an erasure deletes: those of every agency that finds the ticket or held it
/// before, so that a word written late for a former holder (after the transfer moved the
/// others) goes too.
pub fn erasure_keys(ticket: &Ticket, thread: &[Message]) -> BTreeSet<String> {
    let words = thread_words(ticket, thread);
    let finding = searched_by(ticket);
    let before = ticket.held_before.iter().filter(|a| !finding.contains(a));
    let agencies: Vec<&AgencyCode> = finding.iter().copied().chain(before).collect();
    keys_in(&agencies, &words).collect()
}

/// What a change of the agencies that find a ticket (a transfer, a referral kept) does to
/// its keys: those of the agencies that now find it and did not (added), and of those that
/// no longer do (removed), for its whole thread.
pub fn moved_keys(
    before: &Ticket,
    after: &Ticket,
    thread: &[Message],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (was, is) = (searched_by(before), searched_by(after));
    let gained: Vec<&AgencyCode> = is.iter().filter(|a| !was.contains(a)).copied().collect();
    let lost: Vec<&AgencyCode> = was.iter().filter(|a| !is.contains(a)).copied().collect();
    if gained.is_empty() && lost.is_empty() {
        return (BTreeSet::new(), BTreeSet::new());
    }
    let words = thread_words(after, thread);
    (
        keys_in(&gained, &words).collect(),
        keys_in(&lost, &words).collect(),
    )
}

/// Whether a change moved the agencies that find the ticket (`moved_keys` has work).
pub fn searched_by_changed(before: &Ticket, after: &Ticket) -> bool {
    searched_by(before) != searched_by(after)
}

/// The keys `agency`'s search for `text` asks for: a document number's (however it is
/// typed), or its words, at most [`WORDS_PER_SEARCH`].
pub fn query_keys(agency: &AgencyCode, text: &str) -> Vec<String> {
    let mut all = Vec::new();
    let document = crate::IdDocument::typed_number(text).to_lowercase();
    // One token with a digit (`171430710-3`): a document; `oficio 4455-B` is words.
    if !text.trim().contains(char::is_whitespace)
        && document.len() >= 6
        && document.len() <= 20
        && document.chars().all(|c| c.is_ascii_alphanumeric())
        && document.chars().any(|c| c.is_ascii_digit())
    {
        // Its pieces (`171430710`, `3`) are not words of the ticket.
        return vec![word_key(agency, &document)];
    }
    for word in words(text, WORDS_PER_SEARCH) {
        if !all.contains(&word) {
            all.push(word);
        }
    }
    all.truncate(WORDS_PER_SEARCH);
    keys_in(&[agency], &all).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_distinct_and_bounded() {
        assert_eq!(
            words("Cédula CÉDULA, año: 2026 — trámite de la Niñez", 10),
            ["cedula", "ano", "2026", "tramite", "ninez"]
        );
        assert_eq!(words(&"palabra ".repeat(1000), 10), ["palabra"]);
        let many: String = (0..100).map(|n| format!("w{n:03} ")).collect();
        assert_eq!(words(&many, WORDS_PER_MESSAGE).len(), WORDS_PER_MESSAGE);
        assert!(
            words(&"x".repeat(41), 5).is_empty(),
            "too long to be a word"
        );
    }

    #[test]
    fn a_word_key_is_the_hash_of_agency_and_word() {
        // Stored keys are this hash: a change here would lose every ticket's words.
        let mdt = AgencyCode::parse("MDT").unwrap();
        let whole = Sha256::digest("ventanilla-search\nMDT\ntramite".as_bytes());
        assert_eq!(word_key(&mdt, "tramite"), hex::encode(&whole[..16]));
        let ticket_keys: Vec<String> =
            keys_in(&[&mdt], &["tramite".to_owned(), "demora".to_owned()]).collect();
        assert_eq!(
            ticket_keys,
            [word_key(&mdt, "tramite"), word_key(&mdt, "demora")]
        );
    }

    #[test]
    fn a_typed_document_number_is_one_key() {
        let mdt = AgencyCode::parse("MDT").unwrap();
        let keys = |text| query_keys(&mdt, text);
        assert_eq!(keys("171430710-3"), [word_key(&mdt, "1714307103")]);
        assert_eq!(keys("oficio 4455-B").len(), 2, "words, one with digits");
        assert_eq!(keys("AB123456"), [word_key(&mdt, "ab123456")], "a passport");
        assert_eq!(keys("Licencia turismo").len(), 2);
        assert_eq!(keys("uno dos tres cuatro cinco seis siete").len(), 5);
        assert_ne!(word_key(&mdt, "licencia"), word_key(&mdt, "licencias"));
        let mintel = AgencyCode::parse("MINTEL").unwrap();
        assert_ne!(word_key(&mdt, "licencia"), word_key(&mintel, "licencia"));
    }

    #[test]
    fn a_later_message_leaves_out_what_the_first_wrote() {
        let ticket = Ticket::example();
        let event = Message::system_event(
            crate::MessageId::UNSET,
            ticket.created_at,
            crate::Author::Requester,
            crate::Body::parse("x").unwrap(),
        );
        let name = ticket.requester.name.as_str().to_owned();
        let subject = ticket.subject.as_str().to_owned();
        let follow_up = Message {
            kind: MessageKind::CitizenMessage,
            body: crate::Body::parse(&format!("Sobre «{subject}»: adjunto el oficio.\n{name}"))
                .unwrap(),
            ..event
        };
        let opening = opening_words(&ticket);
        assert!(!opening.is_empty());
        let later = message_words(&ticket, &follow_up, false);
        assert_eq!(later, vec!["adjunto", "oficio"]);
        let first = message_words(&ticket, &follow_up, true);
        assert!(opening.iter().all(|w| first.contains(w)), "{first:?}");
        // The thread's words are the same whichever message brought them.
        let thread = [follow_up.clone(), follow_up];
        let all: BTreeSet<String> = thread_words(&ticket, &thread).into_iter().collect();
        assert_eq!(all, first.into_iter().collect::<BTreeSet<String>>());
    }

    #[test]
    fn a_transfer_moves_the_keys_to_the_agencies_that_find_the_ticket() {
        let before = Ticket::example();
        let message = Message::system_event(
            crate::MessageId::UNSET,
            before.created_at,
            crate::Author::Requester,
            crate::Body::parse("x").unwrap(),
        );
        let thread = [Message {
            kind: MessageKind::CitizenMessage,
            body: crate::Body::parse("Licencia de turismo").unwrap(),
            ..message
        }];
        let mdt = before.agency.clone();
        let mintel = AgencyCode::parse("MINTEL").unwrap();
        let mut after = before.clone();
        after.agency = mintel.clone();
        let (added, removed) = moved_keys(&before, &after, &thread);
        assert!(added.contains(&word_key(&mintel, "licencia")));
        assert!(removed.contains(&word_key(&mdt, "licencia")));
        assert!(!added.iter().any(|k| removed.contains(k)));
        // Kept as a referral: MDT still finds it.
        after.referrals.push(mdt.clone());
        let (added, removed) = moved_keys(&before, &after, &thread);
        assert!(added.contains(&word_key(&mintel, "turismo")));
        assert!(removed.is_empty());
        assert_eq!(thread_keys(&after, &thread).len(), 2 * added.len());
        assert!(moved_keys(&after, &after, &thread).0.is_empty());
        // An erasure reaches a former holder too (a late word of theirs).
        let mut gone = after.clone();
        gone.held_before.push(AgencyCode::parse("MINEDUC").unwrap());
        let erased = erasure_keys(&gone, &thread);
        let mineduc = AgencyCode::parse("MINEDUC").unwrap();
        assert!(erased.contains(&word_key(&mineduc, "licencia")));
        assert!(erased.is_superset(&thread_keys(&gone, &thread)));
    }
}
