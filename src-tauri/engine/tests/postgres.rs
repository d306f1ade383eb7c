//! PostgreSQL attached to a notebook, against a real server: Debian's PostgreSQL, a fresh
//! cluster on a free loopback port with password logins (scram-sha-256), started and stopped
//! here (`support/postgres.rs`).
//!
//! A connection keeps host, port, user and database, never the password: that comes from a
//! libpq password file named by `PGPASSFILE`. Its tables are browsed, queried as
//! `shop.public.orders` and joined with a table of the notebook, and the answers equal what
//! Postgres itself answers to the same SQL (over its own copy of the local table). The
//! statements the server logged show the projection, the filter and the limit ran there. A
//! result is kept as a local table; the database cannot be written through Quire; the
//! connection is attached again after the engine restarts. A wrong password, a database that
//! does not exist and a port where nothing listens are typed errors in words, in seconds.
//!
//! One scenario: the password file is named by an environment variable, set once before
//! anything reads it.
#![cfg(unix)]

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/session.rs"]
mod session;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::ids::NotebookId;
use quire_engine::notebooks::CellKind;
use quire_engine::remote::{Connection, ConnectionKind, PostgresConnection};
use quire_engine::{Engine, ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

use postgres::Postgres;
use session::{answer, block, engine};

fn sorted(text: String) -> String {
    let mut rows: Vec<&str> = text.lines().collect();
    rows.sort();
    rows.join("\n")
}

fn connection(name: &str, port: u16, database: &str) -> Connection {
    Connection {
        name: name.into(),
        kind: ConnectionKind::Postgres,
        s3: None,
        postgres: Some(PostgresConnection {
            host: "127.0.0.1".into(),
            port,
            user: "quire".into(),
            database: database.into(),
            sslmode: None,
        }),
        cluster: None,
        azure: None,
    }
}

const SETUP: &str = "
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country text, signed_up date);
INSERT INTO customers
  SELECT i, 'customer ' || i, (ARRAY['FR', 'DE', 'JP', 'BR', NULL])[1 + i % 5], DATE '2020-01-01' + i
  FROM generate_series(1, 500) AS i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, amount numeric(10, 2), paid boolean);
INSERT INTO orders
  SELECT i, 1 + i % 500, round((i % 997) * 1.25, 2), i % 3 <> 0
  FROM generate_series(1, 50000) AS i;
CREATE SCHEMA crm;
CREATE TABLE crm.\"Mixed Case\" (\"Key\" int, note text);
INSERT INTO crm.\"Mixed Case\" VALUES (1, 'one'), (2, NULL);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
-- Fails only when its rows are read: Postgres's own error, mid-query.
CREATE VIEW broken AS SELECT id, 1 / (id - id) AS x FROM customers;
-- Postgres's copy of the notebook's local table, for its own answers.
CREATE TABLE regions_copy (country text, region text);
-- Halves, which a CAST to a whole number rounds to even here and in Quire.
CREATE TABLE ratings (id int, rating double precision);
INSERT INTO ratings SELECT i, (i % 7) * 0.5 FROM generate_series(1, 70) AS i;
INSERT INTO regions_copy VALUES ('FR', 'Europe'), ('DE', 'Europe'), ('JP', 'Asia'), ('BR', 'Americas');
ANALYZE;
";

