//! Agents, agencies and the audit trail.

use super::*;

pub(super) fn agent_item(agent: &Agent) -> Result<Item, StoreError> {
    let mut item = key(format!("AGENT#{}", agent.id.as_str()), META);
    item.insert("GSI1PK".into(), s(format!("AGENTS#{}", agent.agency)));
    item.insert("GSI1SK".into(), s(agent.id.as_str()));
    item.insert(
        "agent".into(),
        serde_dynamo::to_attribute_value(agent).map_err(unavailable)?,
    );
    Ok(item)
}

pub(super) fn token_item(agent: &Agent) -> Item {
    let mut item = key(format!("TOKEN#{}", agent.token_hash.as_str()), META);
    item.insert("agent".into(), s(agent.id.as_str()));
    item
}

impl DynamoStore {
    /// Every item under one partition key, page after page: of the table (read
    /// consistently), or of GSI1 (which cannot be).
    pub(super) async fn all_items(
        &self,
        index: Option<&str>,
        pk: String,
    ) -> Result<Vec<Item>, StoreError> {
        self.items_between(index, pk, None).await
    }

    /// `all_items`, only those whose sort key is between the two given (inclusive).
    pub(super) async fn items_between(
        &self,
        index: Option<&str>,
        pk: String,
        sk: Option<(String, String)>,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk_name, sk_name) = if index.is_some() {
            ("GSI1PK", "GSI1SK")
        } else {
            ("PK", "SK")
        };
        let mut condition = format!("{pk_name} = :pk");
        let mut values = vec![(":pk", s(pk))];
        if let Some((first, last)) = sk {
            condition.push_str(&format!(" AND {sk_name} BETWEEN :first AND :last"));
            values.push((":first", s(first)));
            values.push((":last", s(last)));
        }
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .get()
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(&condition)
                .set_expression_attribute_values(Some(
                    values
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                ))
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(items),
            }
        }
    }

    /// Deletes the item under `pk` and `sk`, and reads its `attribute` as it was (`None`:
    /// there was none).
    async fn delete_returning<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        attribute: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .attributes
            .map(|item| from_attribute(&item, attribute))
            .transpose()
    }

    pub(super) async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .get()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) fn put_where(
        &self,
        item: Item,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl AgentDirectory for DynamoStore {
    async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let items = vec![
            put_if_absent(&self.table, agent_item(agent)?)?,
            put_if_absent(&self.table, token_item(agent))?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.any_failed(0..2) => Err(StoreError::AlreadyExists),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    async fn save_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let current = self.agent(&agent.id).await?;
        let mut items = vec![self.put_where(agent_item(agent)?, "attribute_exists(PK)")?];
        if current.token_hash != agent.token_hash {
            // A new token: the old one stops opening anything in the same step.
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    format!("TOKEN#{}", current.token_hash.as_str()),
                    META,
                )))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            items.push(put_if_absent(&self.table, token_item(agent))?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.failed(0) => Err(StoreError::NotFound),
            Err(cancelled) if cancelled.failed(2) => Err(StoreError::AlreadyExists),
            Err(cancelled) => Err(cancelled.unexpected()),
        }
    }

    async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        let item = self
            .get(key(format!("AGENT#{}", id.as_str()), META))
            .await?
            .ok_or(StoreError::NotFound)?;
        from_attribute(&item, "agent")
    }

    async fn agent_by_token(&self, hash: &TokenHash) -> Result<Option<Agent>, StoreError> {
        let Some(item) = self
            .get(key(format!("TOKEN#{}", hash.as_str()), META))
            .await?
        else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = item.get("agent") else {
            return Err(StoreError::unavailable("token item without its agent"));
        };
        let agent = self
            .agent(&AgentId::parse(id).map_err(unavailable)?)
            .await?;
        // A token item left behind by a rotation that failed halfway opens nothing.
        Ok((&agent.token_hash == hash).then_some(agent))
    }

    async fn agents(&self, agency: &AgencyCode) -> Result<Vec<Agent>, StoreError> {
        let items = self
            .all_items(Some(QUEUE_INDEX), format!("AGENTS#{agency}"))
            .await?;
        items
            .iter()
            .map(|item| from_attribute(item, "agent"))
            .collect()
    }

    async fn mark_open(&self, ticket: &TicketNumber, viewer: &Viewer) -> Result<(), StoreError> {
        let mut item = key(format!("VIEWING#{ticket}"), viewer.agent.id.as_str());
        item.insert(
            "viewer".into(),
            serde_dynamo::to_attribute_value(viewer).map_err(unavailable)?,
        );
        // DynamoDB deletes it some time after; until then `open_by` leaves it out.
        let expires = viewer.until.unix_seconds().saturating_add(3600);
        item.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(expires.to_string()));
        self.put_item(item).await
    }

    async fn open_by(
        &self,
        ticket: &TicketNumber,
        now: Timestamp,
    ) -> Result<Vec<Viewer>, StoreError> {
        let items = self.all_items(None, format!("VIEWING#{ticket}")).await?;
        let viewers: Vec<Viewer> = items
            .iter()
            .map(|item| from_attribute(item, "viewer"))
            .collect::<Result<_, _>>()?;
        Ok(viewers.into_iter().filter(|v| v.until > now).collect())
    }
}

