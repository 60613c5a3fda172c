//! The agencies' figures (`rules::stats`): an item per agency, queue and bucket, its counters
//! as number attributes added to (`ADD`) in the transaction that writes the ticket.
//!
//! | item    | PK                | SK                                     | more                      |
//! |---------|-------------------|----------------------------------------|---------------------------|
//! | figures | `STATS#<agency>`  | `D<day>#<queue>` or `O<month's first day>#<queue>` | a number per counter |

use super::*;
use ventanilla_domain::rules::deadline::start_of_day_in_ecuador;
use ventanilla_domain::rules::stats::{Bucket, StatsKey, Tally};
use ventanilla_domain::{Category, QueueName};

fn stats_pk(agency: &AgencyCode) -> String {
    format!("STATS#{agency}")
}

/// Queue names are lower-case letters, digits and hyphens: every key of a day sorts below
/// `D<day>#~`.
const AFTER_ANY_QUEUE: &str = "#~";

/// Adds a figures item's counters to `tally`; any other item adds nothing.
fn add_item(tally: &mut Tally, item: &Item) -> Result<(), StoreError> {
    let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
        (item.get("PK"), item.get("SK"))
    else {
        return Ok(());
    };
    let Some(agency) = pk.strip_prefix("STATS#") else {
        return Ok(());
    };
    let bad = || StoreError::unavailable(format!("a figures item {pk} {sk}"));
    let (bucket, queue) = sk.split_once('#').ok_or_else(bad)?;
    let key = StatsKey {
        agency: AgencyCode::parse(agency).map_err(|_| bad())?,
        queue: QueueName::parse(queue).map_err(|_| bad())?,
        bucket: Bucket::parse(bucket).ok_or_else(bad)?,
    };
    for (name, value) in item {
        if let AttributeValue::N(number) = value {
            tally.add(&key, name, number.parse().map_err(|_| bad())?);
        }
    }
    Ok(())
}

impl DynamoStore {
    /// What adds `tally` to the figures: one `ADD` per item, for a transaction. A tally has
    /// an item once, so a transaction never names one twice.
    pub(super) fn stats_items(&self, tally: &Tally) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::new();
        for (key, counts) in tally.items() {
            let sk = format!("{}#{}", key.bucket.code(), key.queue);
            let mut update = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(super::key(stats_pk(&key.agency), &sk)));
            let mut adds = Vec::new();
            for (i, (counter, value)) in counts.iter().enumerate() {
                adds.push(format!("#c{i} :c{i}"));
                update = update
                    .expression_attribute_names(format!("#c{i}"), counter)
                    .expression_attribute_values(format!(":c{i}"), n(value));
            }
            let update = update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(items)
    }

    /// Every item one Query (all its pages) finds under `pk` with `condition` on SK.
    async fn query_all(
        &self,
        pk: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("PK = :pk AND {condition}"))
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            for (name, value) in &values {
                request = request.expression_attribute_values(*name, value.clone());
            }
            let output = request.send().await.map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(items),
            }
        }
    }

    /// One page of a Scan with `filter`, and the cursor of the next. Only an operator's
    /// `ventanilla-local stats check|rebuild` (every ticket, every figure) scans, with the
    /// operator's own credentials: no function calls it, and no function's policy in
    /// template.yaml grants `dynamodb:Scan`.
    async fn scan_page(
        &self,
        filter: &str,
        values: Vec<(&str, AttributeValue)>,
        after: Option<String>,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let start = match after {
            Some(cursor) => {
                let (pk, sk) = cursor
                    .split_once('\n')
                    .ok_or_else(|| StoreError::unavailable("a scan cursor without its key"))?;
                Some(key(pk.to_owned(), sk))
            }
            None => None,
        };
        let mut request = self
            .client
            .get()
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .set_exclusive_start_key(start);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        let output = request.send().await.map_err(unavailable)?;
        let next =
            output
                .last_evaluated_key
                .and_then(|last| match (last.get("PK"), last.get("SK")) {
                    (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                        Some(format!("{pk}\n{sk}"))
                    }
                    _ => None,
                });
        Ok((output.items.unwrap_or_default(), next))
    }
}

