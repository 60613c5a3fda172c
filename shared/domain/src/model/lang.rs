//! The two languages Ventanilla speaks: Spanish first, English second.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    /// Picks the language from an explicit choice (`?lang=en`) or else from an
    /// `Accept-Language` header, honouring q-values; Spanish when nothing matches.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = explicit.and_then(Lang::from_tag) {
            return lang;
        }
        let Some(header) = accept_language else {
            return Lang::Es;
        };
        let mut best: Option<(f32, Lang)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Es, |(_, lang)| lang)
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choice_wins_over_the_header() {
        assert_eq!(Lang::negotiate(Some("en"), Some("es-EC")), Lang::En);
        assert_eq!(Lang::negotiate(Some("es"), Some("en-US")), Lang::Es);
    }

    #[test]
    fn header_is_read_by_quality() {
        assert_eq!(Lang::negotiate(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("fr, en;q=0.5, es;q=0.8")),
            Lang::Es
        );
        assert_eq!(Lang::negotiate(None, Some("de-DE")), Lang::Es);
        assert_eq!(Lang::negotiate(None, Some("en;q=0")), Lang::Es);
        assert_eq!(Lang::negotiate(Some("xx"), None), Lang::Es);
    }
}
