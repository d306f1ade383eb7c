//! SQL on a notebook's tables: a DataFusion session per notebook, with everything that could
//! reach outside the workspace switched off, and errors that say where in the query they are.
//!
//! Switched off: DDL (`CREATE EXTERNAL TABLE`, `CREATE TABLE`, `DROP`), DML (`COPY`, `INSERT`),
//! and statements (`SET`); DataFusion's URL tables (`SELECT * FROM 'file.csv'`) are off by
//! default and stay off, and no file-reading table functions are registered. Queries can only
//! see the tables Quire registered.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::export::RowSink;
use super::interrupt::{interruptible, is_interrupted};
use super::limits::Limits;
use super::table::{columns_of, TableVersion};
use super::TableError;

/// One notebook's SQL session.
pub struct SqlSession {
    ctx: SessionContext,
    limits: Limits,
}

impl Default for SqlSession {
    fn default() -> Self {
        SqlSession::new(&Limits::default())
    }
}

/// What a cell's SQL may do: query, never define, change or set anything.
pub(crate) fn restricted() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

pub(crate) use super::name::ident;

impl SqlSession {
    /// A session whose queries share the engine's memory pool and spill folder.
    pub fn new(limits: &Limits) -> SqlSession {
        let mut config = SessionConfig::new().with_information_schema(true);
        // Spans let planning errors (an unknown column, a bad type) carry a line and column.
        config.options_mut().sql_parser.collect_spans = true;
        limits.tune(&mut config);
        let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
        // A BIGINT total past 2^63 is an error in words, not DataFusion's wrapped number.
        ctx.register_udaf(super::checked_sum::udaf());
        // A percentile between two values exactly there, not cut to six decimals.
        ctx.register_udaf(super::exact_percentile::udaf());
        // And `pop * pop` past it is one too, not a wrapped number.
        super::checked_arithmetic::install(&ctx);
        Self {
            ctx,
            limits: limits.clone(),
        }
    }

    /// The memory and disk limits its queries run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Registers (or replaces) a table under `name`. The batches are shared, not copied, in
    /// one partition in the table's order: DataFusion splits it over partitions itself where
    /// work gains from it (aggregates, joins), and a query that only reads rows keeps their
    /// order (see [`in_table_order`]).
    pub fn register(&self, name: &str, version: &TableVersion) -> Result<(), TableError> {
        let table = MemTable::try_new(version.schema.clone(), vec![version.batches.to_vec()])?;
        self.register_provider(name, Arc::new(table))
    }

    /// Registers (or replaces) a table under `name` that reads its own data (a linked file, a
    /// table held in memory).
    pub fn register_provider(
        &self,
        name: &str,
        table: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<(), TableError> {
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, table)?;
        Ok(())
    }

    /// Attaches (or replaces) a catalog under `name`: a database's schemas and tables, reached
    /// in SQL as `name.schema.table`.
    pub fn attach(&self, name: &str, catalog: Arc<dyn datafusion::catalog::CatalogProvider>) {
        self.ctx.register_catalog(name, catalog);
    }

    /// Detaches the catalog `name`. DataFusion has no way to remove one, so an empty catalog
    /// takes its place: its tables are no longer found.
    pub fn detach(&self, name: &str) {
        self.ctx.register_catalog(
            name,
            Arc::new(datafusion::catalog::MemoryCatalogProvider::new()),
        );
    }

    /// Registers (or replaces) a scalar function and an aggregate its callers' queries use.
    pub(crate) fn register_functions(
        &self,
        scalar: datafusion::logical_expr::ScalarUDF,
        aggregate: datafusion::logical_expr::AggregateUDF,
    ) {
        self.ctx.register_udf(scalar);
        self.ctx.register_udaf(aggregate);
    }

    pub fn deregister(&self, name: &str) -> Result<(), TableError> {
        self.ctx.deregister_table(name)?;
        Ok(())
    }

    /// Like [`SqlSession::run`], reporting the rows produced so far after every batch and
    /// stopping when `cancel` fires: the stream is dropped, which stops DataFusion's operators
    /// at their next yield and frees what they held.
    pub async fn run_cancellable(
        &self,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Vec<RecordBatch>, TableError> {
        Ok(self.run_with_schema(sql, on_rows, cancel).await?.1)
    }

    /// [`SqlSession::run_cancellable`], with the result's schema, known even when no row came.
    pub async fn run_with_schema(
        &self,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), TableError> {
        let mut held = Collected::new(&self.limits);
        self.run_into(sql, on_rows, cancel, &mut held).await?;
        Ok(held.into_parts())
    }

    /// Runs `sql`, its rows going to `sink` as they come (never held here).
    pub async fn run_into(
        &self,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
        sink: &mut dyn RowSink,
    ) -> Result<(), TableError> {
        super::parse_guard::check(sql)?;
        let options = restricted();
        let run = async {
            let frame = in_one_partition_if_ordered(self.ctx.sql_with_options(sql, options).await?);
            sink.notes(whole_number_divisions(frame.logical_plan()));
            let task = Arc::new(frame.task_ctx());
            let plan = interruptible(frame.create_physical_plan().await?, cancel)?;
            let mut stream = execute_stream(plan, task)?;
            sink.start(&stream.schema()).map_err(Stop::Limit)?;
            let mut rows = 0u64;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(false),
                    next = stream.next() => match next {
                        None => return Ok(true),
                        Some(batch) => {
                            let batch = batch?;
                            rows += batch.num_rows() as u64;
                            sink.push(batch).map_err(Stop::Limit)?;
                            on_rows(rows);
                        }
                    }
                }
            }
        };
        match run.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(TableError::Cancelled),
            Err(Stop::Limit(e)) => Err(e),
            Err(Stop::DataFusion(e)) if is_interrupted(&e) => Err(TableError::Cancelled),
            Err(Stop::DataFusion(e)) => match self.limits.exhausted(&e) {
                Some(too_large) => Err(too_large),
                None => Err(locate(describe(e), sql)),
            },
        }
    }

    /// The columns `sql` would return, from planning it (nothing is read); errors name where in
    /// `sql` they are, as a run's would.
    pub async fn schema_of(&self, sql: &str) -> Result<SchemaRef, TableError> {
        super::parse_guard::check(sql)?;
        let options = restricted();
        match self.ctx.sql_with_options(sql, options).await {
            Ok(frame) => Ok(Arc::new(frame.schema().as_arrow().clone())),
            Err(e) => Err(locate(describe(e), sql)),
        }
    }

    /// [`SqlSession::run_cancellable`], with what the user may not expect of the answer (see
    /// [`QueryPreview::notes`]), found in the plan the query runs.
    pub async fn run_noted(
        &self,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<(Vec<RecordBatch>, Vec<String>), TableError> {
        let mut held = Collected::new(&self.limits);
        self.run_into(sql, on_rows, cancel, &mut held).await?;
        let notes = held.take_notes();
        Ok((held.into_parts().1, notes))
    }

    /// Plans and runs `sql` under the restrictions above, collecting every batch.
    pub async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, TableError> {
        self.run_cancellable(sql, &|_| {}, &CancellationToken::new())
            .await
    }
}

