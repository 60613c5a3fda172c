//! Splits a reply's new text from the history it quotes, so that a follow-up shows what the
//! citizen wrote now and not the whole conversation again. The full original is always kept
//! (raw mail in the blob store); this only decides what is shown.
//!
//! A reply is cut at the first line where the history starts: an attribution ("El … escribió:",
//! "On … wrote:" and their French, German, Dutch, Italian, Portuguese, Polish, Nordic, Russian
//! and Chinese forms), a forwarded or original-message separator, an Outlook header block
//! ("De: / Enviado: / Para: / Asunto:", "From: / Sent: / To: / Subject:"), a signature
//! delimiter (`-- `), a "sent from my phone" line, or a `>` block that runs to the end.

use std::sync::LazyLock;

use regex::Regex;

/// A reply, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySplit {
    /// What the sender wrote now, without the quoted history or signature.
    pub new_text: String,
    /// Everything after the cut, as it was.
    pub quoted: String,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("a fixed pattern compiles: {e}"))
}

// The patterns below write a word boundary as the `\W` (or end of text) it must sit next to,
// never as `\b`: a Unicode `\b` keeps the regex engine off its DFAs for any line with a
// non-ASCII character, and its fallback (the PikeVM) made a 150 KB mail take a second to
// split (found by fuzzing the inbound pipeline: `fuzz/`). Each rewrite matches the same lines.

/// One line (or a wrapped line joined with the next) that introduces a quotation.
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?xi)^\s*(
            (on|am|op|le|el|il|em|den|dne|w\ dniu|pe) \W .{2,} \W (wrote|schrieb|schreef|a\ écrit|escribió|escribio|ha\ scritto|scrisse|escreveu|skrev|napsal|pisze|napisał|a\ scris)\s*:?\s*$
          | .{3,} \W (wrote|escribió|a\ écrit|schrieb|schreef|ha\ scritto|escreveu|skrev|pisze|napisał|пишет|написал|написав|пише)\s*:\s*$
          | .{4,} 写道\s*[:：]\s*$
          | \d{4}[-/.]\d{1,2}[-/.]\d{1,2}.{0,80}<[^>]+@[^>]+>\s*:?\s*$
        )",
    )
});

/// The verb of an attribution, wherever it sits in the line ("Am 3.2.2016 schrieb X <x@y>:").
static VERB: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)((^|\W)(wrote|schrieb|schreef|escribió|escribio|a écrit|ha scritto|scrisse|escreveu|skrev|napisał|napisal|pisze|napsal)|пишет|написал|написала|写道)",
    )
});

/// Gmail's date-only attribution when the name is cut: "2016-03-03 17:21 GMT+01:00 Name".
static DATE_ATTRIBUTION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*\d{4}-\d{2}-\d{2} \d{1,2}:\d{2} GMT[+-]\d{2}:\d{2}(\W|$)"));

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*[-=_*]{2,}\s*(original message|mensaje original|forwarded message|mensaje reenviado|message d'origine|message transféré|ursprüngliche nachricht|weitergeleitete nachricht|oorspronkelijk bericht|doorgestuurd bericht|messaggio originale|messaggio inoltrato|mensagem original|mensagem encaminhada|wiadomość oryginalna|originalmeddelande|opprinnelig melding|исходное сообщение|пересылаемое сообщение)\s*[-=_*]{2,}\s*$",
    )
});

/// The first line of an Outlook-style header block: `From:`, `De:`, `Von:`… possibly bold
/// (`*From:*`) as plain-text conversions of HTML write it.
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*[*>]*\s*\*?(from|de|von|van|od|da|från|fra|fra|от|expéditeur|mittente|remetente|lähettäjä)\s*\*?\s*:",
    )
});

static HEADER_OTHER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*[*>]*\s*\*?(sent|date|to|cc|subject|enviado|enviada|fecha|para|asunto|gesendet|datum|an|betreff|verzonden|aan|onderwerp|envoyé|date|à|objet|inviato|data|a|oggetto|wysłano|do|temat|skickat|till|ämne|sendt|til|emne|отправлено|дата|кому|тема|assunto|enviado em)\s*\*?\s*:",
    )
});

