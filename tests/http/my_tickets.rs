//! "Mis trámites": the sign-in link by mail, its list, and the rules that keep it from
//! telling anyone whose address has tickets or from mailing an address at will.

use crate::harness::{Event, Harness, ticket_json};

async fn open(h: &Harness, email: &str, agency: &str, subject: &str) -> String {
    let mut request = ticket_json(email);
    request["agency"] = agency.into();
    request["subject"] = subject.into();
    let answer = h.send(Event::post_json("/api/v1/tickets", &request)).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["number"].as_str().unwrap().to_owned()
}

fn ask(email: &str) -> Event {
    Event::post_form("/mis-tramites?lang=es", &[("email", email)])
}

/// The sign-in links mailed so far, oldest first, as paths.
fn links(h: &Harness) -> Vec<String> {
    h.outbox()
        .iter()
        .filter_map(|mail| {
            let parsed = mail_parser::MessageParser::default().parse(mail)?;
            let text = parsed.body_text(0)?.into_owned();
            let start = text.find("/mis-tramites/")?;
            Some(text[start..].split_whitespace().next().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_link_lists_every_ticket_of_the_address_newest_activity_first_once() {
    let h = Harness::new();
    let older = open(&h, "maria@example.com", "MDT", "Primera consulta").await;
    h.clock.advance(chrono::Duration::hours(1));
    let newer = open(&h, "Maria@Example.com", "MINTEL", "Segunda consulta").await;
    h.clock.advance(chrono::Duration::hours(1));
    open(&h, "pedro@example.com", "MDT", "De otra persona").await;

    let asked = h.send(ask("MARIA@example.com")).await;
    assert_eq!(asked.status, 200, "{}", asked.text());
    let sent = links(&h);
    assert_eq!(sent.len(), 1, "one link, to the address asked for");
    // Opening the link (as a mail scanner does) spends nothing: its page has a button.
    for _ in 0..2 {
        let opened = h.send(Event::get(&sent[0])).await;
        assert_eq!(opened.status, 200, "{}", opened.text());
        assert!(
            opened.text().contains("<form method=\"post\""),
            "{}",
            opened.text()
        );
        assert_eq!(opened.header("cache-control"), Some("no-store"));
    }
    let list = h.send(Event::post_form(&sent[0], &[])).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let page = list.text();
    let (at_newer, at_older) = (page.find(&newer).unwrap(), page.find(&older).unwrap());
    assert!(at_newer < at_older, "newest activity first: {page}");
    assert_eq!(page.matches("href=\"/estado/").count(), 2, "{page}");
    // What was typed (anyone may have typed the address) is not listed.
    assert!(!page.contains("Segunda consulta"));
    // Each opens its status page.
    let href_start = page.find("href=\"/estado/").unwrap() + "href=\"".len();
    let href = page[href_start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let status = h.send(Event::get(&href)).await;
    assert_eq!(status.status, 200, "{}", status.text());
    assert!(status.text().contains(&newer));

    // Used once, however the clock's hour turns meanwhile.
    h.clock.advance(chrono::Duration::minutes(20));
    let again = h.send(Event::post_form(&sent[0], &[])).await;
    assert_eq!(again.status, 404);
    assert!(again.text().contains("ya se usó"), "{}", again.text());
    assert_eq!(h.send(Event::get(&sent[0])).await.status, 404);
}

#[tokio::test]
async fn the_answer_is_the_same_with_or_without_tickets_and_only_owners_get_mail() {
    let h = Harness::new();
    open(&h, "maria@example.com", "MDT", "Consulta").await;
    let with = h.send(ask("maria@example.com")).await;
    let without = h
        .send(ask("nadie@example.com").sent_from("190.152.10.2"))
        .await;
    assert_eq!(with.status, without.status);
    assert_eq!(with.text(), without.text());
    assert_eq!(links(&h).len(), 1);
    let bad = h.send(ask("no es un correo")).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("id=\"email-error\""), "{}", bad.text());
}

#[tokio::test]
async fn a_link_expires_after_thirty_minutes_and_cannot_be_altered() {
    let h = Harness::new();
    open(&h, "maria@example.com", "MDT", "Consulta").await;
    h.send(ask("maria@example.com")).await;
    let link = links(&h).remove(0);
    // Another address under its signature.
    let token = link.trim_start_matches("/mis-tramites/");
    let other = base64_url("pedro@example.com");
    let swapped = format!("/mis-tramites/{other}.{}", token.split_once('.').unwrap().1);
    assert_eq!(h.send(Event::post_form(&swapped, &[])).await.status, 404);
    h.clock.advance(chrono::Duration::minutes(31));
    let late = h.send(Event::post_form(&link, &[])).await;
    assert_eq!(late.status, 404, "{}", late.text());
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn asks_are_throttled_per_address_and_per_source_and_mail_is_capped_per_day() {
    let h = Harness::new();
    open(&h, "maria@example.com", "MDT", "Consulta").await;
    // Three asks an hour for one address from one source; ten from anywhere, so that one
    // source cannot lock its owner out.
    for _ in 0..3 {
        let asked = h
            .send(ask("maria@example.com").sent_from("190.152.20.1"))
            .await;
        assert_eq!(asked.status, 200);
    }
    let fourth = h
        .send(ask("maria@example.com").sent_from("190.152.20.1"))
        .await;
    assert_eq!(fourth.status, 429);
    for i in 2..9 {
        let from = format!("190.152.20.{i}");
        assert_eq!(
            h.send(ask("maria@example.com").sent_from(&from))
                .await
                .status,
            200
        );
    }
    let eleventh = h
        .send(ask("maria@example.com").sent_from("190.152.20.99"))
        .await;
    assert_eq!(eleventh.status, 429);
    // Another site's page cannot send its visitors' browsers to ask.
    let cross = h
        .send(ask("maria@example.com").header("sec-fetch-site", "cross-site"))
        .await;
    assert_eq!(cross.status, 403);
    // Ten asks an hour from one source, whatever the addresses.
    for i in 0..10 {
        let email = format!("persona{i}@example.com");
        assert_eq!(
            h.send(ask(&email).sent_from("190.152.30.1")).await.status,
            200
        );
    }
    assert_eq!(
        h.send(ask("otra@example.com").sent_from("190.152.30.1"))
            .await
            .status,
        429
    );
    // Over a day, at most ten links reach the address (three from one source).
    assert_eq!(links(&h).len(), 10);
    h.clock.advance(chrono::Duration::minutes(61));
    let later = h
        .send(ask("maria@example.com").sent_from("190.152.40.1"))
        .await;
    assert_eq!(later.status, 200);
    assert_eq!(links(&h).len(), 10);
}

#[tokio::test]
async fn one_source_cannot_spend_an_addresss_links_for_the_day() {
    let h = Harness::new();
    open(&h, "rosa@example.com", "MDT", "Consulta").await;
    let attacker = "203.0.113.7";
    for _ in 0..3 {
        assert_eq!(
            h.send(ask("rosa@example.com").sent_from(attacker))
                .await
                .status,
            200
        );
    }
    assert_eq!(links(&h).len(), 3);
    h.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        h.send(ask("rosa@example.com").sent_from(attacker))
            .await
            .status,
        200
    );
    assert_eq!(links(&h).len(), 3, "the source's day is spent");
    // The owner, from her own connection, still gets one.
    assert_eq!(
        h.send(ask("rosa@example.com").sent_from("190.152.9.9"))
            .await
            .status,
        200
    );
    assert_eq!(links(&h).len(), 4);
}