#[test]
fn a_postgres_database_is_attached_browsed_joined_with_local_tables_and_fails_in_words() {
    let server = Postgres::start();
    server.psql("postgres", "CREATE DATABASE shop");
    server.psql("shop", SETUP);

    // The password is where libpq users keep it, never in the notebook.
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# Quire's test\n127.0.0.1:{}:*:quire:{}\n",
            server.port,
            postgres::PASSWORD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::env::set_var("PGPASSFILE", &pgpass);
    std::env::remove_var("PGPASSWORD");

    let data = tempfile::tempdir().unwrap();
    let engine = engine(data.path());
    let nb = engine.create_notebook("Shop").unwrap().id;
    let shop = connection("shop", server.port, "shop");

    // Tested before it is saved: one login, the server's version, what it may read.
    let check = engine.check_connection(nb, &shop, "").unwrap();
    assert_eq!(check.objects, 7, "{check:?}");
    assert_eq!(check.folders, 2, "crm and public: {check:?}");
    assert!(
        check
            .server
            .as_deref()
            .is_some_and(|s| s.starts_with("PostgreSQL ")),
        "{check:?}"
    );
    engine.save_connection(nb, shop.clone()).unwrap();
    engine.notebooks().flush(nb).unwrap();
    let text =
        std::fs::read_to_string(walk(data.path(), "notebook.json").expect("notebook.json written"))
            .unwrap();
    assert!(
        text.contains("\"postgres\"") && !text.contains(postgres::PASSWORD),
        "{text}"
    );

    // Browsed: tables and views, with Postgres's row estimates.
    let tables = block(engine.browse_connection(nb, "shop")).unwrap();
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{}.{} ({})", t.schema, t.name, t.kind))
        .collect();
    assert_eq!(
        names,
        [
            "crm.Mixed Case (table)",
            "public.big_orders (view)",
            "public.broken (view)",
            "public.customers (table)",
            "public.orders (table)",
            "public.ratings (table)",
            "public.regions_copy (table)"
        ]
    );
    let orders = tables.iter().find(|t| t.name == "orders").unwrap();
    assert_eq!(orders.estimated_rows, Some(50_000.0));

    // A local table of the notebook, joined with two of the database's.
    block(engine.save_query_as_table(
        nb,
        "SELECT * FROM (VALUES ('FR', 'Europe'), ('DE', 'Europe'), ('JP', 'Asia'), ('BR', 'Americas')) AS t(country, region)",
        "regions",
    ))
    .unwrap();
    let join = "SELECT r.region, count(*) AS orders, sum(o.amount) AS total, count(DISTINCT c.id) AS customers \
                FROM {orders} o JOIN {customers} c ON o.customer_id = c.id JOIN {regions} r ON r.country = c.country \
                WHERE o.paid GROUP BY r.region";
    let ours = answer(
        &engine,
        nb,
        &join
            .replace("{orders}", "shop.public.orders")
            .replace("{customers}", "shop.public.customers")
            .replace("{regions}", "regions"),
    );
    let theirs = sorted(
        server.psql(
            "shop",
            &join
                .replace("{orders}", "orders")
                .replace("{customers}", "customers")
                .replace("{regions}", "regions_copy"),
        ),
    );
    assert_eq!(ours, theirs, "Quire's join against Postgres's own");
    assert_eq!(ours.lines().count(), 3);

    // Every held query, against Postgres's own answer.
    for sql in [
        "SELECT country, count(*) FROM {s}.customers GROUP BY country",
        "SELECT id, name, signed_up FROM {s}.customers WHERE country = 'JP' AND id < 40",
        "SELECT paid, min(amount), max(amount), count(*) FROM {s}.orders GROUP BY paid",
        "SELECT count(*), sum(amount) FROM {s}.big_orders",
        // No column asked for: the provider alone fails this one (see database.rs).
        "SELECT count(*) FROM {s}.orders WHERE paid",
        "SELECT customer_id, sum(amount) FROM {s}.orders WHERE amount BETWEEN 100 AND 101 GROUP BY customer_id",
        // Whole-number arithmetic is checked here, and sent to Postgres as the operators.
        "SELECT id, id * 3 - 1 FROM {s}.customers WHERE id * 2 + 1 < 21",
        // A CAST of a float rounds (halves to even) here and there, also in a pushed filter.
        "SELECT id, CAST(rating AS BIGINT) FROM {s}.ratings WHERE CAST(rating AS INT) = 2",
    ] {
        let ours = answer(&engine, nb, &sql.replace("{s}", "shop.public"));
        // psql prints a boolean as t/f; its text form is Arrow's true/false.
        let theirs_sql = sql
            .replace("{s}", "public")
            .replace("SELECT paid,", "SELECT paid::text,");
        let theirs = sorted(server.psql("shop", &theirs_sql));
        assert_eq!(ours, theirs, "{sql}");
        assert!(!ours.is_empty(), "{sql}");
    }
    // A name that needs quotes, in a schema of its own; a null reads as one.
    assert_eq!(
        answer(
            &engine,
            nb,
            "SELECT \"Key\", note FROM shop.crm.\"Mixed Case\""
        ),
        "1 | one\n2 | "
    );

    // What ran in Postgres: only the columns asked for, the filter and the limit.
    let before = server.log().len();
    assert_eq!(
        answer(
            &engine,
            nb,
            "SELECT name FROM shop.public.customers WHERE country = 'BR' LIMIT 3"
        )
        .lines()
        .count(),
        3
    );
    let sent = server.log()[before..].to_string();
    let select = sent
        .lines()
        .rfind(|l| l.contains("SELECT") && l.contains("FROM \"public\".\"customers\""))
        .unwrap_or_else(|| panic!("no SELECT logged: {sent}"))
        .to_string();
    assert!(select.contains("\"name\""), "projection: {select}");
    assert!(
        !select.contains("signed_up"),
        "only the column asked for: {select}"
    );
    assert!(
        select.contains("WHERE") && select.contains("'BR'"),
        "filter: {select}"
    );
    assert!(select.contains("LIMIT 3"), "limit: {select}");
    // A filter with arithmetic goes there too, as Postgres's own operators.
    let before = server.log().len();
    answer(
        &engine,
        nb,
        "SELECT name FROM shop.public.customers WHERE id * 7 = 21",
    );
    let sent = server.log()[before..].to_string();
    assert!(
        sent.lines()
            .any(|l| l.contains("FROM \"public\".\"customers\"") && l.contains("* 7")),
        "arithmetic filter pushed down: {sent}"
    );

    // A result kept as a local table stays when the server is gone.
    let kept = block(engine.save_query_as_table(
        nb,
        "SELECT id, name FROM shop.public.customers WHERE country = 'FR'",
        "french",
    ))
    .unwrap();
    assert_eq!(
        kept.rows.to_string(),
        server.psql(
            "shop",
            "SELECT count(*) FROM customers WHERE country = 'FR'"
        )
    );

    // Postgres refusing a query while its rows stream: its words, not the driver's.
    let e = block(engine.query(nb, "SELECT * FROM shop.public.broken")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionFailed, "{e}");
    assert!(e.to_string().contains("division by zero"), "{e}");
    assert!(!e.to_string().contains("postgresql.org"), "{e}");

    // Quire does not write to the database.
    let e = block(engine.query(nb, "INSERT INTO shop.public.regions_copy VALUES ('X', 'Y')"))
        .unwrap_err();
    assert!(!e.to_string().contains("DataFusion"), "{e}");
    assert_eq!(
        server.psql("shop", "SELECT count(*) FROM regions_copy"),
        "4"
    );

    cancelled_cells_stop_their_query_on_the_server(&engine, nb, &server);
    numbers_and_arrays_read_as_postgres_holds_them(&engine, nb, &server);

    // Failures, in words, in seconds.
    let wrong_password = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        wrong_password.path(),
        format!("127.0.0.1:{}:*:quire:not-it\n", server.port),
    )
    .unwrap();
    std::env::set_var("PGPASSFILE", wrong_password.path());
    let e = engine.check_connection(nb, &shop, "").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionRefused, "{e}");
    assert!(e.to_string().contains("password"), "{e}");
    // No password anywhere, and a password file others can read (libpq ignores it too).
    let empty = home.path().join("empty-pgpass");
    std::fs::write(&empty, "").unwrap();
    std::env::set_var("PGPASSFILE", &empty);
    let e = engine.check_connection(nb, &shop, "").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionRefused, "{e}");
    assert!(e.to_string().contains("password"), "{e}");
    let open_to_all = home.path().join("open-pgpass");
    std::fs::copy(&pgpass, &open_to_all).unwrap();
    std::fs::set_permissions(
        &open_to_all,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    std::env::set_var("PGPASSFILE", &open_to_all);
    let e = engine.check_connection(nb, &shop, "").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionRefused, "{e}");
    std::env::set_var("PGPASSFILE", &pgpass);

    let e = engine
        .check_connection(nb, &connection("nowhere", server.port, "no_such_db"), "")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionInvalid, "{e}");
    assert!(e.to_string().contains("no database of that name"), "{e}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let e = engine
        .check_connection(nb, &connection("down", closed, "shop"), "")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    assert!(e.to_string().contains("nothing is listening"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // A name SQL cannot reach unquoted is refused before anything is saved.
    let e = engine
        .save_connection(nb, connection("Shop DB", server.port, "shop"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionInvalid, "{e}");

    // After a restart the connection is attached again; removed, SQL no longer reaches it.
    drop(engine);
    let engine = self::engine(data.path());
    assert_eq!(
        answer(&engine, nb, "SELECT count(*) FROM shop.public.orders"),
        "50000"
    );
    assert_eq!(
        answer(&engine, nb, "SELECT count(*) FROM french"),
        kept.rows.to_string()
    );
    engine.remove_connection(nb, "shop").unwrap();
    let e = block(engine.query(nb, "SELECT count(*) FROM shop.public.orders")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SqlInvalid, "{e}");

    // The server stopped under an attached database: a query says so, in words.
    engine.save_connection(nb, shop).unwrap();
    assert_eq!(
        answer(&engine, nb, "SELECT count(*) FROM shop.public.customers"),
        "500"
    );
    drop(server);
    let e = block(engine.query(nb, "SELECT count(*) FROM shop.public.customers")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    // Listing names never reaches it: SHOW TABLES answers from what was listed before.
    let shown = answer(&engine, nb, "SHOW TABLES");
    assert!(
        shown.contains("french") && shown.contains("customers"),
        "{shown}"
    );
}

fn walk(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = walk(&path, name) {
                return Some(found);
            }
        } else if entry.file_name() == name {
            return Some(path);
        }
    }
    None
}

/// Polls `done` until it holds, failing with `what` after `within`.
fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} (after {within:?})");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every digit of a `numeric` and every element of an array, NULLs inside included. The
/// provider reads numerics through a 28-digit decimal (this `numeric(38,10)` came back as
/// ...0123456790, and its sum off by two in the last place) and arrays without NULL elements
/// (a query over `{1,NULL,3}` failed); both now come as text and are read by arrow. A value
/// wider than its column's type fails in words, naming it.
fn numbers_and_arrays_read_as_postgres_holds_them(
    engine: &Engine,
    nb: NotebookId,
    server: &Postgres,
) {
    server.psql(
        "shop",
        "CREATE TABLE exact (id int, big numeric(38,10), plain numeric, arr int[], tags text[], prices numeric(10,2)[]);
         INSERT INTO exact VALUES
           (1, 12345678901234567890.0123456789, 123456789012345678.5, ARRAY[1,NULL,3], ARRAY['a',NULL,'c'], ARRAY[1.50,NULL]),
           (2, -99999999999999999999999999.9999999999, 0.1, '{}', '{}', NULL),
           (3, NULL, NULL, NULL, NULL, '{2.25}');
         CREATE TABLE too_wide (v numeric);
         INSERT INTO too_wide VALUES (1.5), (123456789012345678901234567890.5);",
    );
    let both = |quire: &str, pg: &str| {
        assert_eq!(
            answer(engine, nb, quire),
            sorted(server.psql("shop", pg)),
            "{quire}"
        );
    };
    both(
        "SELECT id, big FROM shop.public.exact WHERE big IS NOT NULL",
        "SELECT id, big FROM exact WHERE big IS NOT NULL",
    );
    both(
        "SELECT sum(big), count(big) FROM shop.public.exact",
        "SELECT sum(big), count(big) FROM exact",
    );
    // Pushed down, compared there with every digit.
    both(
        "SELECT id, big FROM shop.public.exact WHERE big > CAST('12345678901234567890.0123456788' AS DECIMAL(38, 10))",
        "SELECT id, big FROM exact WHERE big > 12345678901234567890.0123456788",
    );
    both(
        "SELECT id, plain FROM shop.public.exact WHERE plain IS NOT NULL",
        // An unconstrained numeric is read with 20 digits after the point.
        "SELECT id, plain::numeric(38, 20) FROM exact WHERE plain IS NOT NULL",
    );
    assert_eq!(
        answer(
            engine,
            nb,
            "SELECT id, arr, tags, prices FROM shop.public.exact"
        ),
        "1 | [1, , 3] | [a, , c] | [1.50, ]\n2 | [] | [] | \n3 |  |  | [2.25]"
    );
    both(
        "SELECT id, arr[3], array_length(arr) FROM shop.public.exact WHERE arr IS NOT NULL",
        "SELECT id, arr[3], coalesce(cardinality(arr), 0) FROM exact WHERE arr IS NOT NULL",
    );
    let e = block(engine.query(nb, "SELECT v FROM shop.public.too_wide")).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "column v holds 123456789012345678901234567890.5, which Quire cannot read"
        ),
        "{e}"
    );
    println!("a numeric wider than its column: {e}");
    every_column_type_reads(engine, nb, server);
}

