//! What a legal deadline costs to compute (issue 21's budget: under 5 µs): building the
//! national calendar of the years a term can reach, counting a 30-business-day term
//! (COA art. 207) across Carnival and Good Friday on it, and both together as a ticket's
//! opening does (`rules::deadline::due_date`), on the national calendar and with an agency's
//! own days (two local holidays, a decreed bridge and its make-up Saturday).
//!
//!   cargo bench -p ventanilla-bench --bench calendar

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use ventanilla_domain::Timestamp;
use ventanilla_domain::model::term::{DayKind, Term};
use ventanilla_domain::rules::calendar::{Calendar, CalendarChanges};
use ventanilla_domain::rules::deadline::due_date;

fn calendar(c: &mut Criterion) {
    let received = NaiveDate::from_ymd_opt(2027, 2, 5).unwrap_or_default();
    c.bench_function("calendar/national_two_years", |b| {
        b.iter(|| Calendar::national(black_box(2027), black_box(2028)));
    });
    let national = Calendar::national(2027, 2028);
    c.bench_function("calendar/term_30_business_days", |b| {
        b.iter(|| national.term_ends(black_box(received), black_box(30)));
    });
    let term = Term {
        days: 30,
        kind: DayKind::Business,
        basis: "COA, art. 207".into(),
        extension: None,
        warnings: Default::default(),
        calendar: Default::default(),
    };
    let opened = Timestamp::parse("2027-02-05T15:00:00Z").unwrap_or_else(|| unreachable!());
    c.bench_function("deadline/due_date_30_business_days", |b| {
        b.iter(|| due_date(black_box(&term), black_box(opened)));
    });
    let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap_or_default();
    let own = Term {
        calendar: CalendarChanges {
            days_off: [day(2, 12), day(3, 19), day(7, 24)].into(),
            working_days: [day(2, 20)].into(),
        },
        ..term
    };
    c.bench_function("deadline/due_date_30_business_days_agency_days", |b| {
        b.iter(|| due_date(black_box(&own), black_box(opened)));
    });
}

criterion_group!(benches, calendar);
criterion_main!(benches);
