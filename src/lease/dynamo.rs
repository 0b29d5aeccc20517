//! The lease table in DynamoDB, with Java KCL's attribute names, types and conditions
//! (`docs/leases.md`, "Rows", "Writes"), so Java workers read and take our leases and we take
//! theirs.
//!
//! Every write that depends on holding a lease is conditioned on the `leaseCounter` we last saw.
//! A failed condition is an outcome (`Lost`, `NotTaken`), not an error. Rows that are not leases
//! (KCL 3.5 leader lock, migration state, worker metrics) are reported separately and never
//! written. SDK types stay inside this file.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TableStatus,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tracing::{debug, info, warn};

use super::table::{
    checkpointed_by, failed_condition, held_by, released, LeaseTable, OtherRow, Scan, TableError,
    Written,
};
use super::{HashKeyRange, Lease};
use crate::checkpoint::{ExtendedSequenceNumber, SequenceNumber};

/// The lease table of one application.
#[derive(Clone, Debug)]
pub struct DynamoLeaseTable {
    client: Client,
    table: String,
    /// `leaseTableScanTotalSegments`: the lease table is scanned in this many segments at once.
    scan_segments: u32,
}

/// Every row of `table` (of one `(segment, total)` segment of it, if given), read consistently,
/// page by page.
async fn scan_pages(
    client: &Client,
    table: &str,
    segment: Option<(u32, u32)>,
) -> Result<Vec<HashMap<String, AttributeValue>>, TableError> {
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let mut req = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take());
        if let Some((segment, total)) = segment {
            req = req
                .segment(i32::try_from(segment).unwrap_or(i32::MAX))
                .total_segments(i32::try_from(total).unwrap_or(i32::MAX));
        }
        let out = req.send().await.map_err(error)?;
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(items),
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn error<E>(e: SdkError<E, HttpResponse>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, text) = crate::sdk_error::code_and_text(&e);
    match code.as_str() {
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => TableError::Throttled(text),
        "ResourceNotFoundException" => TableError::TableMissing(text),
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => TableError::AccessDenied(text),
        _ => TableError::Other(text),
    }
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// A conditional write's outcome: whether its condition held. A failed condition is an answer,
/// not an error.
fn condition_held<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> Result<bool, TableError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(error(e)),
    }
}

/// A KCL 3.x row's last-update time (`lut`, epoch seconds, possibly fractional), whole seconds.
fn last_update(item: &HashMap<String, AttributeValue>) -> Option<i64> {
    item.get("lut")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as i64)
}

/// Decodes a row; `Err(row)` for rows that are not leases (`docs/leases.md`, "Other rows").
fn decode(item: &HashMap<String, AttributeValue>) -> Result<Lease, OtherRow> {
    let str_attr = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let num_attr = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let set_attr = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default()
    };
    let key = str_attr("leaseKey").unwrap_or_default();
    let entity_type = str_attr("entityType");
    let counter = num_attr("leaseCounter");
    let checkpoint = str_attr("checkpoint").and_then(|c| SequenceNumber::parse(&c));
    let is_lease = matches!(entity_type.as_deref(), None | Some("LEASE"));
    let (true, Some(counter), Some(checkpoint)) = (is_lease, counter, checkpoint) else {
        return Err(OtherRow {
            key,
            entity_type,
            client_version: str_attr("cv"),
            last_update: last_update(item),
        });
    };
    let hash_range = match (
        str_attr("startingHashKey").and_then(|v| v.parse::<u128>().ok()),
        str_attr("endingHashKey").and_then(|v| v.parse::<u128>().ok()),
    ) {
        (Some(start), Some(end)) => Some(HashKeyRange { start, end }),
        _ => None,
    };
    let pending_checkpoint = str_attr("pendingCheckpoint")
        .and_then(|c| SequenceNumber::parse(&c))
        .map(|seq| {
            ExtendedSequenceNumber::new(
                seq,
                num_attr("pendingCheckpointSubSequenceNumber").unwrap_or(0),
            )
        });
    Ok(Lease {
        key,
        owner: str_attr("leaseOwner"),
        counter,
        owner_switches_since_checkpoint: num_attr("ownerSwitchesSinceCheckpoint").unwrap_or(0),
        checkpoint: ExtendedSequenceNumber::new(
            checkpoint,
            num_attr("checkpointSubSequenceNumber").unwrap_or(0),
        ),
        pending_checkpoint,
        parent_shard_ids: set_attr("parentShardId"),
        child_shard_ids: set_attr("childShardIds"),
        hash_range,
        checkpoint_owner: str_attr("checkpointOwner"),
    })
}