/// Columns of types the provider reads wrong or not at all, each in a table of its own and all
/// in one: `money` came back in cents (12.34 as 1234); `inet`, `xml`, `bit`, `tsvector`, ranges,
/// arrays of date-times failed any query naming them, and a `timetz` or `daterange` column made
/// its whole table unreadable. Each now reads as `psql` shows it, and the rest of the table as
/// before.
fn every_column_type_reads(engine: &Engine, nb: NotebookId, server: &Postgres) {
    let types = [
        ("m", "mood", "'happy'"),
        ("ip", "inet", "'10.0.0.1'"),
        ("net", "cidr", "'10.0.0.0/8'"),
        ("mac", "macaddr", "'08:00:2b:01:02:03'"),
        ("cash", "money", "12.34"),
        ("ttz", "timetz", "'13:45+02'"),
        ("r", "int4range", "'[1,5)'"),
        ("x", "xml", "'<a>1</a>'"),
        ("b", "bit(3)", "B'101'"),
        ("vb", "varbit", "B'11'"),
        ("tsv", "tsvector", "'a fat cat'"),
        ("d", "daterange", "'[2024-01-01,2024-02-01)'"),
        (
            "arr_ts",
            "timestamptz[]",
            "ARRAY['2024-01-01 00:00+00'::timestamptz, NULL]",
        ),
        ("c", "char(3)", "'ab'"),
        ("j", "jsonb", "'{\"b\": [1, 2]}'"),
    ];
    server.psql("shop", "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
    let columns: Vec<String> = types.iter().map(|(c, ty, _)| format!("{c} {ty}")).collect();
    let values: Vec<&str> = types.iter().map(|(_, _, v)| *v).collect();
    server.psql(
        "shop",
        &format!(
            "CREATE TABLE odd (id int, {}); INSERT INTO odd VALUES (1, {}), (2{});",
            columns.join(", "),
            values.join(", "),
            ", NULL".repeat(types.len())
        ),
    );
    for (c, ty, _) in types {
        // As psql writes it, but for money (a number here, `$12.34` there).
        let pg = match ty {
            "money" => format!("SELECT id, {c}::numeric FROM odd"),
            // The provider reads char(n) without its padding, as most tools show it.
            "char(3)" => format!("SELECT id, rtrim({c}) FROM odd"),
            _ => format!("SELECT id, {c} FROM odd"),
        };
        let want = sorted(server.psql("shop", &pg));
        let got = answer(engine, nb, &format!("SELECT id, {c} FROM shop.public.odd"));
        assert_eq!(got.trim_end(), want.trim_end(), "{c} {ty}");
    }
    assert_eq!(
        answer(
            engine,
            nb,
            "SELECT count(*), sum(cash) FROM shop.public.odd"
        ),
        "2 | 12.34"
    );
    assert!(answer(engine, nb, "SELECT * FROM shop.public.odd").contains("10.0.0.1"));
}

/// Runs `sql` in a new cell and cancels it once Postgres runs a query naming `view` and
/// `after_rows` rows came back; the query must then stop on the server within seconds.
fn cancel_on_the_server(
    engine: &Engine,
    nb: NotebookId,
    server: &Postgres,
    view: &str,
    after_rows: u64,
) {
    let running_there = || {
        server.psql(
            "shop",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%\"{view}\"%' AND pid <> pg_backend_pid()"
            ),
        )
    };
    let cell = engine
        .notebooks()
        .add_cell(
            nb,
            CellKind::Sql,
            None,
            format!("SELECT x FROM shop.public.{view}"),
        )
        .unwrap();
    let cancel = CancellationToken::new();
    let rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = rows.clone();
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            block(engine.run_cell_with(
                nb,
                cell.id,
                Arc::new(move |n| seen.store(n, std::sync::atomic::Ordering::SeqCst)),
                &cancel,
            ))
        });
        wait_until(
            Duration::from_secs(30),
            "the query never ran on the server",
            || running_there() == "1",
        );
        wait_until(Duration::from_secs(30), "no rows came back", || {
            rows.load(std::sync::atomic::Ordering::SeqCst) >= after_rows
        });
        cancel.cancel();
        let e = run.join().unwrap().unwrap_err();
        assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    });
    let stopped = Instant::now();
    wait_until(
        Duration::from_secs(10),
        "Postgres still runs the query of the cancelled cell",
        || running_there() == "0",
    );
    println!(
        "the cancelled cell's query over {view} stopped on the server in {:?}",
        stopped.elapsed()
    );
}