/// A note when `plan` divides a whole number by a whole number: DataFusion, as PostgreSQL,
/// gives a whole number (`count(*) FILTER (…) / count(*)` is 0), where DuckDB and pandas give
/// a fraction; an analyst reads 0 % and trusts it.
fn whole_number_divisions(plan: &LogicalPlan) -> Vec<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
    let mut found: Vec<String> = Vec::new();
    let _ = plan.apply_with_subqueries(|p| {
        let schema = datafusion::logical_expr::utils::merge_schema(&p.inputs());
        p.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::Divide,
                    right,
                }) = e
                {
                    let whole = |x: &Expr| x.get_type(&schema).is_ok_and(|t| t.is_integer());
                    // `x > 1`, not DataFusion's `x > Int64(1)`.
                    static TYPED: std::sync::LazyLock<regex::Regex> =
                        std::sync::LazyLock::new(|| {
                            regex::Regex::new(
                                r"\b(?:U?Int(?:8|16|32|64)|Float(?:32|64))\((-?[0-9.e+-]+)\)",
                            )
                            .expect("a valid pattern")
                        });
                    static TEXT: std::sync::LazyLock<regex::Regex> =
                        std::sync::LazyLock::new(|| {
                            regex::Regex::new(r#"\b(?:Large)?Utf8(?:View)?\("([^"]*)"\)"#)
                                .expect("a valid pattern")
                        });
                    let text = TYPED
                        .replace_all(&e.human_display().to_string(), "$1")
                        .into_owned();
                    let text = TEXT.replace_all(&text, "'$1'").into_owned();
                    if whole(left) && whole(right) && !found.contains(&text) {
                        found.push(text);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    let Some(first) = found.first() else {
        return Vec::new();
    };
    let first: String = match first.chars().count() > 60 {
        true => first.chars().take(59).chain(['…']).collect(),
        false => first.clone(),
    };
    let more = match found.len() {
        1 => String::new(),
        2 => " (and one more division)".into(),
        n => format!(" (and {} more divisions)", n - 1),
    };
    vec![format!(
        "{first}{more} divides whole numbers, which gives a whole number here (7 / 2 is 3, as in \
         PostgreSQL). For a fraction, make a side a DOUBLE: CAST(… AS DOUBLE), or 1.0 * …"
    )]
}

/// Whether `plan` hands on its table's rows in the table's order, with nothing that orders
/// them otherwise: scans, filters, projections and limits, without ORDER BY.
fn in_table_order(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::TableScan(_) | LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => true,
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_) => {
            // A subquery in an expression (`WHERE x > (SELECT avg(x) FROM big)`) becomes a
            // join: its work would run in one partition, and its rows keep no order anyway.
            !plan.expressions().iter().any(has_subquery)
                && plan.inputs().into_iter().all(in_table_order)
        }
        _ => false,
    }
}

fn has_subquery(expr: &datafusion::logical_expr::Expr) -> bool {
    use datafusion::common::tree_node::TreeNode;
    use datafusion::logical_expr::Expr;
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
        ))
    })
    .unwrap_or(true)
}

/// `frame`, planned to run in one partition when it only reads rows ([`in_table_order`]).
/// DataFusion scans a table in several partitions and hands on their rows as they come, so
/// `SELECT * FROM t LIMIT 10` showed rows from the middle of the table, and a filter's rows
/// came in an order that changed between runs. DuckDB and pandas keep the file's order; so
/// does Quire, at the cost of such a query using one core.
fn in_one_partition_if_ordered(frame: DataFrame) -> DataFrame {
    if !in_table_order(frame.logical_plan()) {
        return frame;
    }
    let (mut state, plan) = frame.into_parts();
    state.config_mut().options_mut().execution.target_partitions = 1;
    DataFrame::new(state, plan)
}

/// Why a query stopped early.
enum Stop {
    DataFusion(DataFusionError),
    /// The sink refused the rows (the result past its budget, a file that cannot be written).
    Limit(TableError),
}

/// A result held in memory, charged to its budget as it comes.
pub struct Collected {
    budget: super::limits::Budget,
    schema: Option<SchemaRef>,
    batches: Vec<RecordBatch>,
    notes: Vec<String>,
}

impl Collected {
    pub fn new(limits: &Limits) -> Collected {
        Collected {
            budget: limits.budget("the query's result"),
            schema: None,
            batches: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// What the query noted about its answer.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    pub fn into_parts(self) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = self
            .schema
            .unwrap_or_else(|| Arc::new(datafusion::arrow::datatypes::Schema::empty()));
        (schema, self.batches)
    }
}

impl RowSink for Collected {
    fn start(&mut self, schema: &SchemaRef) -> Result<(), TableError> {
        self.schema = Some(schema.clone());
        Ok(())
    }

    fn notes(&mut self, notes: Vec<String>) {
        self.notes = notes;
    }

    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError> {
        self.budget.charge(&batch)?;
        self.batches.push(batch);
        Ok(())
    }
}

impl From<DataFusionError> for Stop {
    fn from(e: DataFusionError) -> Stop {
        Stop::DataFusion(e)
    }
}

/// `sql` without what may follow its one statement: a `;`, blank lines and `--` comment lines,
/// so it can be wrapped as a subquery (`SELECT 1; -- done` is `SELECT 1`).
pub fn without_terminator(sql: &str) -> &str {
    let mut text = sql.trim_end();
    loop {
        if let Some(rest) = text.strip_suffix(';') {
            text = rest.trim_end();
            continue;
        }
        let start = text.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&text[start..]) {
            // The last line is a comment, or ends in one after a `;`: drop the comment.
            Some(at) if at == 0 && start > 0 => text = text[..start].trim_end(),
            Some(at) if text[start..start + at].trim_end().ends_with(';') => {
                text = text[..start + at].trim_end()
            }
            _ => return text,
        }
    }
}

/// Where a `--` comment starts in `line`, outside quoted text.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '-') if chars.peek().is_some_and(|(_, n)| *n == '-') => return Some(i),
            _ => {}
        }
    }
    None
}

/// A DataFusion error as the user should read it, with its position in the query if known.
pub fn describe(e: DataFusionError) -> TableError {
    // A store that failed under a query (a linked bucket's server down, keys revoked) is said
    // as what it is, not as a query error.
    if let Some(store) = store_cause(&e) {
        return TableError::Remote(crate::remote::RemoteError::from_store(
            "the object store",
            "an object of a linked table",
            store,
        ));
    }
    if let Some(remote) = remote_cause(&e) {
        return TableError::Remote(remote);
    }
    let (line, column) = match e.diagnostic().and_then(|d| d.span) {
        Some(span) if span.start.line > 0 => (Some(span.start.line), Some(span.start.column)),
        _ => position_in_text(&e.to_string()),
    };
    // The user reads the root cause in DataFusion's words, without its wrappers: no
    // `ParserError("…")`, no position repeated in the text (it is carried apart), no request to
    // file a bug report.
    let message = match e.find_root() {
        DataFusionError::SQL(parser, _) => {
            let text = parser.to_string();
            let text = text.strip_prefix("sql parser error: ").unwrap_or(&text);
            format!("the query cannot be read: {text}")
        }
        DataFusionError::Plan(m) | DataFusionError::Internal(m) => m.clone(),
        DataFusionError::SchemaError(inner, _) => inner.to_string(),
        DataFusionError::ArrowError(inner, _)
            if matches!(**inner, datafusion::arrow::error::ArrowError::DivideByZero) =>
        {
            // Arrow says the same for `%`, so the words cover both.
            "a division or remainder by zero: a row's divisor is 0 (NULLIF(divisor, 0) gives \
             NULL there instead)"
                .into()
        }
        other => other.message().into_owned(),
    };
    let message = reword(&plain(
        &message.replace("This feature is not implemented: ", ""),
    ));
    TableError::Sql {
        message,
        line,
        column,
    }
}

/// The object-store error under a DataFusion error, however deep (DataFusion wraps it
/// directly, or the parquet reader wraps it as an external error).
/// A connection's failure under a query (an attached database down, a login refused, a
/// query Postgres refused), in words.
fn remote_cause(e: &DataFusionError) -> Option<crate::remote::RemoteError> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = at {
        if let Some(remote) = error.downcast_ref::<crate::remote::RemoteError>() {
            return Some(remote.clone());
        }
        #[cfg(feature = "postgres")]
        if error.downcast_ref::<tokio_postgres::Error>().is_some()
            || error
                .downcast_ref::<tokio_postgres::error::DbError>()
                .is_some()
        {
            return Some(crate::remote::from_postgres("the database", "", error));
        }
        at = error.source();
    }
    // The database table provider flattens what fails while rows stream to text.
    #[cfg(feature = "postgres")]
    {
        let text = e.find_root().to_string();
        if text.contains("PostgreSQL connection failed.") {
            log::warn!("the database: {text}");
            return Some(crate::remote::RemoteError::Unreachable {
                endpoint: "the database".into(),
                detail: "the connection to it failed while the query ran".into(),
            });
        }
        if let Some(at) = text.find("Query execution failed.") {
            log::warn!("the database: {text}");
            // "ERROR: division by zero" (or "db error: …"), then its code and a pointer to the
            // manual: the server's own sentence is what the user reads.
            let said = text[at + "Query execution failed.".len()..]
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .trim_start_matches("db error:")
                .trim()
                .trim_start_matches("ERROR:")
                .trim();
            return Some(crate::remote::RemoteError::Failed {
                endpoint: "the database".into(),
                detail: if said.is_empty() || said.starts_with("SQLSTATE") {
                    "a query failed there (Quire's log has its words)".into()
                } else {
                    format!("it refused the query: {said}")
                },
            });
        }
    }
    None
}

