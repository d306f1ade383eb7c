//! Sorted and filtered views of a table for the grid, computed as a DataFusion query over the
//! table's batches plus their row ids, and kept as a [`TableVersion`] so the grid pages through
//! it by position exactly like through the table itself. Ties are broken by row id, so a view's
//! order is deterministic.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::Schema;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use super::limits::Limits;
use serde::{Deserialize, Serialize};

use super::table::{page_schema, TableVersion, ROW_ID_COLUMN};
use super::TableError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Contains,
    NotContains,
    Equals,
    NotEquals,
    StartsWith,
    EndsWith,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    Blank,
    NotBlank,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct ColumnFilter {
    pub column: String,
    pub op: FilterOp,
    /// The value to compare with (text; compared as the column's type). Unused for blank tests.
    pub value: Option<String>,
}

/// How the grid wants a table: sorted by these keys, keeping rows that pass every filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct ViewSpec {
    pub sort: Vec<SortKey>,
    pub filters: Vec<ColumnFilter>,
}

impl ViewSpec {
    pub fn is_plain(&self) -> bool {
        self.sort.is_empty() && self.filters.is_empty()
    }
}

use super::sql::ident;

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The SQL for a view over the table registered as `source` (with its row ids). Columns must
/// exist in `schema`.
pub fn view_sql(spec: &ViewSpec, schema: &Schema, source: &str) -> Result<String, TableError> {
    view_sql_ordered(spec, schema, source, &[ident(ROW_ID_COLUMN)])
}

fn view_sql_ordered(
    spec: &ViewSpec,
    schema: &Schema,
    source: &str,
    ties: &[String],
) -> Result<String, TableError> {
    let check = |c: &str| -> Result<String, TableError> {
        schema
            .index_of(c)
            .map(|_| ident(c))
            .map_err(|_| TableError::Sql {
                message: format!("the table has no column named {c:?}"),
                line: None,
                column: None,
            })
    };
    let mut conditions = Vec::new();
    for f in &spec.filters {
        let col = check(&f.column)?;
        let text = format!("lower(CAST({col} AS VARCHAR))");
        let v = f.value.clone().unwrap_or_default();
        let lower = literal(&v.to_lowercase());
        conditions.push(match f.op {
            FilterOp::Contains => format!("strpos({text}, {lower}) > 0"),
            FilterOp::NotContains => format!("({col} IS NULL OR strpos({text}, {lower}) = 0)"),
            FilterOp::StartsWith => format!("starts_with({text}, {lower})"),
            FilterOp::EndsWith => format!("ends_with({text}, {lower})"),
            FilterOp::Equals => format!("{col} = {}", literal(&v)),
            FilterOp::NotEquals => format!("({col} IS NULL OR {col} <> {})", literal(&v)),
            FilterOp::GreaterThan => format!("{col} > {}", literal(&v)),
            FilterOp::GreaterThanOrEqual => format!("{col} >= {}", literal(&v)),
            FilterOp::LessThan => format!("{col} < {}", literal(&v)),
            FilterOp::LessThanOrEqual => format!("{col} <= {}", literal(&v)),
            FilterOp::Blank => format!("{col} IS NULL"),
            FilterOp::NotBlank => format!("{col} IS NOT NULL"),
        });
    }
    let mut order: Vec<String> = Vec::new();
    for k in &spec.sort {
        order.push(format!(
            "{} {}",
            check(&k.column)?,
            if k.descending {
                "DESC NULLS LAST"
            } else {
                "ASC NULLS FIRST"
            }
        ));
    }
    order.extend(ties.iter().cloned());
    let mut sql = format!("SELECT * FROM {}", ident(source));
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    Ok(sql)
}

/// Computes a view of `version`: its rows filtered and sorted, row ids kept.
pub async fn compute(
    version: &TableVersion,
    spec: &ViewSpec,
    limits: &Limits,
) -> Result<TableVersion, TableError> {
    let with_ids = Arc::new(page_schema(&version.schema));
    let batches: Vec<RecordBatch> = version
        .batches
        .iter()
        .zip(version.row_ids.iter())
        .map(|(b, ids)| {
            let mut columns: Vec<ArrayRef> = b.columns().to_vec();
            columns.push(ids.clone() as ArrayRef);
            RecordBatch::try_new(with_ids.clone(), columns)
        })
        .collect::<Result<_, _>>()?;
    // A private session: the view's source is invisible to the notebook's SQL. It shares the
    // engine's memory pool, so sorting a huge table spills or fails instead of exhausting RAM.
    let mut config = SessionConfig::new();
    limits.tune(&mut config);
    let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
    let partitions = ctx.copied_config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions.min(batches.len().max(1))];
    let n = parts.len();
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % n].push(b);
    }
    ctx.register_table(
        "source",
        Arc::new(MemTable::try_new(with_ids.clone(), parts)?),
    )?;
    let sql = view_sql(spec, &version.schema, "source")?;
    let result = match ctx.sql(&sql).await {
        Ok(frame) => frame.collect().await,
        Err(e) => Err(e),
    }
    .map_err(|e| limits.exhausted(&e).unwrap_or_else(|| e.into()))?;
    with_ids_split(version, result)
}