/// The full item of a new lease, as Java 3.5 creates it.
fn encode(lease: &Lease) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::new();
    item.insert("leaseKey".into(), s(&lease.key));
    if let Some(owner) = &lease.owner {
        item.insert("leaseOwner".into(), s(owner));
    }
    item.insert("leaseCounter".into(), n(lease.counter));
    item.insert(
        "ownerSwitchesSinceCheckpoint".into(),
        n(lease.owner_switches_since_checkpoint),
    );
    item.insert(
        "checkpoint".into(),
        s(lease.checkpoint.sequence_number.as_str()),
    );
    item.insert(
        "checkpointSubSequenceNumber".into(),
        n(lease.checkpoint.sub_sequence_number),
    );
    if !lease.parent_shard_ids.is_empty() {
        item.insert(
            "parentShardId".into(),
            AttributeValue::Ss(lease.parent_shard_ids.clone()),
        );
    }
    if !lease.child_shard_ids.is_empty() {
        item.insert(
            "childShardIds".into(),
            AttributeValue::Ss(lease.child_shard_ids.clone()),
        );
    }
    if let Some(range) = &lease.hash_range {
        item.insert("startingHashKey".into(), s(range.start.to_string()));
        item.insert("endingHashKey".into(), s(range.end.to_string()));
    }
    item.insert("entityType".into(), s("LEASE"));
    item
}

impl DynamoLeaseTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLeaseTable {
            client,
            table: table.into(),
            scan_segments: 1,
        }
    }

    /// Scans of the lease table read `segments` parallel segments (DynamoDB's `Segment` and
    /// `TotalSegments`), each in a task of its own.
    pub fn with_scan_segments(mut self, segments: u32) -> Self {
        self.scan_segments = segments.max(1);
        self
    }

    /// `leaseTablePitrEnabled` on a table this worker just created. (Java applies it on every
    /// start, to an existing table too, which needs a permission a consumer seldom has;
    /// `docs/leases.md`, "Table".) A failure is a WARN: the leases work without it.
    async fn enable_point_in_time_recovery(&self) {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(true)
            .build();
        let enabled = match spec {
            Ok(spec) => self
                .client
                .update_continuous_backups()
                .table_name(&self.table)
                .point_in_time_recovery_specification(spec)
                .send()
                .await
                .map_err(|e| error(e).to_string()),
            Err(e) => Err(e.to_string()),
        };
        match enabled {
            Ok(_) => {
                info!(table = %self.table, "point-in-time recovery enabled on the lease table (leaseTablePitrEnabled)")
            }
            Err(e) => warn!(
                table = %self.table,
                error = %e,
                "could not enable point-in-time recovery on the new lease table (leaseTablePitrEnabled); \
                 the leases work without it (dynamodb:UpdateContinuousBackups is needed)"
            ),
        }
    }

    async fn wait_active(&self) -> Result<(), TableError> {
        for _ in 0..1200 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(error)?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(TableError::Other(format!(
            "table {} did not become ACTIVE within 10 minutes",
            self.table
        )))
    }

    /// Every row of the lease table, in [`Self::with_scan_segments`] segments read at once.
    async fn scan_lease_table(&self) -> Result<Vec<HashMap<String, AttributeValue>>, TableError> {
        let total = self.scan_segments;
        if total <= 1 {
            return scan_pages(&self.client, &self.table, None).await;
        }
        let mut segments = tokio::task::JoinSet::new();
        for segment in 0..total {
            let (client, table) = (self.client.clone(), self.table.clone());
            segments.spawn(async move {
                let items = scan_pages(&client, &table, Some((segment, total))).await;
                (segment, items)
            });
        }
        let mut read = Vec::with_capacity(total as usize);
        while let Some(joined) = segments.join_next().await {
            let (segment, items) =
                joined.map_err(|e| TableError::Other(format!("a scan segment failed: {e}")))?;
            read.push((segment, items?));
        }
        // In segment order, as one scan would have returned them.
        read.sort_by_key(|(segment, _)| *segment);
        Ok(read.into_iter().flat_map(|(_, items)| items).collect())
    }

    /// An UpdateItem of `lease`'s row with `:c` bound to the counter we hold and `:next` to C+1;
    /// the caller adds its expressions and any other values.
    fn counter_update(&self, lease: &Lease) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("leaseKey", s(&lease.key))
            .expression_attribute_values(":c", n(lease.counter))
            .expression_attribute_values(":next", n(lease.counter + 1))
    }

    /// Sends a counter-conditioned write: the new counter, or `Lost` with the row as the failed
    /// condition found it (`ALL_OLD`, one round trip; `docs/leases.md`, "Failed writes"). If that
    /// row is what this very write produces (`ours`: the SDK retried after a reply was lost, and
    /// the first attempt had succeeded), the write counts as done.
    async fn send_counter_write(
        req: UpdateItemFluentBuilder,
        lease: &Lease,
        ours: impl Fn(&Lease, u64) -> bool,
    ) -> Result<Written, TableError> {
        let next = lease.counter + 1;
        let out = req
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(_) => Ok(Written::Ok { counter: next }),
            Err(e) if is_condition_failure(&e) => {
                let current = match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                        c.item().and_then(|item| decode(item).ok())
                    }
                    _ => None,
                };
                Ok(failed_condition(lease, current, ours))
            }
            Err(e) => Err(error(e)),
        }
    }
}