fn store_cause(e: &DataFusionError) -> Option<&object_store::Error> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = at {
        if let Some(store) = error.downcast_ref::<object_store::Error>() {
            return Some(store);
        }
        if let Some(DataFusionError::ObjectStore(store)) = error.downcast_ref::<DataFusionError>() {
            return Some(store);
        }
        at = error.source();
    }
    None
}

/// DataFusion's words for the mistakes people make most, said as a user reads them: no
/// `datafusion.public.` catalog path, no setting the user cannot change, no Arrow type names
/// where a kind of value is meant. Anything else is left as it is.
fn reword(message: &str) -> String {
    let unqualified = |name: &str| -> String {
        // `movies."Action"` or `movies.title`: the column as the user writes it.
        match name.find("\"") {
            Some(quote) => name[quote..].to_string(),
            None => name.rsplit('.').next().unwrap_or(name).to_string(),
        }
    };
    if let Some(rest) = message.strip_prefix("No field named ") {
        let (name, rest) = rest.split_once(['.', '\n']).unwrap_or((rest, ""));
        let mut out = format!("there is no column {}", name.trim());
        match rest
            .split_once("Did you mean '")
            .and_then(|(_, g)| g.split_once("'?"))
        {
            Some(guess) => out.push_str(&format!(": did you mean {}?", unqualified(guess.0))),
            None => out.push('.'),
        }
        if rest.contains("case sensitive") {
            out.push_str(" A name with capitals is written in double quotes.");
        }
        if let Some((_, valid)) = rest.split_once("Valid fields are ") {
            let names: Vec<String> = valid.split(", ").map(|n| unqualified(n.trim())).collect();
            let shown = names
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = match names.len().saturating_sub(30) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            out.push_str(&format!(" The columns here are {shown}{more}"));
        }
        return out;
    }
    if let Some(rest) = message.strip_prefix("table '") {
        if let Some((name, "")) = rest.split_once("' not found") {
            let name = name.strip_prefix("datafusion.public.").unwrap_or(name);
            // `unknown_table` reads this sentence back.
            return format!("there is no table {name} in this notebook");
        }
    }
    if let Some(rest) = message.strip_prefix("Invalid function '") {
        if let Some((name, rest)) = rest.split_once("'.") {
            // DuckDB's and MySQL's month(d), year(d)…: here a part of a date is date_part's.
            const PARTS: [&str; 9] = [
                "year",
                "quarter",
                "month",
                "week",
                "day",
                "dayofweek",
                "hour",
                "minute",
                "second",
            ];
            if let Some(part) = PARTS.iter().find(|p| name.eq_ignore_ascii_case(p)) {
                let part = match *part {
                    "dayofweek" => "dow",
                    p => p,
                };
                return format!(
                    "there is no function {name}: date_part('{part}', column) (or extract({part} \
                     FROM column)) gives it"
                );
            }
            let guess = rest
                .split_once("Did you mean '")
                .and_then(|(_, g)| g.split_once("'?"))
                .map(|(g, _)| format!(" (did you mean {g}?)"))
                .unwrap_or_default();
            return format!("there is no function {name}{guess}");
        }
    }
    if let Some(rest) = message.strip_prefix("Ambiguous reference to unqualified field ") {
        let name = rest.trim();
        return format!(
            "the column {name} is in more than one table here: say which, as table.{name} (or \
             its alias)"
        );
    }
    if message.starts_with("Column in SELECT must be in GROUP BY or an aggregate function") {
        if let Some(column) = message
            .split_once("column \"")
            .and_then(|(_, c)| c.split_once('"'))
            .map(|(c, _)| unqualified(c))
        {
            return format!(
                "the column {column} must be in the GROUP BY, or inside an aggregate such as count, sum \
                 or max, since other columns are aggregated"
            );
        }
    }
    // to_date / to_timestamp with a format (the transform dialog's "written as").
    if let Some(rest) = message.strip_prefix("Error parsing timestamp from '") {
        if let Some((value, rest)) = rest.split_once("' using format '") {
            if let Some((format, _)) = rest.split_once("':") {
                return format!(
                    "the text {value:?} is not a date written as {format}: check the format, \
                     or leave such values out first"
                );
            }
        }
    }
    // A text compared with or cast to a date (`extract(year FROM '07/15/1957')`, a linked
    // file's dates written month first): arrow reads ISO 8601 only.
    if let Some(rest) = message
        .strip_prefix("Parser error: Error parsing timestamp from '")
        .or_else(|| message.strip_prefix("Error parsing timestamp from '"))
    {
        if let Some((value, _)) = rest.split_once("': ") {
            return format!(
                "the text {value:?} is not a date as SQL reads one (2012-01-31): to_date(column, \
                 '%m/%d/%Y') reads dates written another way"
            );
        }
    }
    if message.starts_with("DDL not supported") {
        return "SQL cells read data and do not create or drop tables: to keep what a query \
                returns, run its SELECT and use Keep as table… on the result"
            .into();
    }
    if message.starts_with("DML not supported") || message.starts_with("Insert into") {
        return "SQL cells read data and do not change it: edit cells in the table's grid, or use \
                Transform… to change a column or keep the rows that match"
            .into();
    }
    if message.contains("only supports a single SQL statement") {
        return "a cell runs one statement: put each in a cell of its own".into();
    }
    if let Some(rest) = message
        .strip_prefix("Cast error: Cannot cast string '")
        .or_else(|| message.strip_prefix("Cast error: Cannot cast value '"))
    {
        if let Some((value, rest)) = rest.rsplit_once("' to value of ") {
            let kind = rest.trim_end_matches(" type").trim();
            return format!(
                "the text {value:?} is not {}; TRY_CAST gives NULL for such values instead of \
                 stopping",
                known_kind(kind, false)
            );
        }
    }
    if let Some(said) = refused_arguments(message) {
        return said;
    }
    if let Some(rest) = message.strip_prefix("Cast error: Can't cast value ") {
        if let Some((value, kind)) = rest.rsplit_once(" to type ") {
            let kind = kind.trim();
            return format!(
                "the value {value} does not fit in {}: CAST it to DECIMAL(38, 0) or DOUBLE \
                 instead, or use TRY_CAST for NULL where it does not fit",
                known_kind(kind, true)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("Cannot coerce arithmetic expression ") {
        if let Some(expression) = rest.strip_suffix(" to valid types") {
            return format!(
                "{expression} cannot be computed: the two sides are different kinds of value \
                 (CAST one of them)"
            );
        }
    }
    if let Some(text) = message.strip_prefix("the query cannot be read: ") {
        if let Some((expected, found)) = text
            .strip_prefix("Expected: ")
            .and_then(|t| t.rsplit_once(", found: "))
        {
            return match found.trim() {
                "EOF" | ";" => {
                    format!("the query cannot be read: it ends where {expected} should follow")
                }
                found => format!("the query cannot be read: {expected} was expected, not {found}"),
            };
        }
    }
    message.to_string()
}

/// The table a query named that the notebook does not have, from [`reword`]'s words.
pub fn unknown_table(message: &str) -> Option<&str> {
    message
        .strip_prefix("there is no table ")?
        .strip_suffix(" in this notebook")
}

/// DataFusion's three ways of saying a function cannot take its arguments ("Function 'avg'
/// failed to match any signature, errors: … requires Decimal, but received String …",
/// "Failed to coerce arguments to satisfy a call to 'sqrt' function: coercion from Utf8 …",
/// "Function 'abs' expects Numeric but received String …"), in words with the way out: an
/// analyst's `avg` over a column imported as text met the first.
fn refused_arguments(message: &str) -> Option<String> {
    let message = message.strip_prefix("Internal error: ").unwrap_or(message);
    let quoted = |after: &str| {
        let rest = &message[message.find(after)? + after.len()..];
        rest.split_once('\'').map(|(name, _)| name.to_string())
    };
    let name = if message.contains("failed to match any signature")
        || message.contains("No function matches the given name")
    {
        quoted("Function '").or_else(|| quoted("call to '"))?
    } else {
        return None;
    };
    let text = [
        "received String",
        "from Utf8",
        "from LargeUtf8",
        "(Utf8)",
        "(Utf8View)",
    ]
    .iter()
    .any(|t| message.contains(t));
    let wants = |kinds: &[&str]| kinds.iter().any(|k| message.contains(k));
    Some(
        if text && wants(&["Decimal", "Float64", "Int64", "Numeric"]) {
            format!(
                "{name}() takes numbers, and this is text: CAST it to a number first \
             (CAST(x AS DOUBLE)), or use TRY_CAST, which gives NULL for a value that is not one"
            )
        } else if text && wants(&["Timestamp", "Date32", "Date"]) {
            format!(
                "{name}() takes dates or date-times, and this is text: CAST it first \
             (CAST(x AS DATE)), or read it with to_date(x, '%m/%d/%Y') when it is written \
             another way"
            )
        } else {
            format!(
                "{name}() cannot take values of these types: CAST them to the kind it takes first"
            )
        },
    )
}

/// A kind of value in words, the Arrow type's name only where no words are known for it;
/// `sized`: a whole number's size too (where a value does not fit, `Int16` is not `Int64`).
fn known_kind(arrow: &str, sized: bool) -> String {
    match (kind_of(arrow), arrow) {
        ("of that type", _) => format!("of type {arrow}"),
        (words, "Int8" | "Int16" | "Int32" | "UInt8" | "UInt16" | "UInt32") if sized => {
            let bits = &arrow[arrow.find(char::is_numeric).unwrap_or(0)..];
            format!("{words} of {bits} bits")
        }
        (words, _) => words.to_string(),
    }
}

/// A kind of value, in words, for an Arrow type's name.
fn kind_of(arrow: &str) -> &'static str {
    match arrow {
        "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" | "UInt64" => {
            "a whole number"
        }
        "Float16" | "Float32" | "Float64" => "a number",
        "Boolean" => "true or false",
        "Date32" | "Date64" => "a date",
        a if a.starts_with("Timestamp") => "a date-time",
        a if a.starts_with("Decimal") => "a decimal number",
        _ => "of that type",
    }
}

/// `message` without sqlparser's " at Line: 1, Column: 8" and DataFusion's bug-report appeal.
fn plain(message: &str) -> String {
    let mut text = message.to_string();
    if let Some(at) = text.find("This issue was likely caused by a bug in DataFusion") {
        text.truncate(at);
    }
    while let Some(at) = text.find(" at Line: ") {
        let rest = &text[at + " at Line: ".len()..];
        let end = rest
            .find(", Column: ")
            .map(|c| c + ", Column: ".len())
            .map(|c| c + rest[c..].chars().take_while(char::is_ascii_digit).count())
            .unwrap_or(0);
        text.replace_range(at..at + " at Line: ".len() + end, "");
    }
    text.trim().trim_end_matches('.').to_string()
}

/// When DataFusion names the unknown column or table but not where it is, finds that name in
/// the query (as a whole word) so the editor can still point at it.
fn locate(error: TableError, sql: &str) -> TableError {
    let TableError::Sql {
        message,
        line: None,
        column,
    } = error
    else {
        return error;
    };
    let name = unknown_name(&message);
    let found = match message.contains("it ends where") {
        // The query stops short: the editor points at its end.
        true => end_of(without_terminator(sql)),
        false => name.as_deref().and_then(|n| find_word(sql, n)),
    };
    match found {
        Some((line, col)) => TableError::Sql {
            message,
            line: Some(line),
            column: Some(col),
        },
        None => TableError::Sql {
            message,
            line: None,
            column,
        },
    }
}

/// The identifier in "No field named cty." / "table 'x' not found" style messages.
fn unknown_name(message: &str) -> Option<String> {
    let after = |key: &str| message.find(key).map(|i| &message[i + key.len()..]);
    let raw = if let Some(rest) = after("there is no column ") {
        rest.split([' ', ':', '.']).next()?.to_string()
    } else if let Some(rest) = after("there is no table ") {
        rest.split(' ').next()?.to_string()
    } else if let Some(rest) = after("No field named ") {
        rest.split(|c: char| c.is_whitespace() || c == ',')
            .next()?
            .trim_end_matches('.')
            .to_string()
    } else if let Some(rest) = after("table '") {
        rest.split('\'').next()?.to_string()
    } else {
        return None;
    };
    let raw = raw.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    Some(raw.rsplit('.').next()?.trim_matches('"').to_string()).filter(|s| !s.is_empty())
}

/// 1-based line and column just past the last character of `sql`.
fn end_of(sql: &str) -> Option<(u64, u64)> {
    let lines = sql.lines().count().max(1);
    let last = sql.lines().last().unwrap_or("");
    Some((lines as u64, last.chars().count() as u64 + 1))
}

/// 1-based line and column of the first whole-word, case-insensitive occurrence of `word`.
fn find_word(sql: &str, word: &str) -> Option<(u64, u64)> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for (n, line) in sql.lines().enumerate() {
        let lower = line.to_lowercase();
        let target = word.to_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find(&target) {
            let at = from + i;
            let before = lower[..at].chars().next_back();
            let after = lower[at + target.len()..].chars().next();
            if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
                return Some((n as u64 + 1, lower[..at].chars().count() as u64 + 1));
            }
            from = at + target.len().max(1);
        }
    }
    None
}

