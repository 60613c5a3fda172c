//! A ticket's life: new → open ⇄ waiting on citizen → resolved → closed, with reopen.

use std::fmt;

use crate::model::field::{Choice, choice};

choice! {
    pub enum Status in "status" {
        /// Opened, nobody has worked on it yet.
        New => ("Nuevo", "New"),
        /// An agent is on it.
        Open => ("En atención", "In progress"),
        /// The agency asked the citizen something and waits for the answer.
        WaitingOnCitizen => ("Esperando su respuesta", "Waiting for your answer"),
        /// The agency considers it answered; the citizen may still follow up.
        Resolved => ("Resuelto", "Resolved"),
        /// Finished; a follow-up reopens it or opens a linked ticket, per the queue's rule.
        Closed => ("Cerrado", "Closed"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a ticket cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Status {
    /// The status as agents call it: the citizen's labels speak to the citizen ("Esperando su
    /// respuesta"), these of the citizen ("Esperando al ciudadano").
    pub fn agent_label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::{En, Es};
        match (self, lang) {
            (Status::New, Es) => "Nuevo",
            (Status::New, En) => "New",
            (Status::Open, Es) => "En atención",
            (Status::Open, En) => "In progress",
            (Status::WaitingOnCitizen, Es) => "Esperando al ciudadano",
            (Status::WaitingOnCitizen, En) => "Waiting on the citizen",
            (Status::Resolved, Es) => "Resuelto",
            (Status::Resolved, En) => "Resolved",
            (Status::Closed, Es) => "Cerrado",
            (Status::Closed, En) => "Closed",
        }
    }

    /// Resolved and closed tickets are finished: a follow-up to them obeys the queue's rule.
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }

    /// The whole state machine. Staying in the same status is not a transition, and nothing
    /// goes back to `New`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (New, Open | WaitingOnCitizen | Resolved | Closed)
                | (Open, WaitingOnCitizen | Resolved | Closed)
                | (WaitingOnCitizen, Open | Resolved | Closed)
                | (Resolved, Open | Closed)
                | (Closed, Open)
        )
    }

    pub fn transition_to(self, to: Status) -> Result<Status, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// A finished ticket goes back to work.
    pub fn reopen(self) -> Result<Status, TransitionError> {
        if self.is_finished() {
            self.transition_to(Status::Open)
        } else {
            Err(TransitionError {
                from: self,
                to: Status::Open,
            })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire())
    }
}

choice! {
    #[derive(PartialOrd, Ord, Default)]
    pub enum Priority in "priority" {
        Low => ("Baja", "Low"),
        #[default]
        Normal => ("Normal", "Normal"),
        High => ("Alta", "High"),
        Urgent => ("Urgente", "Urgent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// Every one of the 25 pairs, spelled out: the table is the specification.
    #[test]
    fn every_transition_is_allowed_or_refused_as_specified() {
        let allowed = [
            (New, Open),
            (New, WaitingOnCitizen),
            (New, Resolved),
            (New, Closed),
            (Open, WaitingOnCitizen),
            (Open, Resolved),
            (Open, Closed),
            (WaitingOnCitizen, Open),
            (WaitingOnCitizen, Resolved),
            (WaitingOnCitizen, Closed),
            (Resolved, Open),
            (Resolved, Closed),
            (Closed, Open),
        ];
        let mut checked = 0;
        for &from in Status::ALL {
            for &to in Status::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
                match from.transition_to(to) {
                    Ok(s) => assert!(expected && s == to),
                    Err(e) => assert!(!expected && e == TransitionError { from, to }),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 25);
    }

    #[test]
    fn only_finished_tickets_reopen() {
        assert_eq!(Resolved.reopen(), Ok(Open));
        assert_eq!(Closed.reopen(), Ok(Open));
        for s in [New, Open, WaitingOnCitizen] {
            assert!(s.reopen().is_err(), "{s}");
        }
    }

    #[test]
    fn nothing_goes_back_to_new_and_closed_only_reopens() {
        assert!(Status::ALL.iter().all(|s| !s.can_become(New)));
        assert_eq!(
            Status::ALL
                .iter()
                .filter(|s| Closed.can_become(**s))
                .collect::<Vec<_>>(),
            vec![&Open]
        );
    }

    #[test]
    fn wire_values_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.wire()).unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.wire())
            );
        }
        for &p in Priority::ALL {
            assert_eq!(Priority::parse(p.wire()).unwrap(), p);
        }
        assert_eq!(Status::parse("pending").unwrap_err().field, "status");
    }
}
