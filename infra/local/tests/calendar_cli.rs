//! `ventanilla-local calendar`: the national rest days and a term's last day, from the binary.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn calendar(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
        .arg("calendar")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_rest_days_of_2025_are_the_official_ones() {
    let days: Vec<String> = calendar(&["holidays", "2025"])
        .lines()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        days,
        [
            "2025-01-01",
            "2025-03-03",
            "2025-03-04",
            "2025-04-18",
            "2025-05-02",
            "2025-05-23",
            "2025-08-11",
            "2025-10-10",
            "2025-11-03",
            "2025-11-04",
            "2025-12-25",
        ]
    );
    let text = calendar(&["holidays", "2025"]);
    assert!(
        text.contains("2025-05-23 viernes   Batalla de Pichincha (cae el sábado 2025-05-24)"),
        "{text}"
    );
}

#[test]
fn a_term_ends_on_its_last_business_day() {
    // Received on Friday 5 February 2027, before Carnival (8 and 9 February).
    assert_eq!(
        calendar(&["due", "--from", "2027-02-05", "--days", "1"]),
        "2027-02-10 miércoles\n"
    );
    assert_eq!(
        calendar(&["due", "--from", "2026-03-02", "--days", "30"]),
        "2026-04-14 martes\n"
    );
    // A plazo of 15 calendar days from Thursday 10 December 2026 would end on Christmas: the
    // next business day.
    assert_eq!(
        calendar(&[
            "due",
            "--from",
            "2026-12-10",
            "--days",
            "15",
            "--kind",
            "calendar"
        ]),
        "2026-12-28 lunes\n"
    );
}

#[test]
fn a_date_that_is_not_one_and_an_endless_term_are_refused() {
    let refused: [(&[&str], &str); 5] = [
        (&["due", "--from", "2027-02-30", "--days", "1"], "--from"),
        (
            &["due", "--from", "2027-02-05", "--days", "4000000000"],
            "--days",
        ),
        (
            &["due", "--from", "+262141-01-01", "--days", "0"],
            "the calendar covers",
        ),
        (
            &["due", "--from=-0002-05-01", "--days", "1"],
            "the calendar covers",
        ),
        (&["holidays", "262143"], "<YEAR>"),
    ];
    for (args, named) in refused {
        let output = Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
            .arg("calendar")
            .args(args)
            .output()
            .unwrap();
        // Refused with a sentence, not a panic (exit code 101).
        assert_eq!(
            output.status.code(),
            Some(if named.starts_with('-') || named.starts_with('<') {
                2
            } else {
                1
            }),
            "{args:?} {output:?}"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{args:?} {output:?}"
        );
    }
}

/// With `--agency`, the days its admins changed (read from the data folder) count too.
#[tokio::test]
async fn an_agencys_own_days_count_with_agency() {
    use ventanilla_domain::model::agencies::{CalendarDay, DayChange};
    use ventanilla_domain::ports::AgencyDirectory;
    let dir = tempfile::tempdir().unwrap();
    let store =
        ventanilla_adapters::sqlite::SqliteStore::open(&dir.path().join("ventanilla.sqlite3"))
            .unwrap();
    let day = |date: &str, kind, name: &str| CalendarDay {
        agency: ventanilla_domain::AgencyCode::parse("MDT").unwrap(),
        day: chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        kind,
        name: name.into(),
        by: ventanilla_domain::AgentId::parse("admin").unwrap(),
        at: ventanilla_domain::Timestamp::parse("2026-12-01T15:00:00Z").unwrap(),
    };
    store
        .save_calendar_day(&day(
            "2027-12-06",
            DayChange::LocalHoliday,
            "Fundación de Quito",
        ))
        .await
        .unwrap();
    store
        .save_calendar_day(&day("2027-02-20", DayChange::MakeUpDay, "Recuperación"))
        .await
        .unwrap();
    let data = dir.path().to_str().unwrap();
    let mdt = calendar(&["holidays", "2027", "--agency", "MDT", "--data-dir", data]);
    assert!(
        mdt.contains("2027-12-06 lunes     Fundación de Quito (feriado local)\n"),
        "{mdt}"
    );
    assert!(
        mdt.contains("2027-02-20 sábado    Recuperación (día de recuperación: se trabaja)\n"),
        "{mdt}"
    );
    let mintel = calendar(&["holidays", "2027", "--agency", "MINTEL", "--data-dir", data]);
    assert!(!mintel.contains("Quito"), "{mintel}");
    assert_eq!(mintel, calendar(&["holidays", "2027"]));
    // Friday 3 December: the next business day is Tuesday 7 at MDT, Monday 6 elsewhere.
    let due = |agency: &[&str]| {
        let mut args = vec![
            "due",
            "--from",
            "2027-12-03",
            "--days",
            "1",
            "--data-dir",
            data,
        ];
        args.extend_from_slice(agency);
        calendar(&args)
    };
    assert_eq!(due(&["--agency", "MDT"]), "2027-12-07 martes\n");
    assert_eq!(due(&[]), "2027-12-06 lunes\n");
    // A folder with nothing stored: the national calendar.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        calendar(&[
            "due",
            "--from",
            "2027-12-03",
            "--days",
            "1",
            "--agency",
            "MDT",
            "--data-dir",
            empty.path().to_str().unwrap()
        ]),
        "2027-12-06 lunes\n"
    );
}
