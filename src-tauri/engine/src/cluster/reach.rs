//! Which tables a cluster query may read, decided before anything is sent.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::execution::context::SessionContext;

use super::store::ClusterStore;
use crate::notebooks::NotebookId;
use crate::remote::ClusterConnection;
use crate::tables::{Catalog, TableError};

/// The tables a cluster query reads, as the cluster reaches them, and the object store they
/// are in (at most one per query: Ballista's executors take one store's settings).
pub struct ClusterTables {
    pub tables: Vec<(String, Arc<dyn TableProvider>)>,
    pub store: Option<ClusterStore>,
}

/// The tables `sql` names, each checked to be one the cluster `connection` reads, before
/// anything else touches them (a database named in it is not reached). `sql` is then planned on
/// the notebook's own session, so its mistakes are told as they are locally.
pub async fn resolve(
    catalog: &Catalog,
    notebook: NotebookId,
    connection: &str,
    cluster: &ClusterConnection,
    sql: &str,
) -> Result<ClusterTables, TableError> {
    let state = SessionContext::new().state();
    let statement = match state.sql_to_statement(sql, &datafusion::config::Dialect::Generic) {
        Ok(statement) => statement,
        Err(e) => {
            // The notebook's session says where the mistake is.
            catalog.session(notebook).schema_of(sql).await?;
            return Err(crate::tables::sql::describe(e));
        }
    };
    let functions = state.table_functions();
    let references = state
        .resolve_table_references(&statement)
        .map_err(crate::tables::sql::describe)?;
    let mut out = ClusterTables {
        tables: Vec::new(),
        store: None,
    };
    for reference in references {
        let shown = reference.to_string();
        // The cluster answers these from its own catalog of the query's tables.
        if reference.schema() == Some("information_schema") {
            continue;
        }
        if let TableReference::Full { catalog: c, .. } = &reference {
            if c.as_ref() != "datafusion" {
                return Err(TableError::NotOnCluster {
                    table: shown,
                    why: format!(
                        "is in the database {c}, which only this machine reaches; keep the rows the cell needs as a Parquet file the cluster reads (a bucket, or a shared folder) and link it, or run the cell on this machine"
                    ),
                });
            }
        }
        let name = reference.table();
        if out.tables.iter().any(|(n, _)| n == name) {
            continue;
        }
        if let Some(missing) = catalog.missing(notebook, name) {
            return Err(TableError::NotOnCluster {
                table: name.to_string(),
                why: format!(
                    "is a link whose files could not be read when the notebook opened ({}); link them again",
                    missing.reason
                ),
            });
        }
        if let Some(linked) = catalog.linked(notebook, name) {
            let edits = linked.edits.current();
            if !edits.is_empty() {
                let plural = |n: u64| if n == 1 { "" } else { "s" };
                let counts = [
                    (edits.len() as u64, "edited cell"),
                    (edits.deleted_count(), "deleted row"),
                    (edits.added(), "added row"),
                ];
                let parts: Vec<String> = counts
                    .iter()
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, what)| format!("{n} {what}{}", plural(*n)))
                    .collect();
                let what = match parts.as_slice() {
                    [one] => one.clone(),
                    [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
                    [] => "edits".to_string(),
                };
                return Err(TableError::NotOnCluster {
                    table: name.to_string(),
                    why: format!(
                        "has {what} that only this machine holds (the cluster would read the files without them); copy the table into the notebook and export it, or run the cell on this machine"
                    ),
                });
            }
            if let Some(outside) = linked.local_files().find(|p| !cluster.shares(p)) {
                let shared = if cluster.shared_folders.is_empty() {
                    "it shares no folders".to_string()
                } else {
                    format!("it shares {}", cluster.shared_folders.join(", "))
                };
                return Err(TableError::NotOnCluster {
                    table: name.to_string(),
                    why: format!(
                        "reads {}, outside the folders the cluster {connection} reads as this machine does ({shared}); add its folder to the connection's shared folders, or run the cell on this machine",
                        outside.display()
                    ),
                });
            }
            if let Some(remote) = &linked.remote {
                let store = ClusterStore::of(&remote.settings);
                match &out.store {
                    Some(other) if other != &store => {
                        return Err(TableError::NotOnCluster {
                            table: name.to_string(),
                            why: format!(
                                "is in the object store at {}, and another table of the query is at {}; a cluster query reads one object store",
                                remote.endpoint,
                                other.shown()
                            ),
                        });
                    }
                    _ => out.store = Some(store),
                }
            }
            out.tables
                .push((name.to_string(), linked.cluster_provider()?));
        } else if catalog.exists(notebook, name) {
            return Err(TableError::NotOnCluster {
                table: name.to_string(),
                why: "is held in this notebook, on this machine only; export it as Parquet to a bucket or a shared folder and link that, or run the cell on this machine".into(),
            });
        } else if matches!(reference, TableReference::Bare { .. }) && functions.contains_key(name) {
            return Err(TableError::NotOnCluster {
                table: format!("function {name}"),
                why: "makes its rows on this machine, and Ballista cannot send them; run the cell on this machine".into(),
            });
        }
        // Any other name is unknown here too: planning below says so.
    }
    catalog.session(notebook).schema_of(sql).await?;
    Ok(out)
}
