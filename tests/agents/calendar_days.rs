//! Issue 21: an admin changes their agency's calendar (a decreed day off, a local holiday, a
//! make-up day) through the agent API; the terms it falls in are recounted, the thread says
//! so, and new tickets and agents' questions count on it. Who may, what is refused, two
//! changes at once.

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;
use ventanilla_domain::{Category, TicketNumber};

use super::{Office, mdt_ticket, office_at};

async fn set_day(office: &Office, token: &str, day: &str, body: Value) -> super::Reply {
    office
        .call(
            Some(token),
            "PUT",
            &format!("/api/v1/agent/calendar/days/{day}"),
            Some(body),
        )
        .await
}

async fn due_on(office: &Office, token: &str, number: &TicketNumber) -> String {
    let shown = office
        .call(
            Some(token),
            "GET",
            &format!("/api/v1/agent/tickets/{number}"),
            None,
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    shown.body["due_on"].as_str().unwrap().to_owned()
}

fn local_holiday(name: &str) -> Value {
    json!({ "kind": "local_holiday", "name": name })
}

#[tokio::test]
async fn an_admin_changes_the_calendar_and_open_terms_are_recounted() {
    // Friday 5 February 2027: a queja's 30 business days end on Tuesday 23 March.
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let queja = mdt_ticket(&office, &clock, Category::Queja).await;
    let admin = office.agent("MDT", Role::Admin).await;
    let agent = office.agent("MDT", Role::Agent).await;
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-23");

    // A local holiday on Monday 1 March, inside the term: a business day later.
    let set = set_day(
        &office,
        &admin,
        "2027-03-01",
        local_holiday("Fundación del cantón"),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["kind"], "local_holiday");
    assert_eq!(set.body["agency"], "MDT");
    assert_eq!(set.body["recount"]["recounted"], 1, "{}", set.body);
    assert_eq!(set.body["recount"]["moved"], 1);
    assert_eq!(set.body["recount"]["complete"], true);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-24");
    let thread = office
        .call(
            Some(&agent),
            "GET",
            &format!("/api/v1/agent/tickets/{queja}"),
            None,
        )
        .await
        .body
        .to_string();
    assert!(
        thread.contains("Fecha límite recalculada por un cambio del calendario")
            && thread.contains("Fundación del cantón")
            && thread.contains("martes 23 de marzo de 2027")
            && thread.contains("miércoles 24 de marzo de 2027"),
        "{thread}"
    );
    // Sent again: nothing more to recount, nothing moves twice.
    let again = set_day(
        &office,
        &admin,
        "2027-03-01",
        local_holiday("Fundación del cantón"),
    )
    .await;
    assert_eq!(again.body["recount"]["recounted"], 0, "{}", again.body);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-24");

    // Its make-up Saturday gives the day back.
    let make_up = set_day(
        &office,
        &admin,
        "2027-03-06",
        json!({ "kind": "make_up_day", "name": "Recuperación del 1 de marzo" }),
    )
    .await;
    assert_eq!(make_up.status, 200, "{}", make_up.body);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-23");

    // A ticket opened now counts on them from the start; agents' questions too.
    let later = mdt_ticket(&office, &clock, Category::Queja).await;
    assert_eq!(due_on(&office, &agent, &later).await, "2027-03-23");
    let ask = async |token: &str, query: &str| {
        office
            .call(
                Some(token),
                "GET",
                &format!("/api/v1/agent/calendar/due?{query}"),
                None,
            )
            .await
    };
    let mintel = office.agent("MINTEL", Role::Agent).await;
    assert_eq!(
        ask(&agent, "from=2027-02-26&days=1").await.body["due_on"],
        "2027-03-02"
    );
    assert_eq!(
        ask(&mintel, "from=2027-02-26&days=1").await.body["due_on"],
        "2027-03-01"
    );
    assert_eq!(
        ask(&mintel, "from=2027-02-26&days=1&agency=MDT").await.body["due_on"],
        "2027-03-02"
    );
    let unknown = ask(&mintel, "from=2027-02-26&days=1&agency=NOPE").await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.body["errors"][0]["field"], "agency");

    // The year as MDT lives it, and as MINTEL does.
    let year = async |token: &str, query: &str| {
        office
            .call(
                Some(token),
                "GET",
                &format!("/api/v1/agent/calendar/days?{query}"),
                None,
            )
            .await
    };
    let mdt_year = year(&agent, "year=2027").await;
    assert_eq!(mdt_year.status, 200, "{}", mdt_year.body);
    let days = mdt_year.body["days"].as_array().unwrap();
    let find = |days: &[Value], day: &str| days.iter().find(|d| d["day"] == day).cloned();
    assert_eq!(
        find(days, "2027-02-08").unwrap()["kind"],
        "national_holiday"
    );
    assert_eq!(
        find(days, "2027-03-01").unwrap()["name"],
        "Fundación del cantón"
    );
    assert_eq!(find(days, "2027-03-06").unwrap()["works"], true);
    let mintel_year = year(&mintel, "year=2027").await;
    assert!(find(mintel_year.body["days"].as_array().unwrap(), "2027-03-01").is_none());
    assert_eq!(year(&mintel, "year=1999").await.status, 422);

    // Taken back: the national calendar again; twice, not found.
    let remove = async |day: &str| {
        office
            .call(
                Some(&admin),
                "DELETE",
                &format!("/api/v1/agent/calendar/days/{day}"),
                None,
            )
            .await
    };
    assert_eq!(remove("2027-03-06").await.status, 200);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-24");
    let removed = remove("2027-03-01").await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["removed"]["name"], "Fundación del cantón");
    assert_eq!(removed.body["recount"]["moved"], 2, "{}", removed.body);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-23");
    assert_eq!(remove("2027-03-01").await.status, 404);

    // A removal whose recount never ran (stored, then the request died): sent again, it finds
    // nothing to remove and recounts.
    set_day(&office, &admin, "2027-03-03", local_holiday("Interrumpido")).await;
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-24");
    ventanilla_domain::ports::AgencyDirectory::remove_calendar_day(
        &office.store,
        &ventanilla_domain::AgencyCode::parse("MDT").unwrap(),
        chrono::NaiveDate::from_ymd_opt(2027, 3, 3).unwrap(),
    )
    .await
    .unwrap();
    let finished = remove("2027-03-03").await;
    assert_eq!(finished.status, 200, "{}", finished.body);
    assert_eq!(finished.body["removed"], Value::Null);
    assert_eq!(finished.body["recount"]["moved"], 2, "{}", finished.body);
    assert_eq!(due_on(&office, &agent, &queja).await, "2027-03-23");
    assert_eq!(remove("2027-03-03").await.status, 404);

    // The audit trail says who changed what, each time.
    let sqlite = rusqlite::Connection::open(office.dir.path().join("ventanilla.sqlite3")).unwrap();
    let mut statement = sqlite
        .prepare("SELECT entry FROM audit WHERE ticket IS NULL ORDER BY seq")
        .unwrap();
    let changes: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|entry| entry.contains("change_calendar"))
        .collect();
    assert_eq!(changes.len(), 6, "{changes:?}");
    assert!(
        changes[0].contains("MDT: 2027-03-01: Feriado local (Fundación del cantón)"),
        "{}",
        changes[0]
    );
    assert!(
        changes[4].contains("ya no es feriado local"),
        "{}",
        changes[4]
    );
}