/// "Sent from my iPhone" and its relatives, in the languages the corpus shows.
static MOBILE_SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?xi)^\s*[(<]*\s*(
            sent\ (from|via|with|by)(\W|$)
          | sendt\ fra(\W|$)
          | skickat\ från(\W|$)
          | enviado\ do\ meu(\W|$)
          | inviato\ dal\ mio(\W|$)
          | wysłane\ z(\W|$)
          | enviado\ (desde|con|de)(\W|$)
          | envoyé\ (depuis|de)(\W|$)
          | von\ meinem(\W|$)
          | gesendet\ von(\W|$)
          | verzonden\ (met|vanaf)(\W|$)
          | verstuurd\ (met|vanaf)(\W|$)
          | inviato\ da(\W|$)
          | diese\ nachricht\ wurde\ von(\W|$)
          | get\ outlook\ for(\W|$)
          | obtener\ outlook\ para(\W|$)
          | descargar\ outlook\ para(\W|$)
          | from\ my\ (iphone|ipad|android|mobile)(\W|$)
          | 從我的
          | 发自我的
        )",
    )
});

fn is_delimiter_only(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| matches!(c, '-' | '_' | '=' | '~' | '*' | '#' | '+' | '\u{1427}'))
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Whether an Outlook-style header block starts at `index`: a "From" line and at least two
/// other header lines among the next few.
fn header_block_at(lines: &[&str], index: usize) -> bool {
    if !HEADER_FROM.is_match(lines[index]) {
        return false;
    }
    lines
        .iter()
        .skip(index + 1)
        .take(8)
        .filter(|line| HEADER_OTHER.is_match(line))
        .count()
        >= 2
}

/// An attribution whose verb sits mid-line: it names an address or a date, has the verb,
/// and ends with a colon.
/// How a wrapped attribution's first line looks: it has the verb, an address in angle
/// brackets, or starts with a date or an opener ("On", "El", "Op", "Am", …).
fn attribution_start(line: &str) -> bool {
    static OPENER: LazyLock<Regex> =
        LazyLock::new(|| regex(r"(?i)^\s*(on|el|op|am|le|il|em|den|w dniu|pe|\d{1,4}[ .\-/])"));
    VERB.is_match(line) || line.contains("@") && line.contains('<') || OPENER.is_match(line)
}

fn loose_attribution(text: &str) -> bool {
    let text = text.trim();
    text.chars().count() < 300
        && (text.ends_with(':') || text.ends_with('：'))
        && (text.contains('@') || text.chars().any(|c| c.is_ascii_digit()))
        && VERB.is_match(text)
}

fn attribution_at(lines: &[&str], index: usize) -> bool {
    let line = lines[index];
    if line.trim().is_empty() || is_quoted(line) {
        return false;
    }
    // Zoho frames it: "---- On … wrote ----".
    let unframed = line.trim().trim_matches('-').trim();
    if ATTRIBUTION.is_match(line)
        || (unframed.len() < line.trim().len() && ATTRIBUTION.is_match(&format!("{unframed}:")))
        || DATE_ATTRIBUTION.is_match(line)
        || loose_attribution(line)
    {
        return true;
    }
    // Clients wrap long attributions: "On Tue, 12 Mar 2024 at 10:00, Name <a@b>\nwrote:".
    (1..=2).any(|extra| {
        if index + extra >= lines.len()
            || lines[index..=index + extra]
                .iter()
                .any(|l| l.trim().is_empty())
        {
            return false;
        }
        let joined = lines[index..=index + extra].join(" ");
        // A wrapped attribution must start like one, not in the text before it.
        attribution_start(lines[index])
            && (ATTRIBUTION.is_match(&joined) || loose_attribution(&joined))
    })
}

