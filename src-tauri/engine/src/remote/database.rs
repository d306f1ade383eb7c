//! A PostgreSQL database attached to a notebook: a DataFusion catalog named after the
//! connection, whose tables are `datafusion-table-providers` providers (each query sends
//! Postgres one `SELECT` with the columns, the filters it can run and the limit). It connects
//! on first use, so a server that is down costs nothing until a query names it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::sql::unparser::dialect::PostgreSqlDialect;

use datafusion_table_providers_common::sql::sql_provider_datafusion::SqlTable;
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use datafusion_table_providers_postgres::DynPostgresConnectionPool;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::{io, DatabaseTable, PostgresConnection, RemoteError};

/// How long a connection attempt may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections each attached database keeps open at most.
const POOL_SIZE: &str = "4";

/// Opens a pool of connections (checked with one login), on the IO runtime so its
/// connections' tasks live there whatever thread asked.
pub async fn pool(
    settings: &PostgresConnection,
) -> Result<Arc<PostgresConnectionPool>, RemoteError> {
    pool_of(settings, POOL_SIZE).await
}

/// [`pool`] with at most `size` connections.
async fn pool_of(
    settings: &PostgresConnection,
    size: &'static str,
) -> Result<Arc<PostgresConnectionPool>, RemoteError> {
    settings.validate()?;
    let endpoint = settings.endpoint();
    let settings = settings.clone();
    let opened = io::handle()
        .spawn(async move { open_pool(&settings, size).await })
        .await
        .map_err(|e| RemoteError::Failed {
            endpoint: endpoint.clone(),
            detail: format!("the connection task stopped ({e})"),
        })?;
    opened.map(Arc::new)
}

/// Connects to the first address of `target` within the connect timeout, in words.
/// The password from where libpq looks, each time a connection is made.
struct LibpqPassword(PostgresConnection);

#[async_trait]
impl datafusion_table_providers_common::sql::db_connection_pool::PasswordProvider
    for LibpqPassword
{
    async fn get_password(&self) -> Result<SecretString, Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .password()
            .map(SecretString::from)
            .ok_or_else(|| "password missing: none in PGPASSWORD or the password file".into())
    }
}

/// Whether a TCP connection to the server opens within the connect timeout (a Unix socket
/// path is left to the driver).
async fn reachable(settings: &PostgresConnection) -> Result<(), RemoteError> {
    if settings.host.starts_with('/') {
        return Ok(());
    }
    let target = (settings.host.clone(), settings.port);
    let reached = tokio::task::spawn_blocking(move || io::reach(&target, CONNECT_TIMEOUT))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    reached.map_err(|detail| RemoteError::Unreachable {
        endpoint: settings.endpoint(),
        detail,
    })
}

