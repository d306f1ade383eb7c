//! A Postgres query stops on the server when Quire stops reading it. `datafusion-table-providers`
//! runs a scan as one query on a pooled connection and hands back a stream of its rows; a
//! cancelled cell drops that stream, but the server would go on with the query to its end (a
//! slow view, a big join), holding the connection and the server's work meanwhile.
//!
//! This pool wraps the provider's. Each query is sent with a comment naming it
//! (`/* quire <id> */ SELECT …`); when its stream is dropped before the server sent its last
//! row, a connection of a pool of its own (so cancels never wait on the connections the
//! queries hold) asks Postgres to cancel the backend whose *active* query starts with that
//! comment (`pg_cancel_backend` over `pg_stat_activity`). A query that already
//! ended matches nothing, and the dropped query's own connection stays out of the pool until
//! the request is answered, so no other query can be running on that backend: the cancel can
//! only ever stop the query it names. (The protocol's cancel key would race: it names a backend,
//! not a query, and arrives after the pool may have handed the connection on.)

use std::any::Any;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion_table_providers_common::sql::db_connection_pool::dbconnection::{
    AsyncDbConnection, DbConnection, Error as DbError, GenericError, TableSchemas,
};
use datafusion_table_providers_common::sql::db_connection_pool::{DbConnectionPool, JoinPushDown};
use datafusion_table_providers_postgres::conn::{PostgresConnection, PostgresPooledConnection};
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use futures::Stream;
use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;

use super::as_text::AsText;
use super::io;

type Param = &'static (dyn ToSql + Sync);
type Conn = Box<dyn DbConnection<PostgresPooledConnection, Param>>;

/// Rows per batch the provider reads: a shorter batch is the last of its query (the provider
/// chunks the server's rows by this many), so the query has ended on the server.
const PROVIDER_CHUNK_ROWS: usize = 4_000;
/// How long the cancel request may take, once a connection for it is there.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// Where cancels are asked from: connections apart from the pool the queries hold.
#[async_trait]
pub trait Canceller: Send + Sync {
    async fn connection(&self) -> Result<PostgresConnection, String>;
}

/// The provider's pool, its queries cancelled on the server when dropped.
pub struct CancellingPool {
    pub pool: Arc<PostgresConnectionPool>,
    pub canceller: Arc<dyn Canceller>,
}

#[async_trait]
impl DbConnectionPool<PostgresPooledConnection, Param> for CancellingPool {
    async fn connect(&self) -> Result<Conn, GenericError> {
        let conn = self.pool.connect().await?;
        Ok(Box::new(Watched {
            conn: Mutex::new(Some(conn)),
            canceller: Some(self.canceller.clone()),
        }))
    }

    fn join_push_down(&self) -> JoinPushDown {
        self.pool.join_push_down()
    }
}

/// A pooled connection. A query takes it into its stream (see [`Watching`]); until then it
/// answers as the connection it wraps.
struct Watched {
    conn: Mutex<Option<Conn>>,
    /// Where a cancel is asked from; None from the trait's own constructors, which Quire never
    /// calls.
    canceller: Option<Arc<dyn Canceller>>,
}

fn taken() -> DbError {
    // A connection runs one query and goes back to the pool: the provider never asks twice.
    DbError::UnableToDowncastConnection {}
}

impl DbConnection<PostgresPooledConnection, Param> for Watched {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn as_async(&self) -> Option<&dyn AsyncDbConnection<PostgresPooledConnection, Param>> {
        Some(self)
    }
}

#[async_trait]
impl AsyncDbConnection<PostgresPooledConnection, Param> for Watched {
    fn new(conn: PostgresPooledConnection) -> Self {
        let conn = <PostgresConnection as AsyncDbConnection<_, Param>>::new(conn);
        Watched {
            conn: Mutex::new(Some(Box::new(conn))),
            canceller: None,
        }
    }

    fn new_with_schemas(conn: PostgresPooledConnection, schemas: Arc<TableSchemas>) -> Self {
        let conn =
            <PostgresConnection as AsyncDbConnection<_, Param>>::new_with_schemas(conn, schemas);
        Watched {
            conn: Mutex::new(Some(Box::new(conn))),
            canceller: None,
        }
    }

    async fn tables(&self, schema: &str) -> Result<Vec<String>, DbError> {
        let conn = self.conn.lock().await;
        let conn = conn.as_ref().and_then(|c| c.as_async()).ok_or_else(taken)?;
        conn.tables(schema).await
    }

    async fn schemas(&self) -> Result<Vec<String>, DbError> {
        let conn = self.conn.lock().await;
        let conn = conn.as_ref().and_then(|c| c.as_async()).ok_or_else(taken)?;
        conn.schemas().await
    }

    async fn get_schema(&self, table_reference: &TableReference) -> Result<SchemaRef, DbError> {
        let conn = self.conn.lock().await;
        let conn = conn.as_ref().and_then(|c| c.as_async()).ok_or_else(taken)?;
        let known = conn.get_schema(table_reference).await?;
        // Every column, those of types the provider leaves out or reads wrong included.
        let sql = super::as_text::columns_query(table_reference.schema(), table_reference.table());
        match listed(conn, &sql).await {
            Ok(listed) if !listed.is_empty() => Ok(super::as_text::readable(&known, &listed)),
            Ok(_) => Ok(known),
            Err(e) => {
                log::warn!("the columns of {table_reference} could not be listed: {e}");
                Ok(known)
            }
        }
    }

