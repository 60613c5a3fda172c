//! The public statistics (`/estadisticas`, `/api/v1/stats`): per agency and month, requests
//! received and answered, the share answered within the legal term, the median days an
//! answer took, and what was asked by category. From the figures only (`rules::stats`),
//! never from tickets; no personal data, and a count under [`SMALLEST_SHOWN`] is shown as
//! "fewer than 5", with no share or median drawn from it.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use ventanilla_domain::ports::{AgencyDirectory, StatsStore};
use ventanilla_domain::rules::deadline::day_in_ecuador;
use ventanilla_domain::rules::stats::{Bucket, Counts, counter, days_quantile, sum};
use ventanilla_domain::{AgencyCode, Category, Choice, FieldError, FieldProblem};

use crate::{AppError, Site};

/// The first year there can be figures for.
pub const FIRST_YEAR: i32 = 2024;
/// Counts from 1 to one less than this are not shown.
pub const SMALLEST_SHOWN: i64 = 5;

/// A count as published: exact, "fewer than 5", or hidden so that a total does not give a
/// small count away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Shown {
    Exact(i64),
    #[serde(serialize_with = "fewer")]
    Fewer,
    #[serde(serialize_with = "hidden")]
    Hidden,
}

fn fewer<S: serde::Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("<5")
}

fn hidden<S: serde::Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("*")
}