/// sqlparser writes "at Line: 1, Column: 8".
fn position_in_text(text: &str) -> (Option<u64>, Option<u64>) {
    let number_after = |key: &str| -> Option<u64> {
        let at = text.find(key)? + key.len();
        text[at..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    (number_after("Line:"), number_after("Column:"))
}

/// Rows a preview carries at most; the grid pages through the rest (tables issue).
pub const PREVIEW_ROWS: usize = 200;

pub use super::table::ColumnInfo;

/// The first rows of a result, rendered as text, with its shape and timing.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct QueryPreview {
    pub columns: Vec<ColumnInfo>,
    /// Up to [`PREVIEW_ROWS`] rows; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    pub row_count: u64,
    pub truncated: bool,
    pub elapsed_ms: f64,
    /// What the user may not expect of the answer, said beside it (a division of whole numbers
    /// gives a whole number).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl QueryPreview {
    pub fn from_batches(batches: &[RecordBatch], elapsed: Duration) -> QueryPreview {
        let columns = batches
            .first()
            .map(|b| columns_of(&b.schema()))
            .unwrap_or_default();
        let row_count: usize = batches.iter().map(|b| b.num_rows()).sum();
        // A missing cell is None below; only a value inside a list or struct reaches the
        // formatter as null.
        let mut rows = Vec::new();
        'batches: for batch in batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| {
                    super::cell_text::CellText::try_new(c.as_ref())
                        .ok()
                        .map(|f| (c.clone(), f))
                })
                .collect();
            for row in 0..batch.num_rows() {
                if rows.len() == PREVIEW_ROWS {
                    break 'batches;
                }
                rows.push(
                    formatters
                        .iter()
                        .map(|f| match f {
                            // A column of the Null type (`SELECT NULL`) has no validity
                            // bitmap: every one of its values is missing.
                            Some((array, fmt))
                                if !array.is_null(row) && array.data_type() != &DataType::Null =>
                            {
                                Some(fmt.value(row))
                            }
                            Some(_) => None,
                            None => Some("(cannot display)".into()),
                        })
                        .collect(),
                );
            }
        }
        QueryPreview {
            columns,
            truncated: rows.len() < row_count,
            rows,
            row_count: row_count as u64,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            notes: Vec::new(),
        }
    }
}

