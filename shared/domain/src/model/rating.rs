//! A citizen's rating of how a finished ticket was attended: a score from 1 to 5 and an
//! optional comment, given once per ticket through the link its resolution mail carries.

use serde::{Deserialize, Serialize};

use crate::model::field::clean_text;
use crate::model::time::Timestamp;
use crate::{FieldError, FieldProblem};

/// The lowest and highest score.
pub const SCORES: std::ops::RangeInclusive<u8> = 1..=5;
/// Longest comment kept (characters).
pub const MAX_COMMENT: usize = 1000;
/// Where a rating link points, before its token.
pub const RATING_PATH: &str = "/valorar/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// From 1 (very bad) to 5 (very good).
    pub score: u8,
    /// What the citizen added, if anything: their own words, erased with their data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: Timestamp,
}

impl Rating {
    /// A score as the form sends it (`"1"` to `"5"`, field `score`) and a comment, trimmed
    /// (empty: none), one line or several, at most [`MAX_COMMENT`] characters.
    pub fn parse(score: &str, comment: Option<&str>, at: Timestamp) -> Result<Self, FieldError> {
        let score = score_of(score)?;
        // Browsers send a textarea's line breaks as CRLF, and count them as one character
        // against its `maxlength`: so are they counted here.
        let comment = comment.map(|c| c.replace("\r\n", "\n"));
        let comment = match comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => Some(clean_text("comment", text, 1, MAX_COMMENT, true)?),
        };
        Ok(Rating { score, comment, at })
    }

    /// Words for a score, as the form and the dashboard say them.
    pub fn label(score: u8, lang: crate::Lang) -> &'static str {
        let (es, en) = match score {
            1 => ("Muy mala", "Very bad"),
            2 => ("Mala", "Bad"),
            3 => ("Regular", "Fair"),
            4 => ("Buena", "Good"),
            _ => ("Muy buena", "Very good"),
        };
        match lang {
            crate::Lang::Es => es,
            crate::Lang::En => en,
        }
    }
}

/// `text` with the token of every rating link cut off: a citizen's mail that quotes the
/// finishing mail carries its links, which the agents who read the thread must not be able to
/// use.
pub fn hide_rating_links(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(RATING_PATH) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(RATING_PATH) {
        let (before, after) = rest.split_at(at + RATING_PATH.len());
        out.push_str(before);
        // A token is a number, digits and base64url; a score may follow.
        let end = after
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '?' | '='))
            })
            .unwrap_or(after.len());
        out.push('…');
        rest = &after[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A score from its one spelling, a digit from 1 to 5.
pub fn score_of(text: &str) -> Result<u8, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new("score", FieldProblem::Required));
    }
    match text.parse::<u8>() {
        Ok(score) if SCORES.contains(&score) && text.len() == 1 => Ok(score),
        _ => Err(FieldError::new("score", FieldProblem::UnknownValue)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_one_digit_from_one_to_five_and_a_comment_is_bounded() {
        let at = Timestamp::parse("2025-03-01T10:00:00Z").unwrap();
        let rating = Rating::parse(" 4 ", Some("  Me atendieron bien.\nGracias "), at).unwrap();
        assert_eq!(rating.score, 4);
        assert_eq!(
            rating.comment.as_deref(),
            Some("Me atendieron bien.\nGracias")
        );
        assert_eq!(Rating::parse("5", Some("   "), at).unwrap().comment, None);
        for bad in ["0", "6", "04", "+4", "4.0", "cinco", "255", "-1"] {
            let error = Rating::parse(bad, None, at).unwrap_err();
            assert_eq!(error.field, "score", "{bad}");
        }
        assert_eq!(Rating::parse("", None, at).unwrap_err().field, "score");
        let long = "x".repeat(MAX_COMMENT + 1);
        assert_eq!(
            Rating::parse("3", Some(&long), at).unwrap_err().field,
            "comment"
        );
        assert!(Rating::parse("3", Some("hola\u{1b}[2J"), at).is_err());
        let lines = format!("{}\r\n{}", "a".repeat(499), "b".repeat(500));
        let kept = Rating::parse("3", Some(&lines), at)
            .unwrap()
            .comment
            .unwrap();
        assert_eq!(
            kept.chars().count(),
            MAX_COMMENT,
            "a browser's CRLF is one character"
        );
    }

    #[test]
    fn a_quoted_rating_link_loses_its_token() {
        let quoted = "> 4 - Buena: https://x.gob.ec/valorar/MDT-QUE-2026-00001.1790000000.AbC_d-9?nota=4\n\
                      > Ver /estado/MDT.1.x y /valorar/";
        assert_eq!(
            hide_rating_links(quoted),
            "> 4 - Buena: https://x.gob.ec/valorar/…\n> Ver /estado/MDT.1.x y /valorar/…"
        );
        assert!(matches!(
            hide_rating_links("sin enlaces"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