async fn open_pool(
    settings: &PostgresConnection,
    size: &str,
) -> Result<PostgresConnectionPool, RemoteError> {
    let endpoint = settings.endpoint();
    // Our own check first, with a short timeout: the pool's blocks a thread for up to 30 s on
    // an address that does not answer.
    reachable(settings).await?;
    let mode = settings.sslmode.as_deref().unwrap_or("prefer");
    let mut params: HashMap<String, SecretString> = HashMap::new();
    params.insert(
        "connection_string".into(),
        format!(
            "host={} port={} user={} dbname={} connect_timeout={} application_name=quire sslmode={mode}",
            settings.host,
            settings.port,
            settings.user,
            settings.database,
            CONNECT_TIMEOUT.as_secs()
        )
        .into(),
    );
    params.insert("connection_pool_size".into(), size.to_string().into());
    let opening = async {
        match settings.password() {
            // Looked up again for every new connection: a password changed in the file is
            // used without restarting Quire.
            Some(_) => {
                PostgresConnectionPool::new_with_password_provider(
                    params,
                    Arc::new(LibpqPassword(settings.clone())),
                )
                .await
            }
            None => PostgresConnectionPool::new(params).await,
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT * 3, opening).await {
        Err(_) => Err(RemoteError::Unreachable {
            endpoint,
            detail: "it did not answer in time".into(),
        }),
        Ok(Err(e)) => Err(from_postgres(&endpoint, &settings.database, &e)),
        Ok(Ok(pool)) => Ok(pool
            .with_io_runtime(io::handle())
            // A column of a type the provider has no Arrow match for is left out of its
            // schema (not a failure of the whole table); `as_text::readable` puts it back, as
            // text.
            .with_unsupported_type_action(
                datafusion_table_providers_common::UnsupportedTypeAction::Ignore,
            )),
    }
}

/// A Postgres failure, told apart by what the user can do about it; the driver's own text
/// goes to the log.
pub fn from_postgres(
    endpoint: &str,
    database: &str,
    e: &(dyn std::error::Error + 'static),
) -> RemoteError {
    use tokio_postgres::error::SqlState;
    log::warn!("{endpoint}: {}", super::chain(e));
    let endpoint = endpoint.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(pg) = c.downcast_ref::<tokio_postgres::Error>() {
            let code = pg.code();
            if code == Some(&SqlState::INVALID_PASSWORD)
                || code == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
            {
                return RemoteError::LoginRefused {
                    endpoint,
                    detail: "the user or its password was not accepted (the password comes from PGPASSWORD or the password file, ~/.pgpass or what PGPASSFILE names)".into(),
                };
            }
            if code == Some(&SqlState::INVALID_CATALOG_NAME) {
                return RemoteError::Invalid {
                    what: if database.is_empty() {
                        "the database".to_string()
                    } else {
                        format!("the database {database}")
                    },
                    why: "the server has no database of that name".into(),
                };
            }
            if let Some(db) = pg.as_db_error() {
                return refused_query(endpoint, db);
            }
            if pg.is_closed() {
                return RemoteError::Unreachable {
                    endpoint,
                    detail: "the server closed the connection".into(),
                };
            }
        }
        // Schema inference boxes the server's error on its own.
        if let Some(db) = c.downcast_ref::<tokio_postgres::error::DbError>() {
            return refused_query(endpoint, db);
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => RemoteError::Unreachable {
                    endpoint,
                    detail: "nothing is listening there (connection refused); check the host and port and that the server runs".into(),
                },
                std::io::ErrorKind::TimedOut => RemoteError::Unreachable {
                    endpoint,
                    detail: "it did not answer in time".into(),
                },
                _ => RemoteError::Unreachable {
                    endpoint,
                    detail: "no connection could be made to it".into(),
                },
            };
        }
        cause = c.source();
    }
    let text = super::chain(e).to_lowercase();
    if text.contains("password authentication failed")
        || text.contains("no password")
        || text.contains("password missing")
    {
        return RemoteError::LoginRefused {
            endpoint,
            detail: "the server asks for a password and none was accepted (set it in ~/.pgpass, the file PGPASSFILE names, or PGPASSWORD)".into(),
        };
    }
    if text.contains("timed out") {
        return RemoteError::Unreachable {
            endpoint,
            detail: "it did not answer in time".into(),
        };
    }
    if text.contains("tls") || text.contains("ssl") {
        return RemoteError::Failed {
            endpoint,
            detail: "the TLS handshake failed; check the connection's TLS mode".into(),
        };
    }
    RemoteError::Failed {
        endpoint,
        detail: "its answer could not be used (Quire's log has it)".into(),
    }
}

/// The server refused a statement: its own message says why (a column it does not have, a
/// permission), without the driver's wrapping.
fn refused_query(endpoint: String, db: &tokio_postgres::error::DbError) -> RemoteError {
    if db.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE {
        return RemoteError::Failed {
            endpoint,
            detail: format!("this user may not read that ({})", db.message()),
        };
    }
    RemoteError::Failed {
        endpoint,
        detail: format!("it refused the query: {}", db.message()),
    }
}

/// A database attached to a notebook: a DataFusion catalog whose schemas and tables are the
/// database's, connected on first use.
#[derive(Debug)]
pub struct AttachedDatabase {
    inner: Arc<Attached>,
}

#[derive(Debug)]
struct Attached {
    settings: PostgresConnection,
    pool: OnceCell<Arc<PostgresConnectionPool>>,
    /// One connection of its own for cancel requests, opened on the first.
    cancels: Arc<CancelPool>,
    /// What the last listing found, for the names DataFusion asks for without waiting.
    listed: Mutex<Vec<DatabaseTable>>,
}

impl AttachedDatabase {
    pub fn new(settings: PostgresConnection) -> AttachedDatabase {
        AttachedDatabase {
            inner: Arc::new(Attached {
                settings: settings.clone(),
                pool: OnceCell::new(),
                cancels: Arc::new(CancelPool {
                    settings: settings.clone(),
                    pool: OnceCell::new(),
                }),
                listed: Mutex::default(),
            }),
        }
    }

    pub fn settings(&self) -> &PostgresConnection {
        &self.inner.settings
    }