impl AgencyDirectory for DynamoStore {
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.agencies
            .get_or_load(async {
                let items = self.all_items(Some(QUEUE_INDEX), "AGENCIES".into()).await?;
                items
                    .iter()
                    .map(|item| from_attribute(item, "agency"))
                    .collect()
            })
            .await
    }

    async fn save_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        let mut item = key(format!("AGENCY#{}", agency.code), META);
        item.insert("GSI1PK".into(), s("AGENCIES"));
        item.insert("GSI1SK".into(), s(agency.code.as_str()));
        item.insert(
            "agency".into(),
            serde_dynamo::to_attribute_value(agency).map_err(unavailable)?,
        );
        self.put_item(item).await?;
        self.agencies.forget();
        Ok(())
    }

    async fn calendar_days(
        &self,
        agency: &AgencyCode,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
    ) -> Result<Vec<CalendarDay>, StoreError> {
        let range = (calendar_sk(agency, first), calendar_sk(agency, last));
        let items = self
            .items_between(None, CALENDAR.into(), Some(range))
            .await?;
        items
            .iter()
            .map(|item| from_attribute(item, "day"))
            .collect()
    }

    async fn save_calendar_day(&self, day: &CalendarDay) -> Result<(), StoreError> {
        let mut item = key(CALENDAR.into(), &calendar_sk(&day.agency, day.day));
        item.insert(
            "day".into(),
            serde_dynamo::to_attribute_value(day).map_err(unavailable)?,
        );
        self.put_item(item).await
    }

    async fn remove_calendar_day(
        &self,
        agency: &AgencyCode,
        day: chrono::NaiveDate,
    ) -> Result<Option<CalendarDay>, StoreError> {
        self.delete_returning(CALENDAR.into(), &calendar_sk(agency, day), "day")
            .await
    }

    async fn canned_responses(
        &self,
        agency: &AgencyCode,
    ) -> Result<Vec<CannedResponse>, StoreError> {
        // Ids are lower-case letters, digits and hyphens: all sort between "#" and "#~".
        let range = (format!("{agency}#"), format!("{agency}#~"));
        let items = self.items_between(None, CANNED.into(), Some(range)).await?;
        items
            .iter()
            .map(|item| from_attribute(item, "canned"))
            .collect()
    }

    async fn save_canned_response(&self, canned: &CannedResponse) -> Result<(), StoreError> {
        let mut item = key(CANNED.into(), &canned_sk(&canned.agency, &canned.id));
        item.insert(
            "canned".into(),
            serde_dynamo::to_attribute_value(canned).map_err(unavailable)?,
        );
        self.put_item(item).await
    }

    async fn remove_canned_response(
        &self,
        agency: &AgencyCode,
        id: &CannedId,
    ) -> Result<Option<CannedResponse>, StoreError> {
        self.delete_returning(CANNED.into(), &canned_sk(agency, id), "canned")
            .await
    }
}

/// The partition of every agency's canned responses, sorted by agency and id: one Query reads
/// an agency's.
const CANNED: &str = "CANNED";

fn canned_sk(agency: &AgencyCode, id: &CannedId) -> String {
    format!("{agency}#{}", id.as_str())
}

/// The partition of every agency's changed days, sorted by agency and day: one Query reads
/// an agency's days of a range.
const CALENDAR: &str = "CALENDAR";

fn calendar_sk(agency: &AgencyCode, day: chrono::NaiveDate) -> String {
    format!("{agency}#{day}")
}

pub(super) fn audit_pk(ticket: Option<&TicketNumber>) -> String {
    match ticket {
        Some(number) => format!("AUDIT#{number}"),
        None => "AUDIT#AGENTS".to_owned(),
    }
}

impl AuditLog for DynamoStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let sort = format!("{}#{}", entry.at, uuid::Uuid::now_v7());
        let mut item = key(audit_pk(entry.ticket.as_ref()), &sort);
        item.insert(
            "entry".into(),
            serde_dynamo::to_attribute_value(entry).map_err(unavailable)?,
        );
        self.put_item(item).await
    }

    async fn ticket_audit(&self, number: &TicketNumber) -> Result<Vec<AuditEntry>, StoreError> {
        let items = self.all_items(None, audit_pk(Some(number))).await?;
        items
            .iter()
            .map(|item| from_attribute(item, "entry"))
            .collect()
    }
}
