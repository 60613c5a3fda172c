//! The words a ticket is found by in the agents' search: those of its subject, its
//! requester's name and document number, and its messages (the citizen's, the agents'
//! replies and notes), folded to lower case without accents. Stores keep them as keys made
//! from each word's hash, never the word, one per ticket and word: a search for several
//! words is the tickets that have all of them. Pure.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::{Message, MessageKind, Ticket};

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

/// The words `message` adds to `ticket`'s: a first message also brings the subject, the
/// requester's name and their document number. System lines add none.
pub fn message_words(ticket: &Ticket, message: &Message, first: bool) -> Vec<String> {
    if message.kind == MessageKind::SystemEvent {
        return Vec::new();
    }
    let mut all = Vec::new();
    if first {
        all.extend(words(ticket.subject.as_str(), WORDS_PER_MESSAGE));
        all.extend(words(ticket.requester.name.as_str(), 8));
        if let Some(document) = &ticket.requester.id_document {
            all.push(document.number().to_lowercase());
        }
    }
    all.extend(words(message.body.as_str(), WORDS_PER_MESSAGE));
    let mut seen = BTreeSet::new();
    all.retain(|w| seen.insert(w.clone()));
    all
}

/// The key a store keeps for `word`: its hash, so that no word (a name, a document number)
/// is written in a key.
pub fn word_key(word: &str) -> String {
    let digest = Sha256::digest(format!("ventanilla-search\n{word}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys of [`message_words`]: what a store writes with the message.
pub fn message_keys(ticket: &Ticket, message: &Message, first: bool) -> Vec<String> {
    message_words(ticket, message, first)
        .iter()
        .map(|word| word_key(word))
        .collect()
}

/// The keys of every word of a ticket and its thread: what erasing it removes.
pub fn thread_keys(ticket: &Ticket, thread: &[Message]) -> BTreeSet<String> {
    thread
        .iter()
        .enumerate()
        .flat_map(|(index, message)| message_words(ticket, message, index == 0))
        .map(|word| word_key(&word))
        .collect()
}

/// The keys a search for `text` asks for: a document number's (however it is typed), or its
/// words, at most [`WORDS_PER_SEARCH`].
pub fn query_keys(text: &str) -> Vec<String> {
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
        return vec![word_key(&document)];
    }
    for word in words(text, WORDS_PER_SEARCH) {
        if !all.contains(&word) {
            all.push(word);
        }
    }
    all.truncate(WORDS_PER_SEARCH);
    all.iter().map(|w| word_key(w)).collect()
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
    fn a_typed_document_number_is_one_key() {
        assert_eq!(query_keys("171430710-3"), [word_key("1714307103")]);
        assert_eq!(
            query_keys("oficio 4455-B").len(),
            2,
            "words, one with digits"
        );
        assert_eq!(query_keys("AB123456"), [word_key("ab123456")], "a passport");
        assert_eq!(query_keys("Licencia turismo").len(), 2);
        assert_eq!(query_keys("uno dos tres cuatro cinco seis siete").len(), 5);
        assert_ne!(word_key("licencia"), word_key("licencias"));
    }
}
