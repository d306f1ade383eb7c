//! A Postgres query stops on the server when Quire stops reading it. `datafusion-table-providers`
//! runs a scan as one query on a pooled connection and hands back a stream of its rows; a
//! cancelled cell drops that stream, but the server would go on with the query to its end (a
//! slow view, a big join), holding the connection and the server's work meanwhile.
//!
//! This pool wraps the provider's: each connection carries its backend's cancel key, and a
//! query's stream dropped before its last row sends Postgres a cancel request (what psql does on
//! Ctrl-C), over TLS when the connection's mode asks for it, verified as the pool verifies. The
//! connection stays checked out until that request has gone, so the key can only stop this
//! query, never the next one the pool runs on the same backend.

use std::any::Any;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion_table_providers_common::sql::db_connection_pool::dbconnection::{
    AsyncDbConnection, DbConnection, Error as DbError, GenericError, TableSchemas,
};
use datafusion_table_providers_common::sql::db_connection_pool::{DbConnectionPool, JoinPushDown};
use datafusion_table_providers_postgres::conn::{PostgresConnection, PostgresPooledConnection};
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use futures::Stream;
use postgres_native_tls::MakeTlsConnector;
use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::CancelToken;

use super::io;

type Param = &'static (dyn ToSql + Sync);
type Conn = Box<dyn DbConnection<PostgresPooledConnection, Param>>;

/// The provider's pool, its connections' queries cancelled on the server when dropped.
pub struct CancellingPool {
    pool: Arc<PostgresConnectionPool>,
    tls: MakeTlsConnector,
}

impl CancellingPool {
    /// `sslmode` as libpq takes it (none: prefer); certificates are checked as the provider's
    /// pool checks them: fully for verify-full, the chain only for verify-ca, not otherwise.
    pub fn new(
        pool: Arc<PostgresConnectionPool>,
        sslmode: Option<&str>,
    ) -> Result<CancellingPool, native_tls::Error> {
        let mode = sslmode.unwrap_or("prefer");
        let tls = native_tls::TlsConnector::builder()
            .danger_accept_invalid_hostnames(mode != "verify-full")
            .danger_accept_invalid_certs(mode != "verify-full" && mode != "verify-ca")
            .build()?;
        Ok(CancellingPool {
            pool,
            tls: MakeTlsConnector::new(tls),
        })
    }
}

#[async_trait]
impl DbConnectionPool<PostgresPooledConnection, Param> for CancellingPool {
    async fn connect(&self) -> Result<Conn, GenericError> {
        let conn = self.pool.connect().await?;
        let key = conn
            .as_any()
            .downcast_ref::<PostgresConnection>()
            .map(|c| c.conn.cancel_token());
        Ok(match key {
            Some(key) => Box::new(Watched {
                conn: Mutex::new(Some(conn)),
                key,
                tls: Some(self.tls.clone()),
            }),
            // Not the provider's own connection type: nothing to cancel with.
            None => conn,
        })
    }

    fn join_push_down(&self) -> JoinPushDown {
        self.pool.join_push_down()
    }
}

/// A pooled connection and its backend's cancel key. A query takes the connection into its
/// stream (see [`Watching`]); until then it answers as the connection it wraps.
struct Watched {
    conn: Mutex<Option<Conn>>,
    key: CancelToken,
    /// None from the trait's own constructors, which Quire never calls: plain TCP then.
    tls: Option<MakeTlsConnector>,
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
        let key = conn.cancel_token();
        Watched {
            conn: Mutex::new(Some(Box::new(<PostgresConnection as AsyncDbConnection<
                _,
                Param,
            >>::new(conn)))),
            key,
            tls: None,
        }
    }

    fn new_with_schemas(conn: PostgresPooledConnection, schemas: Arc<TableSchemas>) -> Self {
        let key = conn.cancel_token();
        Watched {
            conn: Mutex::new(Some(Box::new(<PostgresConnection as AsyncDbConnection<
                _,
                Param,
            >>::new_with_schemas(
                conn, schemas
            )))),
            key,
            tls: None,
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
        conn.get_schema(table_reference).await
    }

    async fn query_arrow(
        &self,
        sql: &str,
        params: &[Param],
        projected_schema: Option<SchemaRef>,
    ) -> Result<SendableRecordBatchStream, GenericError> {
        let conn = self.conn.lock().await.take().ok_or_else(taken)?;
        // Armed before the query is sent: the wait for its first rows can be cancelled too.
        let mut guard = Guard {
            key: Some(self.key.clone()),
            tls: self.tls.clone(),
            conn: Some(conn),
        };
        let started = match guard.conn.as_ref().and_then(|c| c.as_async()) {
            Some(query) => query.query_arrow(sql, params, projected_schema).await,
            None => Err(taken().into()),
        };
        match started {
            Ok(rows) => Ok(Box::pin(Watching { rows, guard })),
            Err(e) => {
                // The server answered with an error: the query is over.
                guard.key = None;
                Err(e)
            }
        }
    }

    async fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, GenericError> {
        let conn = self.conn.lock().await;
        let conn = conn.as_ref().and_then(|c| c.as_async()).ok_or_else(taken)?;
        conn.execute(sql, params).await
    }
}

/// Sends the cancel request when dropped while armed, then lets the connection go back to the
/// pool.
struct Guard {
    key: Option<CancelToken>,
    tls: Option<MakeTlsConnector>,
    conn: Option<Conn>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let conn = self.conn.take();
        let Some(key) = self.key.take() else {
            return;
        };
        let tls = self.tls.take();
        io::handle().spawn(async move {
            let sent = match tls {
                Some(tls) => key.cancel_query(tls).await,
                None => key.cancel_query(tokio_postgres::NoTls).await,
            };
            match sent {
                Ok(()) => log::info!("asked Postgres to stop a query Quire no longer reads"),
                Err(e) => log::warn!("could not ask Postgres to stop a query: {e}"),
            }
            drop(conn);
        });
    }
}

/// A query's rows; dropped before the last one, the query is cancelled on the server.
struct Watching {
    rows: SendableRecordBatchStream,
    guard: Guard,
}

impl Stream for Watching {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rows.as_mut().poll_next(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            // Read to its end, or failed on the server: nothing left running there.
            self.guard.key = None;
        }
        polled
    }
}

impl RecordBatchStream for Watching {
    fn schema(&self) -> SchemaRef {
        self.rows.schema()
    }
}