/// A cell over a view that takes two minutes before its first row, and one over a view whose
/// rows trickle out for a minute, each cancelled while Postgres runs its query (the first
/// while waiting for rows, the second after some came back): the query stops there within
/// seconds (without the cancel it would run on, holding a pooled connection), and the database
/// answers the next queries.
fn cancelled_cells_stop_their_query_on_the_server(
    engine: &Engine,
    nb: NotebookId,
    server: &Postgres,
) {
    server.psql(
        "shop",
        "CREATE VIEW slow AS SELECT g AS x FROM pg_sleep(120), generate_series(1, 3) AS g",
    );
    server.psql(
        "shop",
        "CREATE VIEW trickle AS SELECT g AS x FROM generate_series(1, 300000) AS g, LATERAL (SELECT pg_sleep(0.0002) WHERE g > 0) AS s",
    );
    let logged_before = server.log().len();
    cancel_on_the_server(engine, nb, server, "slow", 0);
    cancel_on_the_server(engine, nb, server, "trickle", 1);
    let since = server.log()[logged_before..].to_string();
    assert_eq!(
        since
            .matches("canceling statement due to user request")
            .count(),
        2,
        "two statements cancelled: {since}"
    );
    // Scans a LIMIT stops reading early (Postgres still sending their rows) are cancelled too,
    // and only they: the queries right after them on the same pool all answer.
    for _ in 0..20 {
        assert_eq!(
            answer(
                engine,
                nb,
                "SELECT count(*) FROM (SELECT id FROM shop.public.orders ORDER BY id LIMIT 4500)"
            ),
            "4500"
        );
        assert_eq!(
            answer(engine, nb, "SELECT count(*) FROM shop.public.customers"),
            "500"
        );
    }
    let after = server.log()[logged_before..].to_string();
    let lines: Vec<&str> = after.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("canceling statement") {
            let statement = lines.get(i + 1).copied().unwrap_or_default();
            assert!(
                statement.contains("STATEMENT:  /* quire ")
                    && ["slow", "trickle", "orders"]
                        .iter()
                        .any(|view| statement.contains(&format!(r#"FROM "public"."{view}""#))),
                "only a dropped scan is cancelled, not: {statement}"
            );
        }
    }
}