/// Where the history starts, if anywhere. `quote_to_end[i]`: whether every line from `i` on is
/// blank or quoted.
fn cut_at(lines: &[&str], quote_to_end: &[bool]) -> Option<usize> {
    for index in 0..lines.len() {
        let line = lines[index];
        let trimmed = line.trim();
        if trimmed == "--" || line == "-- " {
            return Some(index);
        }
        if SEPARATOR.is_match(line)
            || MOBILE_SIGNATURE.is_match(line)
            || attribution_at(lines, index)
            || header_block_at(lines, index)
        {
            return Some(index);
        }
        if index > 0 && is_quoted(line) {
            let unquoted = line.trim_start().trim_start_matches(['>', ' ']);
            if ATTRIBUTION.is_match(unquoted) {
                return Some(index);
            }
        }
        // A quote that runs to the end of the mail (text after it is an inline answer).
        if index > 0 && is_quoted(line) && quote_to_end[index] {
            return Some(index);
        }
    }
    None
}

/// Where the history block that starts a mail ends: the attribution or header block runs to
/// the first blank or quoted line, then come the blank and quoted lines.
fn history_end(lines: &[&str], cut: usize) -> usize {
    let mut after = cut + 1;
    while after < lines.len() && !lines[after].trim().is_empty() && !is_quoted(lines[after]) {
        after += 1;
    }
    while after < lines.len() && (lines[after].trim().is_empty() || is_quoted(lines[after])) {
        after += 1;
    }
    after
}