    async fn query_arrow(
        &self,
        sql: &str,
        params: &[Param],
        projected_schema: Option<SchemaRef>,
    ) -> Result<SendableRecordBatchStream, GenericError> {
        let conn = self.conn.lock().await.take().ok_or_else(taken)?;
        let tag = format!("/* quire {} */", uuid::Uuid::now_v7().simple());
        // Numbers and arrays the provider would read wrong come as text (see `as_text`).
        let as_text = projected_schema
            .as_ref()
            .and_then(|schema| AsText::rewrite(sql, schema));
        let (sql, projected_schema) = match &as_text {
            Some((sql, as_text)) => (
                sql.as_str(),
                projected_schema.as_ref().map(|s| as_text.sent(s)),
            ),
            None => (sql, projected_schema),
        };
        let tagged = format!("{tag} {sql}");
        // Armed before the query is sent: the wait for its first rows can be cancelled too.
        let guard = Guard {
            cancel: self.canceller.clone().map(|canceller| (canceller, tag)),
            conn: Some(conn),
        };
        let started = match guard.conn.as_ref().and_then(|c| c.as_async()) {
            Some(query) => query.query_arrow(&tagged, params, projected_schema).await,
            None => Err(taken().into()),
        };
        // On an error the guard stays armed: the cancel finds nothing if the query is over.
        let rows = started?;
        let rows = match as_text {
            Some((_, as_text)) => read_back(rows, as_text),
            None => rows,
        };
        Ok(Box::pin(Watching { rows, guard }))
    }

    async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, GenericError> {
        let conn = self.conn.lock().await;
        let conn = conn.as_ref().and_then(|c| c.as_async()).ok_or_else(taken)?;
        conn.execute(sql, params).await
    }
}

/// The rows of the catalog query [`super::as_text::columns_query`] writes.
async fn listed(
    conn: &dyn AsyncDbConnection<PostgresPooledConnection, Param>,
    sql: &str,
) -> Result<Vec<super::as_text::Listed>, GenericError> {
    use datafusion::arrow::array::{Array, AsArray};
    use futures::TryStreamExt;
    let batches: Vec<RecordBatch> = conn
        .query_arrow(sql, &[], None)
        .await?
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for batch in &batches {
        let (Some(names), Some(types), Some(nullable)) = (
            batch
                .column_by_name("name")
                .and_then(|c| c.as_string_opt::<i32>()),
            batch
                .column_by_name("type")
                .and_then(|c| c.as_string_opt::<i32>()),
            batch
                .column_by_name("nullable")
                .and_then(|c| c.as_boolean_opt()),
        ) else {
            return Err("the catalog answered with other columns".into());
        };
        for i in 0..batch.num_rows() {
            out.push((
                names.value(i).to_string(),
                types.value(i).to_string(),
                nullable.is_null(i) || nullable.value(i),
            ));
        }
    }
    Ok(out)
}

/// `rows` with the columns that came as text read back into their own types.
fn read_back(rows: SendableRecordBatchStream, as_text: AsText) -> SendableRecordBatchStream {
    use futures::StreamExt;
    let schema = as_text.schema(&rows.schema());
    let read = schema.clone();
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        rows.map(move |batch| {
            batch.and_then(|batch| {
                as_text
                    .read_back(batch, &read)
                    // The value that does not fit, in words, as the user reads it.
                    .map_err(|e| match e {
                        datafusion::arrow::error::ArrowError::CastError(said) => {
                            datafusion::error::DataFusionError::Execution(said)
                        }
                        e => datafusion::error::DataFusionError::ArrowError(Box::new(e), None),
                    })
            })
        }),
    ))
}

/// While armed, asks Postgres to cancel the tagged query when dropped; the query's connection
/// goes back to the pool only after that request was answered.
struct Guard {
    cancel: Option<(Arc<dyn Canceller>, String)>,
    conn: Option<Conn>,
}

impl Guard {
    fn disarm(&mut self) {
        self.cancel = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let conn = self.conn.take();
        let Some((canceller, tag)) = self.cancel.take() else {
            return;
        };
        io::handle().spawn(async move {
            // The connection is made without this timeout (opening the cancel pool takes a few
            // round trips, and its own timeouts bound it): cut short, it would be opened anew
            // for every cancel. Only the request itself is timed.
            let asked = match canceller.connection().await {
                Err(e) => Ok(Err(e)),
                Ok(other) => {
                    tokio::time::timeout(
                        CANCEL_TIMEOUT,
                        other.conn.execute(
                            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                             WHERE state = 'active' AND pid <> pg_backend_pid() AND starts_with(query, $1)",
                            &[&tag],
                        ),
                    )
                    .await
                    .map(|done| done.map_err(|e| e.to_string()))
                }
            };
            match asked {
                Ok(Ok(0)) => {}
                Ok(Ok(_)) => log::info!("asked Postgres to stop a query Quire no longer reads"),
                Ok(Err(e)) => log::warn!("could not ask Postgres to stop a query: {e}"),
                Err(_) => log::warn!(
                    "could not ask Postgres to stop a query within {CANCEL_TIMEOUT:?}"
                ),
            }
            drop(conn);
        });
    }
}

/// A query's rows; dropped before the server sent the last one, the query is cancelled there.
struct Watching {
    rows: SendableRecordBatchStream,
    guard: Guard,
}

impl Stream for Watching {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rows.as_mut().poll_next(cx);
        match &polled {
            // Read to its end, or its last (short) batch came: nothing left running there. A
            // `LIMIT` above this scan stops reading after it, without waiting for the end.
            Poll::Ready(None) => self.guard.disarm(),
            Poll::Ready(Some(Ok(batch))) if batch.num_rows() < PROVIDER_CHUNK_ROWS => {
                self.guard.disarm()
            }
            // An error may be Quire's own (a value Arrow cannot hold) while the server goes
            // on: the guard stays armed.
            _ => {}
        }
        polled
    }
}

impl RecordBatchStream for Watching {
    fn schema(&self) -> SchemaRef {
        self.rows.schema()
    }
}