/// The DataFusion version compiled in, shown in the about box.
pub fn datafusion_version() -> &'static str {
    datafusion::DATAFUSION_VERSION
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray, Int64Array};
    use datafusion::arrow::datatypes::Float64Type;

    use super::*;
    use crate::{ErrorCode, HasCode};

    #[tokio::test]
    async fn runs_sql() {
        let tables = SqlSession::default();
        let batches = tables.run("SELECT 40 + 2 AS answer").await.unwrap();
        let col = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(col.value(0), 42);
        assert_eq!(col.len(), 1);
    }

    #[tokio::test]
    async fn preview_renders_text_and_nulls_and_truncates() {
        let tables = SqlSession::default();
        let batches = tables
            .run("SELECT v, CASE WHEN v % 2 = 0 THEN NULL ELSE 'odd' END AS parity FROM generate_series(1, 500) AS t(v)")
            .await
            .unwrap();
        let p = QueryPreview::from_batches(&batches, Duration::from_millis(3));
        assert_eq!(
            p.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["v", "parity"]
        );
        assert_eq!(p.row_count, 500);
        assert_eq!(p.rows.len(), PREVIEW_ROWS);
        assert!(p.truncated);
        assert_eq!(
            p.rows[0],
            vec![Some("1".to_string()), Some("odd".to_string())]
        );
        assert_eq!(p.rows[1], vec![Some("2".to_string()), None]);
    }

    /// A query with a long dotted chain that does not parse would hold sqlparser 0.62 for
    /// minutes (2^steps); a cell and a preview refuse it before parsing, pointing at it.
    #[tokio::test]
    async fn a_chain_that_would_hang_the_parser_is_refused_before_parsing() {
        let s = SqlSession::default();
        let sql = format!("SELECT 1\nWHERE {}.#", ["a"; 40].join("."));
        for err in [
            s.run(&sql).await.unwrap_err(),
            s.schema_of(&sql).await.unwrap_err(),
        ] {
            assert_eq!(err.code(), ErrorCode::SqlInvalid);
            assert!(err.to_string().contains("names with `.`"), "{err}");
            assert!(
                matches!(err, TableError::Sql { line: Some(2), .. }),
                "{err:?}"
            );
        }
    }

    /// Arrow's "Divide by zero error" is said in words with its way out, for `/` and `%`.
    /// A BIGINT total past 2^63 is said, never wrapped around (DataFusion's own sum gave the
    /// true total minus 2^64); totals that fit are as before, grouped or not, filtered, with
    /// gaps, DISTINCT or over a window.
    #[tokio::test]
    async fn a_whole_number_sum_past_the_largest_is_an_error_never_a_wrapped_number() {
        let s = SqlSession::default();
        let text = |batches: &[RecordBatch]| {
            datafusion::arrow::util::pretty::pretty_format_batches(batches)
                .unwrap()
                .to_string()
        };
        let big = "SELECT * FROM (VALUES (1, 9000000000000000000), (1, 9000000000000000000), \
                   (2, 5), (2, NULL), (3, NULL)) AS t(g, v)";
        for q in [
            format!("SELECT sum(v) FROM ({big})"),
            format!("SELECT g, sum(v) FROM ({big}) GROUP BY g"),
        ] {
            let e = s.run(&q).await.unwrap_err().to_string();
            assert!(e.contains("past the largest whole number"), "{q}: {e}");
        }
        // A total that fits, though a partial one would not: no spurious error.
        let fits = s
            .run(
                "SELECT sum(v) AS s, arrow_typeof(sum(v)) AS t FROM (VALUES \
                 (9223372036854775807), (1), (-1)) AS t(v)",
            )
            .await
            .unwrap();
        let out = text(&fits);
        assert!(
            out.contains("9223372036854775807") && out.contains("Int64"),
            "{out}"
        );
        let grouped = s
            .run(&format!(
                "SELECT g, sum(v) AS s, sum(v) FILTER (WHERE v > 5) AS f, sum(DISTINCT g) \
                 OVER () AS w FROM ({big}) WHERE g > 1 GROUP BY g ORDER BY g"
            ))
            .await
            .unwrap();
        let out = text(&grouped);
        assert!(out.contains("| 2 | 5 |   |"), "{out}");
        assert!(out.contains("| 3 |   |   |"), "{out}");
    }

    /// `+`, `-` and `*` of whole numbers past what their type holds are errors in words, never
    /// a wrapped number (DataFusion's kernels wrap: `pop * pop` came out negative). Results that
    /// fit, their column names and every other type are what DataFusion itself gives.
    #[tokio::test]
    async fn whole_number_arithmetic_past_its_type_is_an_error_never_a_wrapped_number() {
        let s = SqlSession::default();
        let t =
            "(VALUES (3037000500, 50000, 9223372036854775807), (NULL, NULL, NULL)) AS t(v, w, m)";
        for (q, values) in [
            (format!("SELECT v * v FROM {t}"), "3037000500 * 3037000500"),
            (
                format!("SELECT sum(v * v) FROM {t}"),
                "3037000500 * 3037000500",
            ),
            (
                format!("SELECT m + 1 AS x FROM {t}"),
                "9223372036854775807 + 1",
            ),
            (
                format!("SELECT -m - 2 FROM {t}"),
                "-9223372036854775807 - 2",
            ),
            (
                format!("SELECT v FROM {t} WHERE v * v > 0"),
                "3037000500 * 3037000500",
            ),
            (
                format!("SELECT CAST(w AS INT) * CAST(w AS INT) FROM {t}"),
                "50000 * 50000",
            ),
            (
                format!("SELECT v FROM {t} WHERE v IN (SELECT m + m FROM {t})"),
                "9223372036854775807 + 9223372036854775807",
            ),
        ] {
            let e = s.run(&q).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::SqlInvalid, "{q}: {e}");
            let e = e.to_string();
            assert!(e.contains("out of range") && e.contains(values), "{q}: {e}");
            let wider = if q.contains("AS INT") {
                "BIGINT"
            } else {
                "DECIMAL(38, 0)"
            };
            assert!(e.contains(wider), "{q}: {e}");
        }
        // What fits is as DataFusion computes it, under the same column names.
        let plain = SessionContext::new();
        for q in [
            format!("SELECT v * 2, w + w - 1, m - 1, v * 1.5, sum(w * 3) OVER () FROM {t}"),
            format!("SELECT w * 2, sum(w * w), count(*) FROM {t} GROUP BY w * 2 ORDER BY w * 2"),
            format!("SELECT v FROM {t} WHERE w * 2 = 100000"),
            "SELECT DATE '2024-01-31' + INTERVAL '1 month' AS d, 3 * 4 AS n".to_string(),
        ] {
            let ours = s.run(&q).await.unwrap();
            let theirs = plain.sql(&q).await.unwrap().collect().await.unwrap();
            assert_eq!(ours[0].schema(), theirs[0].schema(), "{q}");
            assert_eq!(
                datafusion::arrow::util::pretty::pretty_format_batches(&ours)
                    .unwrap()
                    .to_string(),
                datafusion::arrow::util::pretty::pretty_format_batches(&theirs)
                    .unwrap()
                    .to_string(),
                "{q}"
            );
        }
    }

    /// A missing value is an empty cell (None); inside a list or struct it reads `null`, not
    /// nothing (`[1, ]` looked like an empty text).
    #[tokio::test]
    async fn missing_values_show_as_missing_at_the_top_and_null_inside_lists() {
        let s = SqlSession::default();
        let batches = s
            .run("SELECT NULL AS x, CAST(NULL AS BIGINT) AS n, make_array(1, NULL) AS l")
            .await
            .unwrap();
        let preview = QueryPreview::from_batches(&batches, Duration::ZERO);
        assert_eq!(
            preview.rows,
            vec![vec![None, None, Some("[1, null]".to_string())]]
        );
    }

    /// A CAST of a float to a whole number rounds to the nearest, halves to even, as DuckDB
    /// and PostgreSQL do for a DOUBLE (and "Change type → integer"), and of a decimal halves
    /// away from zero, as they do for a NUMERIC; DataFusion cut the fraction off (12.8 gave 12).
    /// The column keeps the name DataFusion gives it.
    #[tokio::test]
    async fn a_float_cast_to_a_whole_number_rounds_to_the_nearest() {
        let s = SqlSession::default();
        let q = "SELECT CAST(x AS BIGINT), TRY_CAST(x AS INT) AS t, CAST(12.8 AS BIGINT) AS a, \
                 CAST(-2.5 AS BIGINT) AS b, CAST(CAST(7 AS BIGINT) AS INT) AS c \
                 FROM (VALUES (12.5), (-0.5), (NULL)) AS v(x)";
        let batches = s.run(q).await.unwrap();
        let preview = QueryPreview::from_batches(&batches, Duration::ZERO);
        let cell = |s: &str| Some(s.to_string());
        assert_eq!(
            preview.rows,
            [
                vec![cell("12"), cell("12"), cell("13"), cell("-2"), cell("7")],
                vec![cell("0"), cell("0"), cell("13"), cell("-2"), cell("7")],
                vec![None, None, cell("13"), cell("-2"), cell("7")],
            ]
        );
        let plain = SessionContext::new();
        let theirs = plain.sql(q).await.unwrap().collect().await.unwrap();
        assert_eq!(batches[0].schema(), theirs[0].schema());

        // A decimal rounds halves away from zero, as PostgreSQL and DuckDB round a NUMERIC.
        let q = "SELECT CAST(x AS INT), TRY_CAST(x AS BIGINT) AS t, CAST(CAST(x AS DECIMAL(2, 1)) AS SMALLINT) AS s \
                 FROM (VALUES (CAST(2.7 AS DECIMAL(5, 1))), (CAST(-2.5 AS DECIMAL(5, 1))), \
                 (CAST(9.9 AS DECIMAL(5, 1))), (NULL)) AS v(x)";
        let batches = s.run(q).await.unwrap();
        let preview = QueryPreview::from_batches(&batches, Duration::ZERO);
        assert_eq!(
            preview.rows,
            [
                vec![cell("3"), cell("3"), cell("3")],
                vec![cell("-3"), cell("-3"), cell("-3")],
                vec![cell("10"), cell("10"), cell("10")],
                vec![None, None, None],
            ]
        );
        let theirs = plain.sql(q).await.unwrap().collect().await.unwrap();
        assert_eq!(batches[0].schema(), theirs[0].schema());
    }

    /// `percentile_cont` interpolates exactly (DataFusion's cut the weight to six decimals: a
    /// percentile between 0 and 1,000,000 was off by 0.7), grouped or not, in either order,
    /// also as `quantile_cont`; a fraction out of range is still refused.
    #[tokio::test]
    async fn percentile_cont_interpolates_exactly_as_numpy_and_duckdb() {
        let s = SqlSession::default();
        let one = |batches: Vec<RecordBatch>| -> Vec<Option<f64>> {
            batches
                .iter()
                .flat_map(|b| {
                    let c = b.column(b.num_columns() - 1).as_primitive::<Float64Type>();
                    c.iter().collect::<Vec<_>>()
                })
                .collect()
        };
        let far = "(VALUES (0.0), (1000000.0), (NULL)) AS t(x)";
        let got = one(s
            .run(&format!(
                "SELECT percentile_cont(0.3333337) WITHIN GROUP (ORDER BY x) FROM {far}"
            ))
            .await
            .unwrap());
        assert!((got[0].unwrap() - 333_333.7).abs() < 1e-6, "{got:?}");
        // numpy.percentile([1, 2, 3, 4], 40) = 2.2; whole numbers are read as numbers.
        let small =
            "(VALUES (1, 'a'), (4, 'a'), (3, 'a'), (2, 'a'), (10, 'b'), (NULL, 'c')) AS t(x, g)";
        let grouped = one(s
            .run(&format!(
                "SELECT g, percentile_cont(0.4) WITHIN GROUP (ORDER BY x) FROM {small} GROUP BY g ORDER BY g"
            ))
            .await
            .unwrap());
        assert!((grouped[0].unwrap() - 2.2).abs() < 1e-12, "{grouped:?}");
        assert_eq!(grouped[1..], [Some(10.0), None]);
        let desc = one(s
            .run(&format!(
                "SELECT percentile_cont(0.6) WITHIN GROUP (ORDER BY x DESC) FROM {small} WHERE g = 'a'"
            ))
            .await
            .unwrap());
        assert!((desc[0].unwrap() - 2.2).abs() < 1e-12, "{desc:?}");
        let alias = one(s
            .run(&format!("SELECT quantile_cont(x, 0.3333337) FROM {far}"))
            .await
            .unwrap());
        assert!((alias[0].unwrap() - 333_333.7).abs() < 1e-6, "{alias:?}");
        let e = s
            .run(&format!(
                "SELECT percentile_cont(1.5) WITHIN GROUP (ORDER BY x) FROM {far}"
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::SqlInvalid, "{e}");
    }

    /// A division of whole numbers is said beside the answer (DataFusion gives a whole number,
    /// as PostgreSQL does; DuckDB and pandas a fraction); other divisions are not.
    #[tokio::test]
    async fn a_division_of_whole_numbers_is_noted_beside_the_answer() {
        let s = SqlSession::default();
        let noted = |sql: String| {
            let s = &s;
            async move {
                s.run_noted(&sql, &|_| {}, &CancellationToken::new())
                    .await
                    .unwrap()
                    .1
            }
        };
        let t = "(VALUES (1, 2.5), (3, 4.0)) AS t(x, f)";
        let notes = noted(format!(
            "SELECT count(*) FILTER (WHERE x > 1) / count(*) AS share FROM {t}"
        ))
        .await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("count(*) FILTER (WHERE t.x > 1) / count(*) divides"),
            "{notes:?}"
        );
        let notes = noted(
            "SELECT count(*) FILTER (WHERE w = 'rain') / count(*) FROM (VALUES ('rain')) AS v(w)"
                .into(),
        )
        .await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("divides whole numbers"), "{notes:?}");
        assert!(
            notes[0].starts_with("count(*) FILTER (WHERE v.w = 'rain') / count(*) divides"),
            "{notes:?}"
        );
        let two = noted(format!(
            "SELECT x / 2, (SELECT max(x) / 3 FROM {t}) FROM {t}"
        ))
        .await;
        assert!(two[0].contains("and one more division"), "{two:?}");
        let fine = format!("SELECT x / 2.0, f / x, 1.0 * x / 3, avg(x) FROM {t} GROUP BY x, f");
        assert_eq!(noted(fine).await, Vec::<String>::new());
    }

    /// Dates and times in a result read as the grid writes them: no RFC 3339 `T`, `Z` after a
    /// UTC one, an offset after one in another zone, fractions only when there are some.
    #[tokio::test]
    async fn results_write_dates_and_times_as_the_grid_does() {
        let s = SqlSession::default();
        let batches = s
            .run(
                "SELECT TIMESTAMP '2024-01-31 14:05:00' AS local, \
                 arrow_cast(TIMESTAMP '2024-01-31 14:05:00.25', 'Timestamp(Millisecond, Some(\"UTC\"))') AS utc, \
                 arrow_cast(TIMESTAMP '2024-01-31 14:05:00', 'Timestamp(Second, Some(\"+05:30\"))') AS zoned, \
                 DATE '2024-01-31' AS day, make_array(TIMESTAMP '2024-01-31 00:00:00') AS list, \
                 TIMESTAMP '2024-01-31 14:05:00' - TIMESTAMP '2024-01-30 13:05:00' AS took",
            )
            .await
            .unwrap();
        let preview = QueryPreview::from_batches(&batches, Duration::ZERO);
        assert_eq!(
            preview.rows[0],
            [
                "2024-01-31 14:05:00",
                "2024-01-31 14:05:00.250Z",
                "2024-01-31 14:05:00+05:30",
                "2024-01-31",
                "[2024-01-31 00:00:00]",
                "1 day 01:00:00",
            ]
            .map(|v| Some(v.to_string()))
        );
    }

    #[tokio::test]
    async fn a_division_or_remainder_by_zero_is_said_in_words() {
        let s = SqlSession::default();
        for op in ["/", "%"] {
            let sql = format!("SELECT 7 {op} x AS y FROM (VALUES (1), (0)) AS t(x)");
            let err = s.run(&sql).await.unwrap_err();
            assert_eq!(err.code(), ErrorCode::SqlInvalid, "{err}");
            let text = err.to_string();
            assert!(text.contains("remainder by zero"), "{op}: {text}");
            assert!(text.contains("NULLIF(divisor, 0)"), "{op}: {text}");
            assert!(!text.contains("Divide"), "{op}: {text}");
        }
    }

    #[tokio::test]
    async fn errors_carry_their_position() {
        let s = SqlSession::default();
        let err = s.run("SELEC 1").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::SqlInvalid);
        let TableError::Sql { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (Some(1), Some(1)), "{err}");

        let t = super::super::table::tests::numbers(10, 5);
        s.register("numbers", &t).unwrap();
        let err = s
            .run("SELECT n,\n       nope\nFROM numbers")
            .await
            .unwrap_err();
        let TableError::Sql {
            line,
            column,
            message,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(message.contains("nope"), "{message}");
        assert_eq!((*line, *column), (Some(2), Some(8)), "{err}");
    }

    /// What a new user typed on a public dataset (movies, with a column `Action`): before,
    /// DataFusion's own words, with its catalog path and a setting nobody can change.
    #[tokio::test]
    async fn mistakes_people_make_are_said_in_their_words() {
        let s = SqlSession::default();
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("title", DataType::Utf8, true),
            Field::new("Action", DataType::Int64, true),
            Field::new("year", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(datafusion::arrow::array::StringArray::from(vec!["a"])),
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(Int64Array::from(vec![2001])),
            ],
        )
        .unwrap();
        s.register(
            "movies",
            &crate::tables::TableVersion::first(schema, vec![batch]),
        )
        .unwrap();
        for (q, said, at) in [
            (
                "SELECT Action FROM movies",
                "there is no column action: did you mean \"Action\"? A name with capitals is \
                 written in double quotes. The columns here are title, \"Action\", year",
                Some((1, 8)),
            ),
            (
                "SELECT * FROM movie",
                "there is no table movie in this notebook",
                Some((1, 15)),
            ),
            (
                "SELECT CAST(title AS INTEGER) FROM movies",
                "the text \"a\" is not a whole number; TRY_CAST gives NULL for such values \
                 instead of stopping",
                None,
            ),
            (
                "SELECT CAST(year * 1e20 AS BIGINT) FROM movies",
                "the value 2.001e23 does not fit in a whole number: CAST it to DECIMAL(38, 0) or \
                 DOUBLE instead, or use TRY_CAST for NULL where it does not fit",
                None,
            ),
            (
                "SELECT avg(title) FROM movies",
                "avg() takes numbers, and this is text: CAST it to a number first \
                 (CAST(x AS DOUBLE)), or use TRY_CAST, which gives NULL for a value that is not one",
                None,
            ),
            (
                "SELECT sqrt(title) FROM movies",
                "sqrt() takes numbers, and this is text: CAST it to a number first \
                 (CAST(x AS DOUBLE)), or use TRY_CAST, which gives NULL for a value that is not one",
                None,
            ),
            (
                "SELECT abs(title) FROM movies",
                "abs() takes numbers, and this is text: CAST it to a number first \
                 (CAST(x AS DOUBLE)), or use TRY_CAST, which gives NULL for a value that is not one",
                None,
            ),
            (
                "SELECT to_date(title, '%Y/%m/%d') FROM movies",
                "the text \"a\" is not a date written as %Y/%m/%d: check the format, or leave \
                 such values out first",
                None,
            ),
            (
                "SELECT *\nFROM movies WHERE year > 2000 AND ;",
                "the query cannot be read: it ends where an expression should follow",
                Some((2, 35)),
            ),
            (
                "SELECT count(*) FROM movies GROUP BY nope",
                "there is no column nope. The columns here are \"count(*)\", title, \
                 \"Action\", year",
                Some((1, 38)),
            ),
            (
                "SELECT title, count(*) FROM movies",
                "the column title must be in the GROUP BY, or inside an aggregate such as count, sum or \
                 max, since other columns are aggregated",
                Some((1, 8)),
            ),
            (
                "SELECT * FROM movies m JOIN movies n ON m.year = n.year WHERE year = 1",
                "the column year is in more than one table here: say which, as table.year (or its \
                 alias)",
                Some((1, 63)),
            ),
            (
                "SELECT extract(year FROM title) FROM movies",
                "the text \"a\" is not a date as SQL reads one (2012-01-31): to_date(column, \
                 '%m/%d/%Y') reads dates written another way",
                None,
            ),
            (
                "SELECT month(year) FROM movies",
                "there is no function month: date_part('month', column) (or extract(month FROM \
                 column)) gives it",
                Some((1, 8)),
            ),
            (
                "CREATE TABLE kept AS SELECT * FROM movies",
                "SQL cells read data and do not create or drop tables: to keep what a query \
                 returns, run its SELECT and use Keep as table… on the result",
                None,
            ),
            (
                "UPDATE movies SET year = 2002",
                "SQL cells read data and do not change it: edit cells in the table's grid, or \
                 use Transform… to change a column or keep the rows that match",
                None,
            ),
            (
                "SELECT 1; SELECT 2",
                "a cell runs one statement: put each in a cell of its own",
                None,
            ),
            (
                "SELECT CAST(year AS DATE) FROM movies",
                "a number is not a date: \"year\" would be read as a count of days (or \
                 nanoseconds) since 1970. to_date(CAST(\"year\" AS VARCHAR), '%Y%m%d') reads \
                 20120131 as the day it spells; to_timestamp(\"year\") reads seconds since 1970",
                None,
            ),
            (
                "SELECT CAST(year * 1.5 AS TIMESTAMP) FROM movies",
                "a number is not a date: the number would be read as a count of days (or \
                 nanoseconds) since 1970. to_date(CAST(the number AS VARCHAR), '%Y%m%d') reads \
                 20120131 as the day it spells; to_timestamp(the number) reads seconds since \
                 1970",
                None,
            ),
            (
                "SELECT CAST(title AS BOOLEAN) FROM movies",
                "the text \"a\" is not true or false; TRY_CAST gives NULL for such values \
                 instead of stopping",
                None,
            ),
            (
                "SELECT year + title FROM movies",
                "Int64 + Utf8 cannot be computed: the two sides are different kinds of value \
                 (CAST one of them)",
                Some((1, 8)),
            ),
        ] {
            let e = s.run(q).await.unwrap_err();
            let TableError::Sql {
                message,
                line,
                column,
            } = &e
            else {
                panic!("{q}: {e:?}");
            };
            assert_eq!(message, said, "{q}");
            assert_eq!(line.zip(*column), at, "{q}");
        }
        let e = s
            .run("SELECT nosuchfn(year) FROM movies")
            .await
            .unwrap_err();
        assert!(
            e.to_string().starts_with("there is no function nosuchfn"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn errors_read_without_datafusion_wrappers() {
        let s = SqlSession::default();
        let err = s.run("SELECT (1 FROM x").await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("the query cannot be read: "), "{text}");
        for noise in ["ParserError", "Line:", "sql parser error", "DataFusion"] {
            assert!(!text.contains(noise), "{noise} in {text:?}");
        }
        assert!(
            err.position().is_some(),
            "the position is carried apart: {err:?}"
        );
        assert_eq!(
            plain("Internal error: x.\nThis issue was likely caused by a bug in DataFusion's code. Please help"),
            "Internal error: x"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_query_reports_rows_and_stops_when_cancelled() {
        let s = SqlSession::default();
        let cancel = CancellationToken::new();
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let trip = cancel.clone();
        let counter = seen.clone();
        let on_rows = move |rows: u64| {
            counter.store(rows, std::sync::atomic::Ordering::Relaxed);
            if rows >= 100_000 {
                trip.cancel();
            }
        };
        let started = std::time::Instant::now();
        // Billions of rows: only cancellation can end this in time.
        let sql = "SELECT a.value * b.value FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b";
        let err = s.run_cancellable(sql, &on_rows, &cancel).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
        assert!(
            seen.load(std::sync::atomic::Ordering::Relaxed) >= 100_000,
            "progress was reported"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stopped promptly: {:?}",
            started.elapsed()
        );
        // Without cancellation the same session still answers.
        let ok = s
            .run_cancellable("SELECT 1", &|_| {}, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ok[0].num_rows(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_stops_when_another_task_cancels_it() {
        let s = SqlSession::default();
        let cancel = CancellationToken::new();
        let trip = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trip.cancel();
        });
        let started = std::time::Instant::now();
        let sql = "SELECT a.value * b.value FROM generate_series(1, 200000) a CROSS JOIN generate_series(1, 200000) b";
        let err = s.run_cancellable(sql, &|_| {}, &cancel).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "cancelled within {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn unknown_names_are_located_in_the_query() {
        let s = SqlSession::default();
        s.register("numbers", &super::super::table::tests::numbers(10, 5))
            .unwrap();
        let err = s
            .run("SELECT n, count(*)\nFROM numbers\nGROUP BY   nn")
            .await
            .unwrap_err();
        let TableError::Sql { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (Some(3), Some(12)), "{err}");
        let err = s.run("SELECT * FROM missing_table").await.unwrap_err();
        let TableError::Sql { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (Some(1), Some(15)), "{err}");
    }

    #[test]
    fn a_statement_keeps_its_text_without_what_ends_it() {
        for (sql, want) in [
            ("SELECT 1", "SELECT 1"),
            ("SELECT 1;", "SELECT 1"),
            ("SELECT 1 ;  \n\n", "SELECT 1"),
            ("SELECT 1; -- done", "SELECT 1"),
            ("SELECT 1\n-- a note\n", "SELECT 1"),
            ("SELECT 1;\n-- a note\n-- another\n", "SELECT 1"),
            ("SELECT '--x' AS a", "SELECT '--x' AS a"),
            ("-- only a comment", "-- only a comment"),
            ("SELECT 'a;' AS x; -- it's done", "SELECT 'a;' AS x"),
            ("SELECT '--' AS x;", "SELECT '--' AS x"),
            (
                "SELECT a -- the a column\nFROM t",
                "SELECT a -- the a column\nFROM t",
            ),
        ] {
            assert_eq!(without_terminator(sql), want, "{sql:?}");
        }
    }

    #[tokio::test]
    async fn nothing_outside_the_registered_tables_is_reachable() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret.csv");
        std::fs::write(&secret, "a\n1\n").unwrap();
        let s = SqlSession::default();
        let path = secret.display();
        for sql in [
            format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{path}'"),
            format!("SELECT * FROM '{path}'"),
            format!(
                "COPY (SELECT 1) TO '{}' STORED AS CSV",
                dir.path().join("out.csv").display()
            ),
            format!("SELECT * FROM read_csv('{path}')"),
            "CREATE TABLE t AS SELECT 1".to_string(),
            "SET datafusion.execution.batch_size = 1".to_string(),
        ] {
            let err = s.run(&sql).await.expect_err(&sql);
            assert_eq!(err.code(), ErrorCode::SqlInvalid, "{sql}: {err}");
        }
        assert!(!dir.path().join("out.csv").exists());
    }

    #[tokio::test]
    async fn registered_tables_are_queryable_across_partitions() {
        let s = SqlSession::default();
        let t = super::super::table::tests::numbers(100_000, 4096);
        s.register("numbers", &t).unwrap();
        let batches = s
            .run("SELECT count(*) AS c, sum(n) AS total FROM numbers")
            .await
            .unwrap();
        let p = QueryPreview::from_batches(&batches, Duration::ZERO);
        assert_eq!(
            p.rows[0],
            vec![Some("100000".into()), Some("4999950000".into())]
        );
    }

    /// The numbers in the first column of `batches`, in order.
    fn first_column(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_any();
                c.downcast_ref::<arrow::array::Int64Array>()
                    .expect("an Int64 column")
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_that_only_reads_rows_keeps_the_tables_order() {
        let s = SqlSession::default();
        // 123 batches: DataFusion would scan them in several partitions.
        let t = super::super::table::tests::numbers(1_000_000, 8192);
        s.register("numbers", &t).unwrap();
        for _ in 0..5 {
            let first = first_column(&s.run("SELECT n FROM numbers LIMIT 5").await.unwrap());
            assert_eq!(first, vec![0, 1, 2, 3, 4]);
            let odd = first_column(
                &s.run("SELECT n * 2 AS m FROM (SELECT * FROM numbers) t WHERE n % 3 = 1")
                    .await
                    .unwrap(),
            );
            assert_eq!(odd.len(), 333_333);
            assert!(odd.windows(2).all(|w| w[0] < w[1]), "rows out of order");
            let all = first_column(&s.run("SELECT * FROM numbers").await.unwrap());
            assert_eq!(all, (0..1_000_000).collect::<Vec<_>>());
        }
        // Which queries only read rows (one partition, the table's order) and which do work
        // that gains from partitions (a subquery is a join, an aggregate, a sort).
        for (sql, ordered) in [
            ("SELECT * FROM numbers", true),
            (
                "SELECT n * 2 FROM (SELECT n FROM numbers WHERE n > 3) t LIMIT 9",
                true,
            ),
            ("SELECT 1", true),
            (
                "SELECT n FROM numbers WHERE n > (SELECT avg(n) FROM numbers)",
                false,
            ),
            (
                "SELECT n FROM numbers WHERE n IN (SELECT n FROM numbers)",
                false,
            ),
            ("SELECT DISTINCT n FROM numbers", false),
            ("SELECT n FROM numbers ORDER BY n", false),
            (
                "SELECT n FROM numbers UNION ALL SELECT n FROM numbers",
                false,
            ),
            ("SELECT sum(n) OVER () FROM numbers", false),
        ] {
            let frame = s.ctx.sql(sql).await.unwrap();
            assert_eq!(in_table_order(frame.logical_plan()), ordered, "{sql}");
        }
        // Work that gains from partitions still gets them.
        let plan = s
            .run("EXPLAIN SELECT n % 7 AS k, count(*) FROM numbers GROUP BY k")
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&plan)
            .unwrap()
            .to_string();
        assert!(text.contains("Partial"), "{text}");
    }

    #[tokio::test]
    async fn a_join_hashes_a_side_of_a_million_rows_once_rather_than_repartitioning_both() {
        let s = SqlSession::default();
        s.register(
            "facts",
            &super::super::table::tests::numbers(2_000_000, 8192),
        )
        .unwrap();
        s.register("dim", &super::super::table::tests::numbers(300_000, 8192))
            .unwrap();
        let plan = s
            .run("EXPLAIN SELECT count(*) FROM facts f JOIN dim d ON f.n = d.n")
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&plan)
            .unwrap()
            .to_string();
        assert!(text.contains("mode=CollectLeft"), "{text}");
    }

    fn limited(query_mb: u64, table_mb: u64, spill_mb: u64, spill: &std::path::Path) -> SqlSession {
        let config = crate::config::LimitsConfig {
            query_memory_mb: query_mb,
            table_memory_mb: table_mb,
            spill_disk_mb: spill_mb,
            ..Default::default()
        };
        SqlSession::new(&Limits::new(&config, Some(spill)).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_result_larger_than_the_table_limit_stops_with_a_typed_error() {
        let spill = tempfile::tempdir().unwrap();
        let s = limited(64, 1, 64, spill.path());
        s.register("numbers", &super::super::table::tests::numbers(2_000, 1024))
            .unwrap();
        // 4 million rows of two numbers: 64 MB, far past the 1 MiB limit.
        let err = s
            .run("SELECT a.n, b.n FROM numbers a CROSS JOIN numbers b")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooLarge, "{err}");
        assert!(err.to_string().contains("limits.table_memory_mb"), "{err}");
        // The same data aggregated fits, in the same session.
        let ok = s
            .run("SELECT count(*) FROM numbers a CROSS JOIN numbers b")
            .await
            .unwrap();
        assert_eq!(ok[0].num_rows(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sort_past_the_query_pool_spills_into_the_spill_folder_or_fails_in_words() {
        let spill = tempfile::tempdir().unwrap();
        let t = super::super::table::tests::numbers(3_000_000, 8192);
        let sql = "SELECT n, n * 2 AS m FROM numbers ORDER BY n DESC";
        // 48 MB sorted in a 40 MiB pool: it spills, and the order is still right. (A smaller
        // pool leaves too little for merging many spill files and fails now and then.)
        let s = limited(40, 1024, 1024, spill.path());
        s.register("numbers", &t).unwrap();
        let out = s.run(sql).await.unwrap();
        let first = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(first.value(0), 2_999_999);
        assert_eq!(out.iter().map(|b| b.num_rows()).sum::<usize>(), 3_000_000);
        // With no disk to spill to, the same sort stops with the typed error.
        let s = limited(40, 1024, 0, spill.path());
        s.register("numbers", &t).unwrap();
        let err = s.run(sql).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooLarge, "{err}");
        // Which runs out first (the pool or the spill disk) depends on timing; both say so.
        assert!(err.to_string().contains("limits.query_memory_mb"), "{err}");
    }
}