fn tally_of(items: &[Item]) -> Result<Tally, StoreError> {
    let mut tally = Tally::default();
    for item in items {
        add_item(&mut tally, item)?;
    }
    Ok(tally)
}

impl StatsStore for DynamoStore {
    async fn stats(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<(Tally, usize), StoreError> {
        let pk = stats_pk(agency);
        let mut items = self
            .query_all(
                &pk,
                "SK BETWEEN :from AND :to",
                vec![
                    (":from", s(Bucket::Day(from).code())),
                    (
                        ":to",
                        s(format!("{}{AFTER_ANY_QUEUE}", Bucket::Day(to).code())),
                    ),
                ],
            )
            .await?;
        items.extend(
            self.query_all(&pk, "begins_with(SK, :open)", vec![(":open", s("O"))])
                .await?,
        );
        Ok((tally_of(&items)?, items.len()))
    }

    async fn all_stats(&self) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let (items, next) = self
                .scan_page(
                    "begins_with(PK, :stats)",
                    vec![(":stats", s("STATS#"))],
                    after,
                )
                .await?;
            tally.merge(&tally_of(&items)?, 1);
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(tally),
            }
        }
    }

    async fn add_stats(&self, tally: &Tally) -> Result<(), StoreError> {
        // One item a transaction: a correction needs no atomicity, and each item is retried
        // alone when another transaction touches it.
        for item in self.stats_items(tally)? {
            until_won(CONFLICTED, || async {
                match self.transact(vec![item.clone()]).await? {
                    Ok(()) => Ok(Some(())),
                    Err(cancelled) if cancelled.conflicted() => Ok(None),
                    Err(cancelled) => Err(cancelled.unexpected()),
                }
            })
            .await?;
        }
        Ok(())
    }

    async fn every_ticket(
        &self,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        let (items, next) = self
            .scan_page(
                "SK = :meta AND begins_with(PK, :ticket)",
                vec![(":meta", s(META)), (":ticket", s("TICKET#"))],
                after,
            )
            .await?;
        let tickets = items
            .iter()
            .map(ticket_from_item)
            .collect::<Result<_, _>>()?;
        Ok((tickets, next))
    }

    /// By number: an agency's numbers of a year and category code run gapless from 1 to its
    /// counter, in the order they were received, so each code of each year the period touches
    /// is read a thousand numbers a page (ten BatchGetItems at once), from the first received
    /// in the period (a binary search of GetItems) until one received after it.
    async fn received_tickets(
        &self,
        agency: &AgencyCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after: Option<String>,
    ) -> Result<(Vec<Ticket>, Option<String>), StoreError> {
        let since = start_of_day_in_ecuador(from);
        let until = start_of_day_in_ecuador(to.succ_opt().unwrap_or(to));
        let codes: Vec<&str> = Category::ALL.iter().map(|c| c.number_code()).collect();
        let mut at = match after {
            Some(cursor) => ExportCursor::parse(&cursor)?,
            None => ExportCursor::first(since.year()),
        };
        loop {
            if at.year > until.year() {
                return Ok((Vec::new(), None));
            }
            let Some(code) = codes.get(at.code).copied() else {
                match at.year.checked_add(1) {
                    Some(year) => at = ExportCursor::first(year),
                    None => return Ok((Vec::new(), None)),
                }
                continue;
            };
            let last = match at.last {
                Some(last) => last,
                None => {
                    let last = self.last_number(agency, code, at.year).await?;
                    at.last = Some(last);
                    at.next = self
                        .first_received(agency, code, at.year, last, since)
                        .await?;
                    last
                }
            };
            if at.next > last {
                at = at.next_code();
                continue;
            }
            let upto = last.min(at.next + EXPORT_PAGE - 1);
            let numbers: Vec<TicketNumber> = (at.next..=upto)
                .map(|sequence| TicketNumber::new(agency, code, at.year, sequence))
                .collect();
            let wanted: Vec<Item> = numbers
                .iter()
                .map(|number| key(ticket_pk(number), META))
                .collect();
            let mut found = HashMap::new();
            for part in
                futures::future::try_join_all(wanted.chunks(100).map(|keys| self.batch_get(keys)))
                    .await?
            {
                found.extend(part);
            }
            let mut tickets = Vec::with_capacity(numbers.len());
            // Numbers are taken in order of arrival, give or take an opening retried after a
            // lost race: a margin of an hour before the code is given up.
            let mut all_after = true;
            for number in &numbers {
                if let Some(item) = found.remove(&ticket_pk(number)) {
                    let ticket = ticket_from_item(&item)?;
                    all_after &= ticket.created_at >= until.plus(chrono::Duration::hours(1));
                    if ticket.created_at >= since
                        && ticket.created_at < until
                        && ticket.agency == *agency
                    {
                        tickets.push(ticket);
                    }
                }
            }
            let next = if all_after || upto == last {
                at.next_code()
            } else {
                ExportCursor {
                    next: upto + 1,
                    ..at
                }
            };
            return Ok((tickets, Some(next.to_string())));
        }
    }
}