/// Computes a view of a linked table: its rows, as edited, filtered and sorted by DataFusion
/// over the files (the sort spilling under the shared pool), ties broken by row position. The
/// view is held in memory, charged to a table budget (`too_large` past it). Its row ids are the
/// rows' positions in the files, so a cell edited in a sorted view edits that row.
pub async fn compute_linked(
    linked: &Arc<super::LinkedTable>,
    spec: &ViewSpec,
    limits: &Limits,
) -> Result<TableVersion, TableError> {
    let mut config = SessionConfig::new();
    limits.tune(&mut config);
    let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
    ctx.register_table("source", linked.provider_with_ids()?)?;
    let sql = view_sql(spec, &linked.schema, "source")?;
    let budget = limits.budget("the sorted or filtered view of a linked table");
    let run = async {
        let frame = ctx.sql(&sql).await?;
        let mut stream = frame.execute_stream().await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            budget.charge(&batch).map_err(Stop::Limit)?;
            batches.push(batch);
        }
        Ok::<_, Stop>(batches)
    };
    let batches = match run.await {
        Ok(batches) => batches,
        Err(Stop::Limit(e)) => return Err(e),
        Err(Stop::DataFusion(e)) => return Err(limits.exhausted(&e).unwrap_or_else(|| e.into())),
    };
    let shown = TableVersion::first(linked.schema.clone(), Vec::new());
    with_ids_split(&shown, batches)
}

/// A view's result (the table's columns, then its row ids) as a version of `of`'s columns.
fn with_ids_split(of: &TableVersion, result: Vec<RecordBatch>) -> Result<TableVersion, TableError> {
    let id_index = of.schema.fields().len();
    let mut data = Vec::with_capacity(result.len());
    let mut ids = Vec::with_capacity(result.len());
    let mut rows = 0;
    for batch in result.into_iter().filter(|b| b.num_rows() > 0) {
        let id = batch
            .column(id_index)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .cloned()
            .ok_or_else(|| TableError::Sql {
                message: "internal: the view lost its row ids".into(),
                line: None,
                column: None,
            })?;
        rows += batch.num_rows();
        let columns: Vec<ArrayRef> = batch.columns()[..id_index].to_vec();
        data.push(RecordBatch::try_new(of.schema.clone(), columns)?);
        ids.push(Arc::new(id));
    }
    Ok(TableVersion {
        version: of.version,
        schema: of.schema.clone(),
        batches: data.into(),
        row_ids: ids.into(),
        rows,
        next_row_id: of.next_row_id,
    })
}

enum Stop {
    Limit(TableError),
    DataFusion(datafusion::error::DataFusionError),
}

impl From<datafusion::error::DataFusionError> for Stop {
    fn from(e: datafusion::error::DataFusionError) -> Stop {
        Stop::DataFusion(e)
    }
}

/// The last few views, so scrolling a sorted grid does not sort again for every page. Each is a
/// whole sorted copy of its table, so together they may hold at most `cap_bytes` (the table
/// budget): past it the least recently made go, the newest always stays.
pub struct ViewCache {
    entries: Mutex<VecDeque<(String, Arc<TableVersion>)>>,
    cap_bytes: u64,
}

impl Default for ViewCache {
    fn default() -> Self {
        ViewCache::with_cap(u64::MAX)
    }
}

/// Views kept at once.
const CACHED_VIEWS: usize = 4;

impl ViewCache {
    pub fn with_cap(cap_bytes: u64) -> ViewCache {
        ViewCache {
            entries: Mutex::default(),
            cap_bytes,
        }
    }

    /// Bytes the cached views hold.
    pub fn held_bytes(&self) -> u64 {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().map(|(_, v)| v.memory_bytes()).sum()
    }

