//! Who really sent a mail, from SES's verdicts, never from the `From` header alone: the
//! content scans and the sender checks of SES's receipt, and what they mean for the desk.

use crate::Email;

/// The status of one of SES's checks in a receipt (`PASS`, `FAIL`, `GRAY`,
/// `PROCESSING_FAILED`; `Absent` when the receipt has none, e.g. scanning disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Check {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    #[default]
    Absent,
}

impl Check {
    pub fn parse(status: Option<&str>) -> Self {
        match status.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
            Some("PASS") => Check::Pass,
            Some("FAIL") => Check::Fail,
            Some("GRAY") => Check::Gray,
            Some("PROCESSING_FAILED") => Check::ProcessingFailed,
            _ => Check::Absent,
        }
    }
}

/// What SES's receipt says about a mail: the content scans and the sender checks, with the
/// domains the SPF and DKIM passes were for (the envelope sender's, and the `d=` of each
/// signature SES verified, from its own `Authentication-Results`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub spam: Check,
    pub virus: Check,
    pub spf: Check,
    pub dkim: Check,
    pub dmarc: Check,
    pub envelope_sender: Option<String>,
    pub dkim_domains: Vec<String>,
}

/// What a receipt means for the mail desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// SES found a virus: never stored as a message.
    pub virus: bool,
    /// Not clean (spam FAIL or GRAY, a scan that failed or did not run): it waits in the
    /// review queue, unacknowledged.
    pub review: bool,
    /// The `From` domain is authenticated: the mail may join its sender's ticket.
    pub sender_authenticated: bool,
}

impl Judgement {
    /// A mail nobody vouched for or against: clean, and the sender taken at their word or
    /// not, as the setting says (the local SMTP listener, a development path).
    pub fn unchecked(sender_authenticated: bool) -> Self {
        Judgement {
            virus: false,
            review: false,
            sender_authenticated,
        }
    }
}

/// Whether two domains are aligned in DMARC's relaxed sense: the same organisational domain
/// (the registrable domain under the public suffix list), so that `bounce.gob.ec`-style
/// suffixes shared by strangers never count.
fn aligned(from_domain: &str, other: &str) -> bool {
    let organisation = |domain: &str| {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        psl::domain_str(&domain).map(str::to_owned)
    };
    matches!((organisation(from_domain), organisation(other)), (Some(a), Some(b)) if a == b)
}

impl Receipt {
    /// The rule of issue 18: a `From` domain is authenticated by DMARC `PASS`; where the
    /// domain publishes no DMARC (`GRAY`), by an SPF or DKIM pass for a domain aligned with
    /// it. A DMARC `FAIL` or a check that failed to run authenticates nothing.
    pub fn sender_authenticated(&self, from: Option<&Email>) -> bool {
        let Some(from_domain) = from
            .and_then(|f| f.as_str().rsplit_once('@'))
            .map(|(_, d)| d)
        else {
            return false;
        };
        match self.dmarc {
            Check::Pass => true,
            Check::Gray => {
                let spf = self.spf == Check::Pass
                    && self
                        .envelope_sender
                        .as_deref()
                        .and_then(|s| s.rsplit_once('@'))
                        .is_some_and(|(_, domain)| aligned(from_domain, domain));
                let dkim = self.dkim == Check::Pass
                    && self.dkim_domains.iter().any(|d| aligned(from_domain, d));
                spf || dkim
            }
            _ => false,
        }
    }

    pub fn judge(&self, from: Option<&Email>) -> Judgement {
        Judgement {
            virus: self.virus == Check::Fail,
            review: self.spam != Check::Pass || self.virus != Check::Pass,
            sender_authenticated: self.sender_authenticated(from),
        }
    }
}

/// The domains SES's own `Authentication-Results` (the first such header, which SES adds on
/// top; any below it came with the mail and may be forged) reports a DKIM pass for. SES
/// copies the sender's own words into that header (`envelope-from=`, `helo=`), so a header
/// with a quoted string or an escape, or with more than one `dkim=` result (one smuggled in
/// through those words beside SES's real one), vouches for nobody.
pub fn dkim_pass_domains(authentication_results: &str) -> Vec<String> {
    if authentication_results.contains(['"', '\\']) {
        return Vec::new();
    }
    // Comments (SES's "(spfCheck: …)") are no results.
    let mut text = String::with_capacity(authentication_results.len());
    let mut depth = 0_usize;
    for c in authentication_results.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => text.push(c),
            _ => {}
        }
    }
    let results = text
        .split(';')
        .filter(|r| r.trim_start().to_ascii_lowercase().starts_with("dkim="))
        .count();
    if results != 1 {
        return Vec::new();
    }
    let mut parts = text.split(';');
    if !parts
        .next()
        .is_some_and(|id| id.trim().eq_ignore_ascii_case("amazonses.com"))
    {
        return Vec::new();
    }
    parts
        .filter_map(|result| {
            let mut words = result.split_whitespace();
            let method = words.next()?;
            if !method.eq_ignore_ascii_case("dkim=pass") {
                return None;
            }
            words.find_map(|w| {
                let (name, value) = w.split_once('=')?;
                match name.to_ascii_lowercase().as_str() {
                    "header.d" => Some(value.to_owned()),
                    "header.i" => value.rsplit_once('@').map(|(_, d)| d.to_owned()),
                    _ => None,
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_clean_dkim_result_of_ses_vouches_for_a_domain() {
        let ses = "amazonses.com; spf=pass (spfCheck: domain of example.com designates 203.0.113.0 as permitted sender) client-ip=203.0.113.0; envelope-from=prvs=144d0cba42=sender@example.com; helo=smtp.example.com; dkim=pass header.i=@example.com; dmarc=none header.from=example.com;";
        assert_eq!(dkim_pass_domains(ses), ["example.com"]);
        // Words the sender controls (a quoted MAIL FROM) smuggling a second result in.
        let smuggled = "amazonses.com; spf=pass client-ip=203.0.113.9; envelope-from=\"a; dkim=pass header.d=victim.ec ;\"@attacker.example; helo=x; dkim=pass header.i=@attacker.example; dmarc=none header.from=victim.ec;";
        assert!(dkim_pass_domains(smuggled).is_empty());
        let twice = "amazonses.com; helo=a; dkim=pass header.d=victim.ec; dkim=pass header.i=@attacker.example;";
        assert!(dkim_pass_domains(twice).is_empty());
        assert!(dkim_pass_domains("mx.attacker.example; dkim=pass header.d=victim.ec").is_empty());
    }
}
