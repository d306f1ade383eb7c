//! The registry of suites. Later issues add a module and a line to [`ALL`].

mod bigdata;
mod durability;
mod editing;
mod events;
mod notebooks;
mod profiles;
mod queue;
mod remote;
mod smoke;
mod snapshots;
mod soak;
mod tables;
mod tasks;

use crate::report::Measure;

pub struct Suite {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn() -> Result<Vec<Measure>, String>,
}

pub const ALL: &[Suite] = &[
    Suite {
        name: "smoke",
        about: "engine open, a trivial query and a durable write, each against a raw baseline",
        run: smoke::run,
    },
    Suite {
        name: "notebooks",
        about: "lazy vs eager create, batched vs write-through edits, a 30 s typing stream",
        run: notebooks::run,
    },
    Suite {
        name: "queue",
        about: "grid pages idle and under background load, cancel latency of queries and writes",
        run: queue::run,
    },
    Suite {
        name: "tables",
        about: "1M-row CSV/Parquet import, grid pages and a group-by, against DuckDB and pyarrow",
        run: tables::run,
    },
    Suite {
        name: "snapshots",
        about: "1M x 10 snapshot with snappy/zstd vs pyarrow, disk limit, peak RSS, pages during a save",
        run: snapshots::run,
    },
    Suite {
        name: "profiles",
        about: "every column of a 10M x 8 table profiled, against DuckDB SUMMARIZE; a 50-bin chart histogram",
        run: profiles::run,
    },
    Suite {
        name: "bigdata",
        about: "a 100M-row Parquet file linked within a 2 GiB budget: open, queries and pages, against DuckDB",
        run: bigdata::run,
    },
    Suite {
        name: "remote",
        about: "Parquet in a bucket of a loopback S3 server (moto): bytes fetched with pushdown, answers and time against the same files on disk",
        run: remote::run,
    },
    Suite {
        name: "editing",
        about: "a cell edit, a transform and a 1 % diff on 1M rows; the diff against DuckDB",
        run: editing::run,
    },
    Suite {
        name: "tasks",
        about: "SQLite task store: enqueue and journal append latency, restore of 10k tasks, idle CPU",
        run: tasks::run,
    },
    Suite {
        name: "durability",
        about: "a notebook edit and a table edit acknowledged only once synced; group commit",
        run: durability::run,
    },
    Suite {
        name: "events",
        about: "a 10,000-event burst batched vs unbatched: messages per event, critical latency",
        run: events::run,
    },
    Suite {
        name: "soak",
        about: "a 30-minute session compressed into 60 rounds: RSS, open fds and task rows per round",
        run: soak::run,
    },
];

/// The suites named, in the order given; `all` selects every suite.
pub fn select(names: &[String]) -> Result<Vec<&'static Suite>, String> {
    if names.iter().any(|n| n == "all") {
        return Ok(ALL.iter().collect());
    }
    names
        .iter()
        .map(|n| ALL.iter().find(|s| s.name == n).ok_or_else(|| n.clone()))
        .collect()
}