    /// Forgets every cached view (they are made again when asked for); returns their bytes.
    pub fn clear(&self) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = entries.iter().map(|(_, v)| v.memory_bytes()).sum();
        entries.clear();
        bytes
    }

    pub fn key(notebook: &str, table: &str, version: u64, spec: &ViewSpec) -> String {
        format!(
            "{notebook}/{table}@{version}:{}",
            serde_json::to_string(spec).unwrap_or_default()
        )
    }

    pub fn get(&self, key: &str) -> Option<Arc<TableVersion>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, view: Arc<TableVersion>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _)| *k != key);
        entries.push_front((key, view));
        entries.truncate(CACHED_VIEWS);
        while entries.len() > 1
            && entries.iter().map(|(_, v)| v.memory_bytes()).sum::<u64>() > self.cap_bytes
        {
            entries.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    fn sample() -> TableVersion {
        let schema = Arc::new(Schema::new(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = |cities: Vec<Option<&str>>, amounts: Vec<Option<f64>>, ns: Vec<i64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(cities)),
                    Arc::new(Float64Array::from(amounts)),
                    Arc::new(Int64Array::from(ns)),
                ],
            )
            .unwrap()
        };
        TableVersion::first(
            schema.clone(),
            vec![
                batch(
                    vec![Some("Lyon"), Some("Paris"), None],
                    vec![Some(3.0), Some(1.0), Some(2.0)],
                    vec![0, 1, 2],
                ),
                batch(
                    vec![Some("Nice"), Some("lyon-sud")],
                    vec![None, Some(3.0)],
                    vec![3, 4],
                ),
            ],
        )
    }

    fn ns(v: &TableVersion) -> Vec<i64> {
        v.batches
            .iter()
            .flat_map(|b| {
                b.column(2)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn cached_views_stay_under_their_byte_cap_and_the_newest_stays() {
        let t = sample();
        let sort = |column: &str| ViewSpec {
            sort: vec![SortKey {
                column: column.into(),
                descending: false,
            }],
            filters: vec![],
        };
        let by_amount = Arc::new(
            compute(&t, &sort("amount"), &Limits::default())
                .await
                .unwrap(),
        );
        let by_n = Arc::new(compute(&t, &sort("n"), &Limits::default()).await.unwrap());
        let one = by_amount.memory_bytes();
        // Room for one view and a half: the second evicts the first.
        let cache = ViewCache::with_cap(one + one / 2);
        cache.put("a".into(), by_amount.clone());
        cache.put("n".into(), by_n.clone());
        assert!(cache.get("a").is_none(), "the older view was evicted");
        assert!(cache.get("n").is_some(), "the newest view stays");
        assert!(cache.held_bytes() <= one + one / 2);
        // A cap below one view still keeps the newest: the grid needs it to page.
        let tight = ViewCache::with_cap(1);
        tight.put("a".into(), by_amount);
        assert!(tight.get("a").is_some());
        // Without a byte cap, the count cap of 4 applies.
        let roomy = ViewCache::default();
        roomy.put("a".into(), by_n.clone());
        roomy.put("n".into(), by_n);
        assert!(roomy.get("a").is_some() && roomy.get("n").is_some());
    }

    #[tokio::test]
    async fn sorts_with_ties_broken_by_row_id_and_keeps_ids() {
        let t = sample();
        let spec = ViewSpec {
            sort: vec![SortKey {
                column: "amount".into(),
                descending: true,
            }],
            filters: vec![],
        };
        let v = compute(&t, &spec, &Limits::default()).await.unwrap();
        assert_eq!(
            ns(&v),
            [0, 4, 2, 1, 3],
            "3.0 (ids 0, 4), 2.0, 1.0, then NULL last"
        );
        let page = v.page(0, 2).unwrap();
        let ids = page
            .column(3)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert_eq!(
            ids.values().to_vec(),
            [0, 4],
            "row ids travel with their rows"
        );
    }

    #[tokio::test]
    async fn filters_by_text_and_number() {
        let t = sample();
        let contains = ViewSpec {
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Contains,
                value: Some("LYON".into()),
            }],
        };
        assert_eq!(
            ns(&compute(&t, &contains, &Limits::default()).await.unwrap()),
            [0, 4],
            "case-insensitive"
        );
        let numeric = ViewSpec {
            sort: vec![SortKey {
                column: "n".into(),
                descending: true,
            }],
            filters: vec![ColumnFilter {
                column: "amount".into(),
                op: FilterOp::GreaterThanOrEqual,
                value: Some("2".into()),
            }],
        };
        assert_eq!(
            ns(&compute(&t, &numeric, &Limits::default()).await.unwrap()),
            [4, 2, 0]
        );
        let blank = ViewSpec {
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Blank,
                value: None,
            }],
        };
        assert_eq!(
            ns(&compute(&t, &blank, &Limits::default()).await.unwrap()),
            [2]
        );
        let quote = ViewSpec {
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Equals,
                value: Some("x' OR '1'='1".into()),
            }],
        };
        assert_eq!(
            compute(&t, &quote, &Limits::default()).await.unwrap().rows,
            0,
            "values are literals, never SQL"
        );
        let unknown = ViewSpec {
            sort: vec![SortKey {
                column: "nope".into(),
                descending: false,
            }],
            filters: vec![],
        };
        assert!(compute(&t, &unknown, &Limits::default()).await.is_err());
    }
}