impl Shown {
    pub fn of(n: i64) -> Shown {
        if n > 0 && n < SMALLEST_SHOWN {
            Shown::Fewer
        } else {
            Shown::Exact(n.max(0))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    pub received: Shown,
    pub answered: Shown,
    /// Of the answers with a legal term, the share (0 to 1) within it; `None` under 5.
    pub on_time_share: Option<f64>,
    /// Business days an answer took, the median; `None` under 5 answers.
    pub median_days: Option<u32>,
    /// Received, by category (wire name), the categories received at all.
    pub by_category: Vec<(&'static str, Shown)>,
    /// Ratings citizens gave in the month (`model::rating`).
    pub rated: Shown,
    /// Their mean, from 1 to 5; `None` under 5 ratings.
    pub rating_average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyFigures {
    pub agency: AgencyCode,
    pub name: String,
    pub months: Vec<MonthFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicStats {
    pub year: i32,
    pub agencies: Vec<AgencyFigures>,
}

/// The year asked for (`None`: this one), between [`FIRST_YEAR`] and this one.
pub fn year(raw: Option<&str>, today: NaiveDate) -> Result<i32, AppError> {
    let bad = || AppError::invalid(FieldError::new("year", FieldProblem::InvalidFormat));
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(today.year()),
        Some(text) => {
            let year: i32 = text.parse().map_err(|_| bad())?;
            if (FIRST_YEAR..=today.year()).contains(&year) {
                Ok(year)
            } else {
                Err(bad())
            }
        }
    }
}

fn month_figures(month: NaiveDate, counts: &Counts) -> MonthFigures {
    let get = |name: &str| counts.get(name).copied().unwrap_or(0);
    let answered = get(counter::FINISHED);
    let (on_time, late) = (get(counter::FINISHED_ON_TIME), get(counter::FINISHED_LATE));
    // A share of 5/6 would tell one late answer: shown only when neither part is a small
    // count.
    let small = |n: i64| n > 0 && n < SMALLEST_SHOWN;
    #[allow(clippy::cast_precision_loss)]
    let on_time_share = (on_time + late >= SMALLEST_SHOWN && !small(on_time) && !small(late))
        .then(|| on_time as f64 / (on_time + late) as f64);
    let median_days = if answered >= SMALLEST_SHOWN {
        days_quantile(counts, "resolution_days", 0.5)
    } else {
        None
    };
    let counted: Vec<(&'static str, i64)> = Category::ALL
        .iter()
        .map(|c| (c.wire(), get(&counter::category(*c))))
        .filter(|(_, n)| *n > 0)
        .collect();
    let mut received = Shown::of(get(counter::OPENED));
    // The categories add up to what was received: beside exact cells, a small one would be
    // the difference, and "<5" beside "5 or more" bounds narrow it. So a row with a small
    // cell hides all of them alike, and its total too when it would say each is 1.
    let small = counted.iter().any(|(_, n)| *n < SMALLEST_SHOWN);
    let by_category: Vec<(&'static str, Shown)> = if small && counted.len() > 1 {
        if get(counter::OPENED) <= i64::try_from(counted.len()).unwrap_or(i64::MAX) {
            received = Shown::Hidden;
        }
        counted.iter().map(|(c, _)| (*c, Shown::Hidden)).collect()
    } else {
        counted.iter().map(|(c, n)| (*c, Shown::of(*n))).collect()
    };
    let (rated, rating_average) = ratings(counts);
    MonthFigures {
        month: month.format("%Y-%m").to_string(),
        received,
        answered: Shown::of(answered),
        on_time_share,
        median_days,
        by_category,
        rated: Shown::of(rated),
        rating_average: (rated >= SMALLEST_SHOWN)
            .then_some(rating_average)
            .flatten(),
    }
}

/// How many ratings `counts` hold, and their mean (`None` without any).
pub fn ratings(counts: &Counts) -> (i64, Option<f64>) {
    let (mut count, mut points) = (0_i64, 0_i64);
    for score in ventanilla_domain::model::rating::SCORES {
        let n = counts.get(&counter::rating(score)).copied().unwrap_or(0);
        count += n;
        points += n * i64::from(score);
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = (count > 0).then(|| points as f64 / count as f64);
    (count, mean)
}

/// Every agency's figures of `year`, month by month up to this one.
pub async fn public_stats(
    store: &(impl StatsStore + AgencyDirectory),
    site: &Site,
    year: i32,
) -> Result<PublicStats, AppError> {
    let site = site.current(store).await?;
    let today = day_in_ecuador(site.clock.now());
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let last = NaiveDate::from_ymd_opt(year, 12, 31)
        .unwrap_or(today)
        .min(today);
    let mut agencies = Vec::new();
    for agency in &site.settings.agencies {
        let (tally, _) = store.stats(&agency.code, first, last).await?;
        let mut months = Vec::new();
        let mut month = first;
        while month <= last {
            let counts = sum(tally.items().filter_map(|(key, counts)| match key.bucket {
                Bucket::Day(day) if day.year() == month.year() && day.month() == month.month() => {
                    Some(counts)
                }
                _ => None,
            }));
            months.push(month_figures(month, &counts));
            month = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(last + chrono::Duration::days(1));
        }
        agencies.push(AgencyFigures {
            agency: agency.code.clone(),
            name: agency.name.clone(),
            months,
        });
    }
    Ok(PublicStats { year, agencies })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> Counts {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn a_small_count_cannot_be_worked_out_from_the_total() {
        let month = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let figures = month_figures(
            month,
            &counts(&[
                (counter::OPENED, 18),
                (&counter::category(Category::Queja), 7),
                (&counter::category(Category::Requerimiento), 2),
                (&counter::category(Category::Denuncia), 9),
            ]),
        );
        assert_eq!(figures.received, Shown::Exact(18));
        assert_eq!(
            serde_json::to_value(&figures.by_category).unwrap(),
            serde_json::json!([["requerimiento", "*"], ["queja", "*"], ["denuncia", "*"]])
        );
        // A row of large cells is shown as it is.
        let large = month_figures(
            month,
            &counts(&[
                (counter::OPENED, 12),
                (&counter::category(Category::Queja), 7),
                (&counter::category(Category::Denuncia), 5),
            ]),
        );
        assert_eq!(
            large.by_category,
            vec![("queja", Shown::Exact(7)), ("denuncia", Shown::Exact(5))]
        );
        // Five categories of one each: the total would say so.
        let ones: Vec<(String, i64)> = Category::ALL[..5]
            .iter()
            .map(|c| (counter::category(*c), 1))
            .chain([(counter::OPENED.to_owned(), 5)])
            .collect();
        let ones = month_figures(month, &ones.into_iter().collect());
        assert_eq!(ones.received, Shown::Hidden);
        assert!(ones.by_category.iter().all(|(_, s)| *s == Shown::Hidden));
    }

    #[test]
    fn a_share_is_not_shown_when_either_part_is_small() {
        let month = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let share = |on_time: i64, late: i64| {
            month_figures(
                month,
                &counts(&[
                    (counter::FINISHED, on_time + late),
                    (counter::FINISHED_ON_TIME, on_time),
                    (counter::FINISHED_LATE, late),
                ]),
            )
            .on_time_share
        };
        assert_eq!(share(5, 1), None, "5/6 would tell one late answer");
        assert_eq!(share(5, 0), Some(1.0));
        assert_eq!(share(6, 6), Some(0.5));
        assert_eq!(share(3, 0), None);
    }

    #[test]
    fn ratings_show_their_mean_from_five() {
        let month = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let rated = |pairs: &[(u8, i64)]| {
            let named: Vec<(String, i64)> = pairs
                .iter()
                .map(|(score, n)| (counter::rating(*score), *n))
                .collect();
            let figures = month_figures(month, &named.into_iter().collect());
            (figures.rated, figures.rating_average)
        };
        assert_eq!(rated(&[(5, 2), (1, 2)]), (Shown::Fewer, None));
        assert_eq!(
            rated(&[(5, 2), (4, 2), (3, 1)]),
            (Shown::Exact(5), Some(4.2))
        );
        assert_eq!(rated(&[]), (Shown::Exact(0), None));
    }
}