    /// Every table and view this user can read, outside Postgres's own schemas.
    pub async fn tables(&self) -> Result<Vec<DatabaseTable>, RemoteError> {
        self.inner.list().await
    }

    /// The server's name and version, as `PostgreSQL 15.8`.
    pub async fn server(&self) -> Result<String, RemoteError> {
        let settings = &self.inner.settings;
        let failed = |e: &(dyn std::error::Error + 'static)| {
            from_postgres(&settings.endpoint(), &settings.database, e)
        };
        let pool = self.inner.pool().await?;
        let conn = pool.connect_direct().await.map_err(|e| failed(&e))?;
        let row = conn
            .conn
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| failed(&e))?;
        let version: String = row.get(0);
        // "15.8 (Debian 15.8-0+deb12u1)": the number says enough.
        let number = version.split_whitespace().next().unwrap_or_default();
        Ok(format!("PostgreSQL {number}"))
    }
}

impl Attached {
    async fn pool(&self) -> Result<Arc<PostgresConnectionPool>, RemoteError> {
        // A failed attempt is not kept: the next query tries again (the server may be up now).
        self.pool
            .get_or_try_init(|| pool(&self.settings))
            .await
            .cloned()
    }

    async fn list(&self) -> Result<Vec<DatabaseTable>, RemoteError> {
        const LIST: &str = "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.reltuples::float8 \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
             AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1, 2";
        let endpoint = self.settings.endpoint();
        let pool = self.pool().await?;
        let failed = |e: &(dyn std::error::Error + 'static)| {
            from_postgres(&endpoint, &self.settings.database, e)
        };
        let conn = pool.connect_direct().await.map_err(|e| failed(&e))?;
        let rows = conn.conn.query(LIST, &[]).await.map_err(|e| failed(&e))?;
        let tables: Vec<DatabaseTable> = rows
            .iter()
            .map(|row| {
                let kind: String = row.get(2);
                let estimate: f64 = row.get(3);
                DatabaseTable {
                    schema: row.get(0),
                    name: row.get(1),
                    kind: match kind.as_str() {
                        "r" => "table",
                        "v" => "view",
                        "m" => "materialized view",
                        "p" => "partitioned table",
                        _ => "foreign table",
                    }
                    .to_string(),
                    estimated_rows: (estimate >= 0.0).then_some(estimate),
                }
            })
            .collect();
        *self.listed.lock().unwrap_or_else(|p| p.into_inner()) = tables.clone();
        Ok(tables)
    }