#[tokio::test]
async fn only_an_agencys_admins_or_an_operator_change_its_calendar_and_bad_days_are_named() {
    let (office, _clock) = office_at("2027-02-05T15:00:00Z");
    let agent = office.agent("MDT", Role::Agent).await;
    let supervisor = office.agent("MDT", Role::Supervisor).await;
    let admin = office.agent("MDT", Role::Admin).await;
    let other_admin = office.agent("MINTEL", Role::Admin).await;
    let operator = office.agent("MDT", Role::Operator).await;
    let day = local_holiday("Feriado de prueba");
    assert_eq!(
        set_day(&office, &agent, "2027-03-01", day.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        set_day(&office, &supervisor, "2027-03-01", day.clone())
            .await
            .status,
        403
    );
    let theirs = json!({ "kind": "local_holiday", "name": "x", "agency": "MINTEL" });
    assert_eq!(
        set_day(&office, &admin, "2027-03-01", theirs.clone())
            .await
            .status,
        403
    );
    let delete_theirs = office
        .call(
            Some(&admin),
            "DELETE",
            "/api/v1/agent/calendar/days/2027-03-01?agency=MINTEL",
            None,
        )
        .await;
    assert_eq!(delete_theirs.status, 403);
    let by_operator = set_day(&office, &operator, "2027-03-01", theirs).await;
    assert_eq!(by_operator.status, 200, "{}", by_operator.body);
    assert_eq!(by_operator.body["agency"], "MINTEL");
    // MINTEL's day is not MDT's.
    let mdt = office
        .call(
            Some(&agent),
            "GET",
            "/api/v1/agent/calendar/days?year=2027",
            None,
        )
        .await;
    assert!(
        !mdt.body
            .to_string()
            .contains("2027-03-01\",\"kind\":\"local"),
        "{}",
        mdt.body
    );
    let mintel = office
        .call(
            Some(&other_admin),
            "GET",
            "/api/v1/agent/calendar/days?year=2027",
            None,
        )
        .await;
    assert!(
        mintel.body.to_string().contains("local_holiday"),
        "{}",
        mintel.body
    );

    let long_name = "x".repeat(10_000);
    for (date, body, field, code) in [
        ("2027-02-30", day.clone(), "day", "invalid_format"),
        ("mañana", day.clone(), "day", "invalid_format"),
        ("2027-03-01", json!({ "name": "x" }), "kind", "required"),
        (
            "2027-03-01",
            json!({ "kind": "feriado", "name": "x" }),
            "kind",
            "unknown_value",
        ),
        (
            "2027-03-01",
            json!({ "kind": "local_holiday" }),
            "name",
            "required",
        ),
        (
            "2027-03-01",
            json!({ "kind": "local_holiday", "name": long_name }),
            "name",
            "too_long",
        ),
        // Saturday 13 March rests already; Wednesday 10 March is worked already.
        ("2027-03-13", day.clone(), "day", "changes_nothing"),
        (
            "2027-03-10",
            json!({ "kind": "make_up_day", "name": "x" }),
            "day",
            "changes_nothing",
        ),
        // Carnival Monday rests nationally.
        (
            "2027-02-08",
            json!({ "kind": "decreed_rest", "name": "x" }),
            "day",
            "changes_nothing",
        ),
        ("2035-01-05", day.clone(), "day", "out_of_range"),
        ("2025-01-06", day.clone(), "day", "out_of_range"),
        (
            "2027-03-01",
            json!({ "kind": "local_holiday", "name": "x", "agency": "NOPE" }),
            "agency",
            "unknown_value",
        ),
    ] {
        let refused = set_day(&office, &admin, date, body).await;
        assert_eq!(refused.status, 422, "{date}: {}", refused.body);
        assert_eq!(
            refused.body["errors"][0]["field"], field,
            "{date}: {}",
            refused.body
        );
        assert_eq!(
            refused.body["errors"][0]["code"], code,
            "{date}: {}",
            refused.body
        );
    }
    let not_json = office
        .call(
            Some(&admin),
            "PUT",
            "/api/v1/agent/calendar/days/2027-03-01",
            Some(json!([1])),
        )
        .await;
    assert_eq!(not_json.status, 400, "{}", not_json.body);
}

#[tokio::test]
async fn two_changes_at_once_both_count_in_every_term() {
    let (office, clock) = office_at("2027-02-05T15:00:00Z");
    let mut tickets = Vec::new();
    for _ in 0..5 {
        tickets.push(mdt_ticket(&office, &clock, Category::Queja).await);
    }
    let admin = office.agent("MDT", Role::Admin).await;
    let second = office.agent("MDT", Role::Admin).await;
    let (a, b) = tokio::join!(
        set_day(&office, &admin, "2027-03-01", local_holiday("Fundación")),
        set_day(
            &office,
            &second,
            "2027-03-02",
            json!({ "kind": "decreed_rest", "name": "Decreto Ejecutivo 1" })
        )
    );
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    let agent = office.agent("MDT", Role::Agent).await;
    for number in &tickets {
        assert_eq!(
            due_on(&office, &agent, number).await,
            "2027-03-25",
            "{number}"
        );
    }
}

#[tokio::test]
async fn an_agency_changes_at_most_sixty_days_a_year() {
    let (office, _clock) = office_at("2027-02-05T15:00:00Z");
    let admin = office.agent("MDT", Role::Admin).await;
    let national = ventanilla_domain::rules::calendar::Calendar::national(2028, 2028);
    let working: Vec<String> = chrono::NaiveDate::from_ymd_opt(2028, 1, 1)
        .unwrap()
        .iter_days()
        .filter(|day| national.is_business_day(*day))
        .take(61)
        .map(|day| day.to_string())
        .collect();
    for day in &working[..60] {
        let set = set_day(&office, &admin, day, local_holiday("Puente")).await;
        assert_eq!(set.status, 200, "{day}: {}", set.body);
    }
    // The 60th again is a replacement, not a 61st.
    let again = set_day(&office, &admin, &working[59], local_holiday("Otro nombre")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let refused = set_day(&office, &admin, &working[60], local_holiday("Puente")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["code"], "too_many");
    assert_eq!(refused.body["errors"][0]["max"], 60);
}