/// The numbers an export's page asks for.
const EXPORT_PAGE: u64 = 1000;

/// Where an export by number goes on: the year, the index of the category code, the next
/// sequence number and the code's counter once read.
#[derive(Debug, Clone, Copy)]
struct ExportCursor {
    year: u16,
    code: usize,
    next: u64,
    last: Option<u64>,
}

impl ExportCursor {
    fn first(year: u16) -> Self {
        ExportCursor {
            year,
            code: 0,
            next: 1,
            last: None,
        }
    }

    fn next_code(self) -> Self {
        ExportCursor {
            code: self.code + 1,
            next: 1,
            last: None,
            ..self
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::unavailable("a malformed export cursor");
        let mut parts = text.split('.');
        let mut part = || parts.next().ok_or_else(bad);
        let year = part()?.parse().map_err(|_| bad())?;
        let code = part()?.parse().map_err(|_| bad())?;
        let next = part()?.parse().map_err(|_| bad())?;
        let last = match part()? {
            "" => None,
            text => Some(text.parse().map_err(|_| bad())?),
        };
        Ok(ExportCursor {
            year,
            code,
            next,
            last,
        })
    }
}

impl std::fmt::Display for ExportCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self.last.map(|l| l.to_string()).unwrap_or_default();
        write!(f, "{}.{}.{}.{last}", self.year, self.code, self.next)
    }
}

impl DynamoStore {
    /// The last number given to `code` in `year` (0 before the first).
    async fn last_number(
        &self,
        agency: &AgencyCode,
        code: &str,
        year: u16,
    ) -> Result<u64, StoreError> {
        match self
            .get(key(format!("COUNTER#{agency}#{code}#{year}"), META))
            .await?
        {
            Some(item) => match item.get("last") {
                Some(AttributeValue::N(v)) => v.parse().map_err(unavailable),
                _ => Err(StoreError::unavailable("counter item without its value")),
            },
            None => Ok(0),
        }
    }

    /// The first of the numbers 1 to `last` received at `since` or later (less an hour's
    /// margin for retried openings), found by halving: about 17 reads for 100,000 numbers.
    async fn first_received(
        &self,
        agency: &AgencyCode,
        code: &str,
        year: u16,
        last: u64,
        since: Timestamp,
    ) -> Result<u64, StoreError> {
        let margin = since.plus(chrono::Duration::hours(-1));
        let (mut low, mut high) = (1, last + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            let number = TicketNumber::new(agency, code, year, middle);
            let before = match self.get(key(ticket_pk(&number), META)).await? {
                Some(item) => ticket_from_item(&item)?.created_at < margin,
                None => true,
            };
            if before {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }
}