    fn listed(&self) -> Vec<DatabaseTable> {
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn external(e: RemoteError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl CatalogProvider for AttachedDatabase {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.listed().into_iter().map(|t| t.schema).collect();
        names.dedup();
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        // Any name: whether the schema exists is known once the database answers.
        Some(Arc::new(DatabaseSchema {
            database: self.inner.clone(),
            schema: name.to_string(),
        }))
    }
}

#[derive(Debug)]
struct DatabaseSchema {
    database: Arc<Attached>,
    schema: String,
}

#[async_trait]
impl SchemaProvider for DatabaseSchema {
    fn table_names(&self) -> Vec<String> {
        self.database
            .listed()
            .into_iter()
            .filter(|t| t.schema == self.schema)
            .map(|t| t.name)
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let known = |tables: &[DatabaseTable]| {
            tables
                .iter()
                .any(|t| t.schema == self.schema && t.name == name)
        };
        // Listed again on a miss: the table may be new since the last listing.
        if !known(&self.database.listed()) && !known(&self.database.list().await.map_err(external)?)
        {
            return Ok(None);
        }
        let settings = &self.database.settings;
        // Said in a moment when the server is gone: the pool itself would retry for 30 s.
        reachable(settings).await.map_err(external)?;
        let pool = self.database.pool().await.map_err(external)?;
        // The provider's factory, but over a pool whose dropped queries stop on the server.
        let pool: Arc<DynPostgresConnectionPool> = Arc::new(super::cancelling::CancellingPool {
            pool,
            canceller: self.database.cancels.clone(),
        });
        SqlTable::new(
            "postgres",
            &pool,
            TableReference::partial(self.schema.as_str(), name),
        )
        .await
        .map(|table| {
            let table = Arc::new(table.with_dialect(Arc::new(PostgreSqlDialect {})));
            Some(Arc::new(NoColumnsSafe(table)) as Arc<dyn TableProvider>)
        })
        .map_err(|e| external(from_postgres(&settings.endpoint(), &settings.database, &e)))
    }

    /// From the listing: `SHOW TABLES` and `information_schema` ask this of every name, and
    /// must not reach the server (nor fail when it is down).
    async fn table_type(
        &self,
        name: &str,
    ) -> Result<Option<datafusion::logical_expr::TableType>, DataFusionError> {
        use datafusion::logical_expr::TableType;
        Ok(self
            .database
            .listed()
            .into_iter()
            .find(|t| t.schema == self.schema && t.name == name)
            .map(|t| {
                if t.kind.ends_with("view") {
                    TableType::View
                } else {
                    TableType::Base
                }
            }))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.database
            .listed()
            .iter()
            .any(|t| t.schema == self.schema && t.name == name)
    }
}

/// A database table whose scan with no columns (`SELECT count(*)`) asks Postgres for one
/// column and drops it. The provider alone answers with a one-column schema where DataFusion
/// planned none, and the query fails ("Physical input schema should be the same…",
/// datafusion-table-providers#345, fixed after 0.15.1).
#[derive(Debug)]
struct NoColumnsSafe(Arc<dyn TableProvider>);

#[async_trait]
impl TableProvider for NoColumnsSafe {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> datafusion::logical_expr::TableType {
        self.0.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&datafusion::logical_expr::Expr],
    ) -> Result<Vec<datafusion::logical_expr::TableProviderFilterPushDown>, DataFusionError> {
        // The database reads `a + 1` as SQL and checks it itself; it knows no Quire function.
        let filters: Vec<_> = filters.iter().map(|f| unchecked(f)).collect();
        self.0
            .supports_filters_pushdown(&filters.iter().collect::<Vec<_>>())
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>, DataFusionError> {
        let filters: Vec<_> = filters.iter().map(unchecked).collect();
        let filters = filters.as_slice();
        match projection {
            Some(columns) if columns.is_empty() && !self.schema().fields().is_empty() => {
                let one = self.0.scan(state, Some(&vec![0]), filters, limit).await?;
                let none: Vec<datafusion::physical_plan::projection::ProjectionExpr> = Vec::new();
                Ok(Arc::new(
                    datafusion::physical_plan::projection::ProjectionExec::try_new(none, one)?,
                ))
            }
            _ => self.0.scan(state, projection, filters, limit).await,
        }
    }
}

/// The connection cancels of an attached database are asked from: a pool of one, apart from
/// the one its queries hold, so a cancel never waits for one of them to come back.
#[derive(Debug)]
struct CancelPool {
    settings: PostgresConnection,
    pool: OnceCell<Arc<PostgresConnectionPool>>,
}

#[async_trait]
impl super::cancelling::Canceller for CancelPool {
    async fn connection(
        &self,
    ) -> Result<datafusion_table_providers_postgres::conn::PostgresConnection, String> {
        let pool = self
            .pool
            .get_or_try_init(|| pool_of(&self.settings, "1"))
            .await
            .map_err(|e| e.to_string())?;
        pool.connect_direct().await.map_err(|e| e.to_string())
    }
}

/// `expr` with Quire's checked whole-number operations and its rounding before a CAST
/// (`tables/checked_arithmetic.rs`, named there) written back as the SQL they stand for: the
/// database does both itself and knows no Quire function. By name, as this area sits below
/// `tables`.
fn unchecked(expr: &datafusion::logical_expr::Expr) -> datafusion::logical_expr::Expr {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::expr::ScalarFunction;
    use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
    expr.clone()
        .transform_up(|e| match e {
            // Postgres's own CAST of a float to a whole number rounds halves to even too.
            Expr::ScalarFunction(ScalarFunction { func, mut args })
                if args.len() == 1 && func.name() == "quire_round_for_cast" =>
            {
                Ok(Transformed::yes(args.pop().expect("one argument")))
            }
            Expr::ScalarFunction(ScalarFunction { func, mut args }) if args.len() == 2 => {
                let op = match func.name() {
                    "quire_checked_add" => Operator::Plus,
                    "quire_checked_subtract" => Operator::Minus,
                    "quire_checked_multiply" => Operator::Multiply,
                    _ => {
                        return Ok(Transformed::no(Expr::ScalarFunction(ScalarFunction {
                            func,
                            args,
                        })))
                    }
                };
                let right = args.pop().expect("two arguments");
                let left = args.pop().expect("two arguments");
                Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(left),
                    op,
                    Box::new(right),
                ))))
            }
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| expr.clone())
}