impl LeaseTable for DynamoLeaseTable {
    fn name(&self) -> &str {
        &self.table
    }

    /// Creates the table with KCL's key schema if it does not exist, and waits until it is
    /// ACTIVE. Returns whether this call created it.
    async fn ensure_table(
        &self,
        deletion_protection: bool,
        point_in_time_recovery: bool,
    ) -> Result<bool, TableError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => {
                if point_in_time_recovery {
                    info!(table = %self.table, "leaseTablePitrEnabled is applied only to a lease table kcl-bridge creates; this one is left as it is");
                }
                if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                    return Ok(false);
                }
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                let created = self
                    .client
                    .create_table()
                    .table_name(&self.table)
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name("leaseKey")
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(|e| TableError::Other(e.to_string()))?,
                    )
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name("leaseKey")
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(|e| TableError::Other(e.to_string()))?,
                    )
                    .billing_mode(BillingMode::PayPerRequest)
                    .deletion_protection_enabled(deletion_protection)
                    .send()
                    .await;
                let ours = match created {
                    Ok(_) => {
                        info!(table = %self.table, "created the lease table");
                        true
                    }
                    // Another worker created it first: fine.
                    Err(e) if e.code() == Some("ResourceInUseException") => false,
                    Err(e) => return Err(error(e)),
                };
                self.wait_active().await?;
                if ours && point_in_time_recovery {
                    self.enable_point_in_time_recovery().await;
                }
                return Ok(true);
            }
            Err(e) => return Err(error(e)),
        }
        self.wait_active().await?;
        Ok(false)
    }

    /// Reads every row of the lease table, leases and other rows apart.
    async fn scan(&self) -> Result<Scan, TableError> {
        let mut scan = Scan::default();
        for item in self.scan_lease_table().await? {
            match decode(&item) {
                Ok(lease) => scan.leases.push(lease),
                Err(other) => {
                    debug!(key = %other.key, entity_type = ?other.entity_type, "skipping a row that is not a lease");
                    scan.other_rows.push(other);
                }
            }
        }
        Ok(scan)
    }

    /// Reads the KCL 3.0–3.4 metadata tables (`<app>-CoordinatorState`, keyed by `key`, and
    /// `<app>-WorkerMetricStats`, keyed by `wid`) as [`OtherRow`]s, so they can be judged like the
    /// rows KCL 3.5 keeps in the lease table. A table that does not exist yields no rows.
    async fn scan_legacy_metadata(
        &self,
        coordinator_state: &str,
        worker_metrics: &str,
    ) -> Result<Vec<OtherRow>, TableError> {
        let mut rows = Vec::new();
        for (table, key_attr, entity_type) in [
            (coordinator_state, "key", None),
            (worker_metrics, "wid", Some("WORKER_METRIC_STATS")),
        ] {
            let items = match scan_pages(&self.client, table, None).await {
                Ok(items) => items,
                Err(TableError::TableMissing(_)) => continue,
                Err(e) => return Err(e),
            };
            for item in items {
                let str_attr = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                rows.push(OtherRow {
                    key: str_attr(key_attr).unwrap_or_default(),
                    entity_type: entity_type
                        .map(str::to_owned)
                        .or_else(|| str_attr("entityType")),
                    client_version: str_attr("cv"),
                    last_update: last_update(&item),
                });
            }
        }
        Ok(rows)
    }

    /// Reads one lease, consistently. `None` if absent or not a lease.
    async fn get(&self, key: &str) -> Result<Option<Lease>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("leaseKey", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(error)?;
        Ok(out.item().and_then(|item| decode(item).ok()))
    }

    /// Creates a lease unless one with its key exists. Returns whether this call created it.
    async fn create_if_absent(&self, lease: &Lease) -> Result<bool, TableError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(lease)))
            .condition_expression("attribute_not_exists(leaseKey)")
            .send()
            .await;
        condition_held(put)
    }

    /// Renews a lease we hold: `leaseCounter` C → C+1, conditioned on C and on no 3.x hand-off in
    /// progress.
    async fn renew(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        let req = self
            .counter_update(lease)
            .update_expression("SET leaseCounter = :next")
            .condition_expression("leaseCounter = :c AND attribute_not_exists(checkpointOwner)");
        Self::send_counter_write(req, lease, |l, next| held_by(l, me, next)).await
    }

    /// Takes a lease (2.x algorithm): counter C → C+1, owner := me, any 3.x hand-off marker
    /// removed, owner switches +1 when the owner changes. Conditioned on C.
    async fn take(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        let switched = lease.owner.as_deref() != Some(me);
        let expression = if switched {
            "SET leaseCounter = :next, leaseOwner = :me REMOVE checkpointOwner ADD ownerSwitchesSinceCheckpoint :one"
        } else {
            "SET leaseCounter = :next, leaseOwner = :me REMOVE checkpointOwner"
        };
        let mut req = self
            .counter_update(lease)
            .update_expression(expression)
            .condition_expression("leaseCounter = :c")
            .expression_attribute_values(":me", s(me));
        if switched {
            req = req.expression_attribute_values(":one", n(1));
        }
        Self::send_counter_write(req, lease, |l, next| held_by(l, me, next)).await
    }

    /// Stores a checkpoint under the lease we hold: counter C → C+1, owner switches reset, any
    /// prepared checkpoint removed. Conditioned on C and on our ownership.
    async fn checkpoint(
        &self,
        lease: &Lease,
        me: &str,
        at: &ExtendedSequenceNumber,
    ) -> Result<Written, TableError> {
        let req = self
            .counter_update(lease)
            .update_expression(
                "SET leaseCounter = :next, checkpoint = :cp, checkpointSubSequenceNumber = :sub, \
                 ownerSwitchesSinceCheckpoint = :zero \
                 REMOVE pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState",
            )
            .condition_expression("leaseCounter = :c AND leaseOwner = :me")
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":cp", s(at.sequence_number.as_str()))
            .expression_attribute_values(":sub", n(at.sub_sequence_number))
            .expression_attribute_values(":zero", n(0));
        Self::send_counter_write(req, lease, |l, next| checkpointed_by(l, me, next, at)).await
    }

    /// Gives a lease up so that any worker may take it at once: owner removed, counter C → C+1.
    /// (Java never does this; its peers treat an ownerless lease as available.)
    async fn release(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        let req = self
            .counter_update(lease)
            .update_expression("SET leaseCounter = :next REMOVE leaseOwner")
            .condition_expression("leaseCounter = :c AND leaseOwner = :me")
            .expression_attribute_values(":me", s(me));
        Self::send_counter_write(req, lease, released).await
    }

    /// Deletes a finished shard's lease (`lease::cleanup` decides when). Unlike Java's
    /// unconditional delete, only a row that still exists at `SHARD_END`: a lease someone
    /// re-created meanwhile is never removed. Returns whether this call deleted it.
    async fn delete_finished(&self, key: &str) -> Result<bool, TableError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("leaseKey", s(key))
            .condition_expression("attribute_exists(leaseKey) AND checkpoint = :end")
            .expression_attribute_values(":end", s("SHARD_END"))
            .send()
            .await;
        condition_held(out)
    }

    /// Records a finished shard's children on its lease (counter untouched, as Java's meta update).
    async fn set_child_shards(&self, key: &str, children: &[String]) -> Result<(), TableError> {
        if children.is_empty() {
            return Ok(());
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("leaseKey", s(key))
            .update_expression("SET childShardIds = :children")
            .condition_expression("attribute_exists(leaseKey)")
            .expression_attribute_values(":children", AttributeValue::Ss(children.to_vec()))
            .send()
            .await;
        // A lease that is gone needs no children recorded.
        condition_held(out).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> Lease {
        Lease {
            key: "shardId-000000000001".into(),
            owner: Some("w1".into()),
            counter: 7,
            owner_switches_since_checkpoint: 1,
            checkpoint: ExtendedSequenceNumber::new(
                SequenceNumber::parse("49590338271490256608559692538361571095921575989136588898")
                    .unwrap(),
                3,
            ),
            pending_checkpoint: None,
            parent_shard_ids: vec!["shardId-000000000000".into()],
            child_shard_ids: vec![],
            hash_range: Some(HashKeyRange {
                start: 0,
                end: u128::MAX,
            }),
            checkpoint_owner: None,
        }
    }

    #[test]
    fn encode_uses_javas_names_and_types() {
        let item = encode(&lease());
        assert_eq!(item["leaseKey"], s("shardId-000000000001"));
        assert_eq!(item["leaseOwner"], s("w1"));
        assert_eq!(item["leaseCounter"], AttributeValue::N("7".into()));
        assert_eq!(
            item["ownerSwitchesSinceCheckpoint"],
            AttributeValue::N("1".into())
        );
        assert_eq!(
            item["checkpoint"],
            s("49590338271490256608559692538361571095921575989136588898")
        );
        assert_eq!(
            item["checkpointSubSequenceNumber"],
            AttributeValue::N("3".into())
        );
        assert_eq!(
            item["parentShardId"],
            AttributeValue::Ss(vec!["shardId-000000000000".into()])
        );
        assert_eq!(item["startingHashKey"], s("0"));
        assert_eq!(
            item["endingHashKey"],
            s("340282366920938463463374607431768211455")
        );
        assert_eq!(item["entityType"], s("LEASE"));
        assert!(
            !item.contains_key("childShardIds"),
            "empty sets are omitted"
        );
        assert_eq!(decode(&item), Ok(lease()));
    }

    #[test]
    fn rows_that_are_not_leases_are_set_aside() {
        let mut leader = HashMap::new();
        leader.insert("leaseKey".to_owned(), s("Leader"));
        leader.insert("entityType".to_owned(), s("LEADER"));
        leader.insert("ownerName".to_owned(), s("w2"));
        assert_eq!(decode(&leader).unwrap_err().key, "Leader");
        let mut migration = HashMap::new();
        migration.insert("leaseKey".to_owned(), s("Migration3.0"));
        migration.insert("cv".to_owned(), s("CLIENT_VERSION_3X"));
        let other = decode(&migration).unwrap_err();
        assert_eq!(other.client_version.as_deref(), Some("CLIENT_VERSION_3X"));
        let mut metrics = HashMap::new();
        metrics.insert("leaseKey".to_owned(), s("worker-1"));
        metrics.insert("entityType".to_owned(), s("WORKER_METRIC_STATS"));
        metrics.insert("lut".to_owned(), AttributeValue::N("1752000000".into()));
        let other = decode(&metrics).unwrap_err();
        assert_eq!(other.last_update, Some(1_752_000_000));
        // A legacy lease row (no entityType) is a lease.
        let mut item = encode(&lease());
        item.remove("entityType");
        assert!(decode(&item).is_ok());
    }
}
