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

/// What starts the history at a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// A signature, a separator, a header block or a phone line: everything after it is
    /// history (unless nothing of the sender's came before it: a forward).
    Rest,
    /// "On … wrote:" (possibly wrapped): the history is its quote, and the sender may write
    /// again below it.
    Attribution,
    /// "> On … wrote:", inside the quote itself.
    QuotedAttribution,
    /// A `>` block that runs to the end of the mail.
    QuoteToEnd,
}

/// A line of a `>` quote, or a line the quoting client wrapped out of it: unmarked, right
/// between a long quoted line and another quoted line, and going on with its sentence in
/// lower case ("> … Nullam pharetra d\nignissim odio?\n>"). An answer typed there starts
/// as a sentence does ("Sí, ciérrenlo") and stays the sender's.
fn in_quote(lines: &[&str], index: usize) -> bool {
    let line = lines[index];
    is_quoted(line)
        || (index > 0
            && index + 1 < lines.len()
            && line
                .trim_start()
                .chars()
                .next()
                .is_some_and(char::is_lowercase)
            && is_quoted(lines[index - 1])
            && lines[index - 1].chars().count() >= 60
            && is_quoted(lines[index + 1]))
}

/// The first line of a confidentiality notice that mail servers add below everything.
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?xi)^\s*[*_]*\s*(
            aviso\ (legal|de\ confidencialidad|de\ privacidad)(\W|$)
          | confidencialidad\s*:
          | confidentiality(\ notice)?\s*:
          | disclaimer\s*:
          | (este|el\ presente)\ (mensaje|correo)(\ electr[oó]nico)?(\ y\ sus\ (anexos|adjuntos))?\ (es|son|puede\ contener|contiene)\ (confidencial|informaci[oó]n\ confidencial|para\ uso\ exclusivo|de\ uso\ exclusivo)
          | this\ (e-?mail|message)(\ and\ any\ attachments)?\ (is|are|may\ contain|contains)\ (confidential|intended\ (solely|only))
        )",
    )
});

/// Where the history starts, if anywhere, and how. `quote_to_end[i]`: whether every line
/// from `i` on is blank or quoted. `after_quote`: the lines follow a quote the sender wrote
/// below, where a rule ("____", "-----") starts a signature or a list's footer.
fn cut_at(lines: &[&str], quote_to_end: &[bool], after_quote: bool) -> Option<(usize, Cut)> {
    for index in 0..lines.len() {
        let line = lines[index];
        let trimmed = line.trim();
        if trimmed == "--" || line == "-- " {
            return Some((index, Cut::Rest));
        }
        if SEPARATOR.is_match(line)
            || MOBILE_SIGNATURE.is_match(line)
            || (after_quote && is_delimiter_only(line) && trimmed.chars().count() >= 2)
            || (after_quote && FOOTER.is_match(line))
        {
            return Some((index, Cut::Rest));
        }
        if attribution_at(lines, index) {
            return Some((index, Cut::Attribution));
        }
        if header_block_at(lines, index) {
            return Some((index, Cut::Rest));
        }
        if index > 0 && is_quoted(line) {
            let unquoted = line.trim_start().trim_start_matches(['>', ' ']);
            if ATTRIBUTION.is_match(unquoted) {
                return Some((index, Cut::QuotedAttribution));
            }
        }
        // A quote that runs to the end of the mail (text after it is an inline answer).
        if index > 0 && is_quoted(line) && quote_to_end[index] {
            return Some((index, Cut::QuoteToEnd));
        }
    }
    None
}

/// The first blank or quoted line after `cut`: where an attribution's own lines end.
fn own_lines_end(lines: &[&str], cut: usize) -> usize {
    let mut after = cut + 1;
    while after < lines.len() && !lines[after].trim().is_empty() && !is_quoted(lines[after]) {
        after += 1;
    }
    after
}

/// The first line from `from` on that is neither blank nor in a quote.
fn quote_end(lines: &[&str], from: usize) -> usize {
    let mut after = from;
    while after < lines.len() && (lines[after].trim().is_empty() || in_quote(lines, after)) {
        after += 1;
    }
    after
}

/// A run of lines of the mail, and whether the sender wrote it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The sender's own text.
    Text,
    /// A `>` quote: in an inline answer, the question it answers.
    Quote,
    /// Attribution lines, headers, signatures, footers, forwarded mail.
    History,
}