/// Splits `body` (plain text) into the new text and the quoted history.
pub fn split_reply(body: &str) -> ReplySplit {
    let normalised = body.replace("\r\n", "\n").replace('\r', "\n");
    let all: Vec<&str> = normalised.lines().collect();
    // Worked out once from the end: asking it at every quoted line made a long quote with a
    // line of text after it quadratic (minutes for 60,000 lines).
    let mut quote_to_end = vec![true; all.len() + 1];
    for index in (0..all.len()).rev() {
        quote_to_end[index] =
            quote_to_end[index + 1] && (all[index].trim().is_empty() || is_quoted(all[index]));
    }
    // A mail that starts with the history (a forward, or a reply written below the quote):
    // the history is set aside and what follows it is split again. In a loop, not by
    // recursion: thousands of `--` lines, each after a blank line, nested that deep, copied
    // the rest of the mail at every level and overflowed the stack.
    let mut history = Vec::new();
    let mut from = 0;
    loop {
        let lines = &all[from..];
        if from > 0 && lines.iter().all(|l| l.trim().is_empty()) {
            return ReplySplit {
                new_text: String::new(),
                quoted: history.join("\n\n"),
            };
        }
        let cut = cut_at(lines, &quote_to_end[from..]).unwrap_or(lines.len());
        let first_text = lines.iter().position(|l| !l.trim().is_empty());
        if first_text == Some(cut) {
            let after = history_end(lines, cut);
            history.push(lines[cut..after].join("\n").trim().to_owned());
            from += after;
            continue;
        }
        let mut end = cut;
        // Blank lines and delimiter rules ("____", "-----") that led into the history go with it.
        while end > 0 && (lines[end - 1].trim().is_empty() || is_delimiter_only(lines[end - 1])) {
            end -= 1;
        }
        let mut start = 0;
        while start < end && lines[start].trim().is_empty() {
            start += 1;
        }
        let quoted = lines[end..].join("\n").trim().to_owned();
        if !quoted.is_empty() {
            history.push(quoted);
        }
        return ReplySplit {
            new_text: lines[start..end]
                .iter()
                .map(|l| l.trim_end())
                .collect::<Vec<_>>()
                .join("\n"),
            quoted: history.join("\n\n"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_clients_are_split_at_their_attributions_and_header_blocks() {
        let gmail = "Gracias, ya lo revisé.\n\nEl lun, 3 mar 2025 a las 10:00, Ventanilla (<no-responder@ventanilla.example.gob.ec>) escribió:\n> Recibimos su solicitud.\n";
        assert_eq!(split_reply(gmail).new_text, "Gracias, ya lo revisé.");
        let outlook = "Adjunto el documento.\r\n\r\n________________________________\r\nDe: Ventanilla <no-responder@x.gob.ec>\r\nEnviado: lunes, 3 de marzo de 2025 10:00\r\nPara: Ana <ana@example.com>\r\nAsunto: [MDT-QUE-2025-00001] Recibimos su solicitud\r\n\r\nEstimada Ana:\r\n";
        let split = split_reply(outlook);
        assert_eq!(split.new_text, "Adjunto el documento.");
        assert!(
            split
                .quoted
                .starts_with("________________________________\nDe: Ventanilla")
        );
        let original = "Sí.\n\n-----Mensaje original-----\nDe: x\n";
        assert_eq!(split_reply(original).new_text, "Sí.");
    }

    #[test]
    fn english_attributions_may_wrap() {
        let wrapped = "Thanks!\n\nOn Mon, Mar 3, 2025 at 10:00 AM Ventanilla <no-responder@x.gob.ec>\nwrote:\n\n> We received it.\n";
        assert_eq!(split_reply(wrapped).new_text, "Thanks!");
    }

    #[test]
    fn text_right_above_an_attribution_stays() {
        let apple = "Hello\n> On 22 Aug 2015, at 19:21, Adam <a@b.com> wrote:\n>\n> Hi there!\n";
        assert_eq!(split_reply(apple).new_text, "Hello");
        let android =
            "Hello\n02.04.2012 14:20 пользователь \"bob@x.org\" <\nbob@x.org> написал:\n\n> Hi\n";
        assert_eq!(split_reply(android).new_text, "Hello");
    }

    #[test]
    fn inline_answers_and_plain_text_stay_whole() {
        let inline = "> ¿Cuál es su número de cédula?\n\nEs 1710034065.\n";
        assert_eq!(split_reply(inline).new_text, inline.trim());
        let plain = "Buenos días,\nquisiera saber el estado de mi trámite.";
        assert_eq!(split_reply(plain).new_text, plain);
        assert_eq!(split_reply("").new_text, "");
    }

    #[test]
    fn phone_signatures_and_signature_delimiters_are_cut() {
        let phone = "Listo, enviado.\n\nEnviado desde mi iPhone\n";
        assert_eq!(split_reply(phone).new_text, "Listo, enviado.");
        let usenet = "Saludos cordiales.\n-- \nAna Pérez\nAnalista\n";
        assert_eq!(split_reply(usenet).new_text, "Saludos cordiales.");
    }

    #[test]
    fn long_bodies_split_in_linear_time_without_deep_recursion() {
        // Each `--` after a blank line starts the history again: it used to recurse (and
        // overflow the stack) once per line.
        let delimiters = "--\n\n".repeat(60_000);
        assert_eq!(split_reply(&delimiters).new_text, "");
        // A long quote and then a line of text: inline answers, kept whole.
        let quote = format!("{}Sí.\n", "> ¿Y?\n".repeat(60_000));
        assert_eq!(split_reply(&quote).new_text, quote.trim());
        // Long non-ASCII lines go through every pattern.
        let long = format!(
            "{}\n\nEl lun, 3 mar 2025, Ana <a@b.ec> escribió:\n> x\n",
            "é".repeat(100_000)
        );
        assert_eq!(split_reply(&long).new_text, "é".repeat(100_000));
    }

    #[test]
    fn a_mail_that_starts_with_history_twice_keeps_both_quotes() {
        let text = "-----Mensaje original-----\nDe: x\n\n> uno\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> dos\n\nHola.\n";
        let split = split_reply(text);
        assert_eq!(split.new_text, "Hola.");
        assert_eq!(
            split.quoted,
            "-----Mensaje original-----\nDe: x\n\n> uno\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> dos"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::split_reply;

    proptest! {
        #[test]
        fn splitting_never_panics_and_never_invents_text(text in "(\\PC{0,60}\n){0,12}") {
            let split = split_reply(&text);
            for line in split.new_text.lines() {
                prop_assert!(text.contains(line.trim_end()));
            }
        }
    }
}