/// Splits `body` (plain text) into the new text and the quoted history.
///
/// Every block the sender wrote is kept, in order. In a reply that answers inline (its own
/// text in two or more blocks with quotes between), each quote stays above the answer
/// below it, as discourse's annotated corpus has it; the attribution lines and the quotes
/// after the last answer go to the history. A reply written once, above or below a quote,
/// keeps only its text. After a signature, a separator or an Outlook header block the rest
/// is history: the original below them is not marked, and the split cannot tell an answer
/// typed into it from the original (the raw mail keeps it all).
pub fn split_reply(body: &str) -> ReplySplit {
    let normalised = body.replace("\r\n", "\n").replace('\r', "\n");
    let all: Vec<&str> = normalised.lines().collect();
    // Worked out once from the end: asking it at every quoted line made a long quote with a
    // line of text after it quadratic (minutes for 60,000 lines).
    let mut quote_to_end = vec![true; all.len() + 1];
    for index in (0..all.len()).rev() {
        quote_to_end[index] =
            quote_to_end[index + 1] && (all[index].trim().is_empty() || in_quote(&all, index));
    }
    // The mail as runs of lines `(start, end, part)`, found in a loop rather than by
    // recursion: thousands of `--` lines, each after a blank line, nested that deep, copied
    // the rest of the mail at every level and overflowed the stack.
    let mut parts: Vec<(usize, usize, Part)> = Vec::new();
    let mut from = 0;
    let mut wrote = false;
    while from < all.len() {
        let lines = &all[from..];
        let after_quote = parts
            .last()
            .is_some_and(|&(_, _, part)| part == Part::Quote);
        let Some((cut, kind)) = cut_at(lines, &quote_to_end[from..], after_quote) else {
            parts.push((from, all.len(), Part::Text));
            break;
        };
        // Blank lines, rules ("____", "-----") and a quote that led into the history go
        // with it.
        let mut begin = cut;
        while begin > 0 && {
            let line = lines[begin - 1];
            line.trim().is_empty() || is_delimiter_only(line) || is_quoted(line)
        } {
            begin -= 1;
        }
        if lines[..begin].iter().any(|l| !l.trim().is_empty()) {
            parts.push((from, from + begin, Part::Text));
            wrote = true;
        }
        if lines[begin..cut].iter().any(|l| is_quoted(l)) {
            parts.push((from + begin, from + cut, Part::Quote));
            begin = cut;
        }
        let (own_end, next) = match kind {
            Cut::QuotedAttribution => (cut + 1, quote_end(lines, cut + 1)),
            Cut::Attribution => {
                let own = own_lines_end(lines, cut);
                let first = lines[own..].iter().position(|l| !l.trim().is_empty());
                let quoted = first.is_some_and(|i| is_quoted(lines[own + i]));
                if quoted || !wrote {
                    // Above a `>` quote; or at the start of the mail, above unmarked text
                    // (Gmail's bottom-posting): the text below the quote is the sender's.
                    (own, quote_end(lines, own))
                } else {
                    // Below the sender's text, over an unmarked original.
                    (lines.len(), lines.len())
                }
            }
            Cut::QuoteToEnd => (cut, lines.len()),
            Cut::Rest if !wrote => {
                // A forward: its header runs to a blank line, then its quote.
                let end = quote_end(lines, own_lines_end(lines, cut));
                (end, end)
            }
            Cut::Rest => (lines.len(), lines.len()),
        };
        if own_end > begin {
            parts.push((from + begin, from + own_end, Part::History));
        }
        if next > own_end {
            parts.push((from + own_end, from + next, Part::Quote));
        }
        from += next.max(cut + 1);
    }
    // Quotes stay with the text only in an inline answer, and only above an answer.
    let texts = parts.iter().filter(|&&(_, _, p)| p == Part::Text).count();
    let quotes_inside = parts
        .iter()
        .any(|&(start, end, p)| p == Part::Text && all[start..end].iter().any(|l| is_quoted(l)));
    let inline_answer = texts >= 2 || quotes_inside;
    let last_text = parts.iter().rposition(|&(_, _, p)| p == Part::Text);
    let kept = |index: usize, part: Part| match part {
        Part::Text => true,
        Part::Quote => inline_answer && last_text.is_some_and(|last| index < last),
        Part::History => false,
    };
    let mut new_text: Vec<(usize, usize)> = Vec::new();
    let mut quoted: Vec<(usize, usize)> = Vec::new();
    for (index, &(start, end, part)) in parts.iter().enumerate() {
        let runs = if kept(index, part) {
            &mut new_text
        } else {
            &mut quoted
        };
        // Runs that touch in the mail read as one.
        match runs.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => runs.push((start, end)),
        }
    }
    let text_of = |runs: &[(usize, usize)]| {
        runs.iter()
            .map(|&(start, end)| {
                let lines: Vec<&str> = all[start..end].iter().map(|l| l.trim_end()).collect();
                lines.join("\n").trim_matches('\n').to_owned()
            })
            .filter(|text| !text.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    ReplySplit {
        new_text: text_of(&new_text),
        quoted: text_of(&quoted).trim().to_owned(),
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
    fn inline_answers_keep_every_answer_with_its_question() {
        // Apple Mail: the citizen answers under each question, then signs off.
        let apple = "Buenos días:\n\nEl 3 mar 2025, a las 10:00, Ventanilla <soporte@x.gob.ec> escribió:\n\n> ¿Cuál es su número de cédula?\n\n1710034065\n\n> ¿En qué fecha hizo el trámite?\n\nEl 28 de febrero.\n\n> Saludos cordiales,\n> Mesa de ayuda\n\nEnviado desde mi iPhone\n";
        let split = split_reply(apple);
        assert_eq!(
            split.new_text,
            "Buenos días:\n\n> ¿Cuál es su número de cédula?\n\n1710034065\n\n> ¿En qué fecha hizo el trámite?\n\nEl 28 de febrero."
        );
        assert!(split.quoted.starts_with("El 3 mar 2025, a las 10:00"));
        assert!(split.quoted.contains("> Mesa de ayuda"));
        assert!(split.quoted.ends_with("Enviado desde mi iPhone"));
        // Below the quote only: the quote is history.
        let bottom = "El 3 mar 2025, Ana <a@b.ec> escribió:\n> ¿Y?\n\nSí, ya lo envié.\n";
        let split = split_reply(bottom);
        assert_eq!(split.new_text, "Sí, ya lo envié.");
        assert_eq!(split.quoted, "El 3 mar 2025, Ana <a@b.ec> escribió:\n> ¿Y?");
    }

    #[test]
    fn an_answer_under_a_long_question_and_a_reply_above_a_disclaimer_read_right() {
        // Typed right under a long quoted question, with no blank line: the citizen's.
        let answer = "Hola\n\n> ¿Desea que cerremos el ticket o prefiere que lo mantengamos abierto por ahora?\nSí, ciérrenlo\n> Atentamente,\n> Mesa\n";
        assert!(split_reply(answer).new_text.contains("Sí, ciérrenlo"));
        // A confidentiality notice below a top-posted reply's quote is not an inline answer.
        let notice = "Gracias.\n\nEl lun, 3 mar 2025, Ventanilla <s@x.gob.ec> escribió:\n> texto\n> Saludos\n\nAVISO DE CONFIDENCIALIDAD: este mensaje es para su destinatario.\n";
        let split = split_reply(notice);
        assert_eq!(split.new_text, "Gracias.");
        assert!(split.quoted.ends_with("para su destinatario."));
        let notice = "Listo.\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> x\n\nEste mensaje es confidencial y para uso de su destinatario.\n";
        assert_eq!(split_reply(notice).new_text, "Listo.");
        // A citizen who starts a paragraph as a notice does is still read.
        let words = "El 3 mar 2025, Ana <a@b.ec> escribió:\n> ¿Puede ampliar?\n\nEste correo es para ampliar mi denuncia.\n\nSaludos\nRosa\n";
        assert!(
            split_reply(words)
                .new_text
                .starts_with("Este correo es para ampliar mi denuncia.")
        );
    }

    #[test]
    fn what_follows_a_quote_is_the_senders_unless_it_is_a_footer() {
        // A list's footer under a rule below the quote is not an answer.
        let footer =
            "Gracias.\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> hola\n\n__\nlista@x.org\n";
        assert_eq!(split_reply(footer).new_text, "Gracias.");
        // A client that wraps a long quoted line leaves its tail unmarked: still quote.
        let wrapped = format!(
            "Listo.\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> {}\ncola del párrafo\n>\n",
            "palabra ".repeat(10)
        );
        assert_eq!(split_reply(&wrapped).new_text, "Listo.");
        // Text after a quote that ends an attribution is kept, never dropped.
        let below = "Hola.\n\nOn Mon, 3 Mar 2025, Ana <a@b.ec> wrote:\n> ¿Y?\n\nOtra cosa más.\n";
        assert_eq!(
            split_reply(below).new_text,
            "Hola.\n\n> ¿Y?\n\nOtra cosa más."
        );
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

        #[test]
        fn every_line_is_either_new_text_or_history(
            blocks in proptest::collection::vec(
                prop_oneof![
                    "[a-zñ ]{1,30}",
                    "> [a-zñ ]{0,30}",
                    Just("El lun, 3 mar 2025, Ana <a@b.ec> escribió:".to_owned()),
                    Just("-- ".to_owned()),
                    Just(String::new()),
                ],
                0..20,
            )
        ) {
            let text = blocks.join("\n");
            let split = split_reply(&text);
            // Kept word for word; the white space around a line is the layout's.
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let line = line.trim();
                prop_assert!(
                    split.new_text.lines().any(|l| l.trim() == line)
                        || split.quoted.lines().any(|l| l.trim() == line),
                    "{line:?} lost from {text:?}: {split:?}"
                );
            }
        }
    }
}
