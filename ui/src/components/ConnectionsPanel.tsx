// The open notebook's connections: buckets (S3 and compatible), Azure Blob Storage
// containers, PostgreSQL databases and
// Ballista clusters (a SQL cell's "Runs on" picks one). Add
// one (tested before it is kept), link a bucket's Parquet through one, browse a database's
// tables and query one, remove one. Secrets never pass through here: the engine reads keys
// from the AWS_* variables or the profile a connection names (Azure's from AZURE_STORAGE_* or
// az login), and passwords from libpq's
// places (PGPASSWORD, the password file).
import { useEffect, useState, type FormEvent } from "react";
import type { Connection, ConnectionCheck, DatabaseTable, ImportOutcome, ImportProgress, NotebookId, NotebookView, TableInfo } from "../bindings";
import { useBackend, useNotify } from "../context";
import { describeError } from "../errors";
import { QuireError } from "../backend";
import { useEscape } from "./useEscape";
import { choicesOf, CsvChoicesFields, NO_CHOICES, SkippedRows, type CsvChoicesState } from "./CsvChoicesFields";
import { sqlName } from "../sqlName";

interface Props {
  notebook: NotebookId;
  connections: Connection[];
  /** The notebook as the engine holds it after a connection was saved or removed. */
  onView(view: NotebookView): void;
  /** A table linked through a connection. */
  onLinked(table: TableInfo): void;
  /** Adds a SQL cell with `sql` and runs it (a database table's first rows). */
  onQuery(sql: string): void;
}

/** Where a connection's requests go, in words. */
export function endpointText(c: Connection): string {
  if (c.postgres) return `postgres://${c.postgres.user}@${c.postgres.host}:${c.postgres.port}/${c.postgres.database}`;
  if (c.cluster) return c.cluster.url;
  if (c.azure) return c.azure.endpoint ?? `https://${c.azure.account}.blob.core.windows.net`;
  return c.s3?.endpoint ?? "Amazon S3";
}

/** Whether a connection reaches object storage (S3 or Azure): it links and exports objects. */
export function isObjectStore(c: Connection): boolean {
  return c.kind === "s3" || c.kind === "azure";
}

/** How an address through `c` starts: `s3://` or `az://`. */
export function schemeOf(c: Connection | undefined): string {
  return c?.kind === "azure" ? "az://" : "s3://";
}

/** A connection as the form edits it: empty fields are left out. */
export function connectionOf(form: ConnectionForm): Connection {
  const field = (v: string) => (v.trim() === "" ? null : v.trim());
  if (form.kind === "ballista") {
    return {
      name: form.name.trim(),
      kind: "ballista",
      cluster: {
        url: form.cluster.trim(),
        shared_folders: form.shared
          .split("\n")
          .map((f) => f.trim())
          .filter((f) => f !== ""),
      },
    };
  }
  if (form.kind === "postgres") {
    const port = portOf(form.port);
    return {
      name: form.name.trim(),
      kind: "postgres",
      postgres: {
        host: form.host.trim(),
        port: port ?? 0,
        user: form.user.trim(),
        database: form.database.trim(),
        sslmode: field(form.sslmode),
      },
    };
  }
  if (form.kind === "azure") {
    return {
      name: form.name.trim(),
      kind: "azure",
      azure: { account: form.account.trim(), endpoint: field(form.endpoint) },
    };
  }
  return {
    name: form.name.trim(),
    kind: "s3",
    s3: { endpoint: field(form.endpoint), region: field(form.region), profile: field(form.profile) },
  };
}

/** A typed port, or null when it is not one (empty is PostgreSQL's 5432). */
export function portOf(text: string): number | null {
  const t = text.trim() || "5432";
  const port = /^\d{1,5}$/.test(t) ? Number(t) : 0;
  return port >= 1 && port <= 65535 ? port : null;
}

export interface ConnectionForm {
  kind: "s3" | "azure" | "postgres" | "ballista";
  name: string;
  /** An Azure storage account. */
  account: string;
  endpoint: string;
  region: string;
  profile: string;
  /** Where the test looks: `s3://bucket/prefix/`, `az://container/prefix/`. */
  url: string;
  host: string;
  port: string;
  user: string;
  database: string;
  /** libpq's sslmode; empty is prefer. */
  sslmode: string;
  /** A Ballista scheduler: `df://host:port`. */
  cluster: string;
  /** Folders the executors read at the same paths, one per line. */
  shared: string;
}

export const EMPTY_FORM: ConnectionForm = {
  kind: "s3",
  name: "",
  account: "",
  endpoint: "",
  region: "",
  profile: "",
  url: "",
  host: "127.0.0.1",
  port: "5432",
  user: "",
  database: "",
  sslmode: "",
  cluster: "df://127.0.0.1:50050",
  shared: "",
};

/** What a test found, in a sentence. */
export function checkText(check: ConnectionCheck): string {
  const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
  if (check.server?.startsWith("Ballista")) {
    return `Reached ${check.server} at ${check.endpoint} in ${check.elapsed_ms} ms: ${plural(check.objects, "executor")} with ${plural(check.folders, "task slot")}.${check.objects === 0 ? " Nothing can run there until an executor registers." : ""}`;
  }
  if (check.server) {
    return `Reached ${check.server} at ${check.endpoint} in ${check.elapsed_ms} ms: ${plural(check.objects, "table")} and views to read in ${plural(check.folders, "schema")}.`;
  }
  return `Reached ${check.endpoint} in ${check.elapsed_ms} ms: ${plural(check.folders, "folder")} and ${plural(check.objects, "object")} there.`;
}

/** The query a database table's Query button runs: its first rows. */
export function firstRowsOf(connection: string, table: DatabaseTable): string {
  return `SELECT * FROM ${connection}.${sqlName(table.schema)}.${sqlName(table.name)} LIMIT 100`;
}

export function ConnectionsPanel({ notebook, connections, onView, onLinked, onQuery }: Props) {
  const backend = useBackend();
  const { report, inform } = useNotify();
  const [adding, setAdding] = useState(false);
  const [linking, setLinking] = useState<Connection | null>(null);
  const [browsing, setBrowsing] = useState<string | null>(null);

  const remove = async (c: Connection) => {
    try {
      onView(await backend.removeConnection(notebook, c.name));
    } catch (e) {
      report(e);
    }
  };

  return (
    <section className="sidebar-connections" data-testid="connections">
      <div className="sidebar-connections-head">
        <h2>Connections</h2>
        <button className="small" data-testid="add-connection" title="Reach a bucket (S3 or compatible), an Azure container, a PostgreSQL database or a Ballista cluster" onClick={() => setAdding(true)}>
          + Add
        </button>
      </div>
      {connections.length === 0 && <p className="muted small-text">None yet: add one to link Parquet from a bucket (S3 or Azure) or to query a PostgreSQL database.</p>}
      <ul>
        {connections.map((c) => (
          <li key={c.name} className="connection" data-testid={`connection-${c.name}`}>
            <span className="connection-name">{c.name}</span>
            <span className="muted connection-endpoint" title={endpointText(c)}>
              {endpointText(c)}
            </span>
            {c.kind === "ballista" ? (
              <span className="muted small-text" title="A SQL cell's Runs on menu sends it here">
                cluster
              </span>
            ) : c.kind === "postgres" ? (
              <button
                className="small"
                aria-expanded={browsing === c.name}
                data-testid={`browse-${c.name}`}
                onClick={() => setBrowsing(browsing === c.name ? null : c.name)}
              >
                Tables
              </button>
            ) : (
              <button className="small" data-testid={`link-through-${c.name}`} onClick={() => setLinking(c)}>
                Link…
              </button>
            )}
            <button className="small" aria-label={`Remove ${c.name}`} data-testid={`remove-connection-${c.name}`} onClick={() => void remove(c)}>
              ×
            </button>
            {browsing === c.name && <DatabaseTables notebook={notebook} connection={c.name} onQuery={onQuery} />}
          </li>
        ))}
      </ul>
      {adding && (
        <AddConnection
          notebook={notebook}
          taken={connections.map((c) => c.name)}
          onClose={() => setAdding(false)}
          onSaved={(view, saved) => {
            setAdding(false);
            onView(view);
            if (saved.kind === "ballista") {
              inform(`Connection ${saved.name} added`, `A SQL cell runs there when its Runs on menu says ${saved.name}.`);
            } else if (saved.kind === "postgres") {
              setBrowsing(saved.name);
              inform(`Connection ${saved.name} added`, `Its tables are ${saved.name}.schema.table in SQL; Tables lists them.`);
            } else {
              inform(`Connection ${saved.name} added`, `Its Link… button links Parquet from the ${saved.kind === "azure" ? "container" : "bucket"}.`);
            }
          }}
        />
      )}
      {linking && (
        <LinkThrough
          notebook={notebook}
          connection={linking}
          onClose={() => setLinking(null)}
          onLinked={(table) => {
            setLinking(null);
            onLinked(table);
          }}
        />
      )}
    </section>
  );
}

/** A problem shown inside a dialog, where the user is looking (not a toast behind it). */
function Problem({ error }: { error: unknown }) {
  const text = describeError(QuireError.from(error));
  return (
    <p className="banner error" role="alert" data-testid="connection-error">
      <strong>{text.headline}</strong>
      {text.detail && <span>{text.detail}</span>}
    </p>
  );
}

function AddConnection({
  notebook,
  taken,
  onClose,
  onSaved,
}: {
  notebook: NotebookId;
  taken: string[];
  onClose(): void;
  onSaved(view: NotebookView, connection: Connection): void;
}) {
  const backend = useBackend();
  useEscape(onClose);
  const [form, setForm] = useState<ConnectionForm>(EMPTY_FORM);
  const [busy, setBusy] = useState<"test" | "save" | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [found, setFound] = useState<ConnectionCheck | null>(null);
  const set = (key: keyof ConnectionForm) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => {
    setForm({ ...form, [key]: e.target.value });
    setFound(null);
  };
  const nameTaken = taken.includes(form.name.trim());
  const database = form.kind === "postgres";
  const cluster = form.kind === "ballista";
  const badPort = database && portOf(form.port) === null;
  // What is missing before anything can be sent, said next to the buttons.
  const azure = form.kind === "azure";
  const incomplete =
    form.name.trim() === "" || badPort || ((form.kind === "s3" || azure) && form.url.trim() === "") || (azure && form.account.trim() === "");

  const test = async () => {
    setBusy("test");
    setProblem(null);
    setFound(null);
    try {
      setFound(await backend.testConnection(notebook, connectionOf(form), form.url.trim()));
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(null);
    }
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy("save");
    setProblem(null);
    try {
      const connection = connectionOf(form);
      onSaved(await backend.saveConnection(notebook, connection), connection);
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <form className="modal" role="dialog" aria-label="Add a connection" data-testid="connection-dialog" onSubmit={save} onClick={(e) => e.stopPropagation()}>
        <h2>Add a connection</h2>
        <p className="muted">
          {cluster
            ? "An Apache DataFusion Ballista cluster: a SQL cell set to run there is planned here and sent to its scheduler; the result comes back here. It reads linked Parquet in buckets (with its own credentials) and in the shared folders below; tables held in the notebook stay on this machine."
            : database
            ? "A PostgreSQL database: its tables are name.schema.table in SQL, joined with the notebook's; filters, columns and limits run in Postgres. The password is never stored in the notebook: Quire reads it from PGPASSWORD or your password file (~/.pgpass, or the one PGPASSFILE names)."
            : azure
            ? "Azure Blob Storage, or a server speaking its protocol (Azurite). Keys are never stored in the notebook: Quire reads the account's key or shared access signature from AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, else signs in as az login did; with none of them, a public container is read unsigned."
            : "S3 or an S3-compatible store (MinIO, Ceph, R2). Keys are never stored in the notebook: Quire reads them from the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables or from the profile you name in ~/.aws/credentials."}
        </p>
        <fieldset>
          <label>
            Kind
            <select data-testid="connection-kind" value={form.kind} onChange={set("kind")}>
              <option value="s3">Bucket (S3 or compatible)</option>
              <option value="azure">Azure Blob Storage</option>
              <option value="postgres">PostgreSQL database</option>
              <option value="ballista">Ballista cluster</option>
            </select>
          </label>
          <label>
            Name
            <input data-testid="connection-name" autoFocus required value={form.name} onChange={set("name")} placeholder={cluster ? "lab" : database ? "shop" : "lake"} />
          </label>
          {nameTaken && <span className="muted">Saving replaces the connection of that name.</span>}
          {cluster ? (
            <>
              <label>
                Scheduler
                <input data-testid="connection-cluster" value={form.cluster} onChange={set("cluster")} placeholder="df://scheduler-host:50050" />
              </label>
              <label>
                Shared folders
                <textarea
                  data-testid="connection-shared"
                  rows={2}
                  value={form.shared}
                  onChange={set("shared")}
                  placeholder="one per line: folders every executor reads at the same path (/mnt/data)"
                />
              </label>
            </>
          ) : database ? (
            <>
              <label>
                Host
                <input data-testid="connection-host" value={form.host} onChange={set("host")} placeholder="127.0.0.1, db.example.com or a socket folder" />
              </label>
              <label>
                Port
                <input data-testid="connection-port" inputMode="numeric" value={form.port} onChange={set("port")} placeholder="5432" />
              </label>
              {badPort && (
                <span className="muted" role="status" data-testid="connection-port-problem">
                  A port is a number from 1 to 65535.
                </span>
              )}
              <label>
                User
                <input data-testid="connection-user" value={form.user} onChange={set("user")} placeholder="analyst" />
              </label>
              <label>
                Database
                <input data-testid="connection-database" value={form.database} onChange={set("database")} placeholder="shop" />
              </label>
              <label>
                TLS
                <select data-testid="connection-sslmode" value={form.sslmode} onChange={set("sslmode")}>
                  <option value="">prefer (use it when the server offers it)</option>
                  <option value="disable">disable</option>
                  <option value="require">require</option>
                  <option value="verify-ca">verify-ca</option>
                  <option value="verify-full">verify-full</option>
                </select>
              </label>
            </>
          ) : azure ? (
            <>
              <label>
                Storage account
                <input data-testid="connection-account" value={form.account} onChange={set("account")} placeholder="mydata (devstoreaccount1 for Azurite)" />
              </label>
              <label>
                Endpoint
                <input
                  data-testid="connection-endpoint"
                  value={form.endpoint}
                  onChange={set("endpoint")}
                  placeholder="empty for Azure, or http://127.0.0.1:10000/devstoreaccount1"
                />
              </label>
              <label>
                Test with
                <input data-testid="connection-url" value={form.url} onChange={set("url")} placeholder="az://container/folder/" />
              </label>
            </>
          ) : (
            <>
              <label>
                Endpoint
                <input data-testid="connection-endpoint" value={form.endpoint} onChange={set("endpoint")} placeholder="empty for Amazon S3, or http://127.0.0.1:9000" />
              </label>
              <label>
                Region
                <input data-testid="connection-region" value={form.region} onChange={set("region")} placeholder="empty: the profile's, or us-east-1" />
              </label>
              <label>
                Profile
                <input data-testid="connection-profile" value={form.profile} onChange={set("profile")} placeholder="empty: the AWS_* variables, then default" />
              </label>
              <label>
                Test with
                <input data-testid="connection-url" value={form.url} onChange={set("url")} placeholder="s3://bucket/folder/" />
              </label>
            </>
          )}
        </fieldset>
        {problem !== null && <Problem error={problem} />}
        {found && (
          <p className="banner" role="status" data-testid="connection-found">
            {checkText(found)}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" data-testid="connection-test" disabled={busy !== null || incomplete} onClick={() => void test()}>
            {busy === "test" ? "Testing…" : "Test"}
          </button>
          <button type="submit" className="primary" data-testid="connection-save" disabled={busy !== null || form.name.trim() === "" || badPort}>
            {busy === "save" ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </div>
  );
}

/** A database's tables and views, listed when its Tables button is open; Query adds a SQL
 *  cell with a table's first rows and runs it. */
function DatabaseTables({ notebook, connection, onQuery }: { notebook: NotebookId; connection: string; onQuery(sql: string): void }) {
  const backend = useBackend();
  const [tables, setTables] = useState<DatabaseTable[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    backend.browseConnection(notebook, connection).then(
      (found) => live && setTables(found),
      (e: unknown) => live && setProblem(e),
    );
    return () => {
      live = false;
    };
  }, [backend, notebook, connection]);
  if (problem !== null) return <Problem error={problem} />;
  if (tables === null) return <p className="muted small-text">Listing its tables…</p>;
  if (tables.length === 0) return <p className="muted small-text">No table or view this user may read.</p>;
  return (
    <ul className="database-tables" data-testid={`database-tables-${connection}`}>
      {tables.map((t) => (
        <li key={`${t.schema}.${t.name}`} title={`${t.kind}${t.estimated_rows === null ? "" : `, about ${Math.round(t.estimated_rows).toLocaleString()} rows`}`}>
          <span className="database-table-name">
            {t.schema === "public" ? "" : `${t.schema}.`}
            {t.name}
          </span>
          <span className="muted small-text">{t.estimated_rows === null ? t.kind : `~${Math.round(t.estimated_rows).toLocaleString()}`}</span>
          <button className="small" data-testid={`query-${connection}-${t.schema}-${t.name}`} onClick={() => onQuery(firstRowsOf(connection, t))}>
            Query
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The table name a linked address gets by default: its last part, without the ending. */
export function nameOfUrl(url: string): string {
  const last = url.replace(/\/+$/, "").split("/").pop() ?? "";
  const stem = last.replace(/\.(parquet|pq|csv|tsv|txt|json|ndjson|jsonl)(\.(gz|gzip|zst|zstd))?$/i, "");
  const name = stem.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[a-z_]/.test(name) ? name : `t_${name}`;
}

function LinkThrough({
  notebook,
  connection,
  onClose,
  onLinked,
}: {
  notebook: NotebookId;
  connection: Connection;
  onClose(): void;
  onLinked(table: TableInfo): void;
}) {
  const backend = useBackend();
  const scheme = schemeOf(connection);
  const [url, setUrl] = useState(scheme);
  const [name, setName] = useState("");
  const [job, setJob] = useState<string | null>(null);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [choices, setChoices] = useState<CsvChoicesState>(NO_CHOICES);
  const [finished, setFinished] = useState<ImportOutcome | null>(null);
  // A folder's objects are known once the engine lists them: its progress says it converts.
  const converting = isTextObject(url.trim()) || progress !== null;
  // Esc and Cancel stop a running link first (a Parquet link only reads footers: it ends at
  // once; a fetch stops and leaves nothing).
  const fetching = job !== null;
  const stopOrClose = () => (fetching ? void backend.cancelJob(job) : finished ? onLinked(finished.table) : onClose());
  useEscape(stopOrClose);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (finished) return;
    const id = crypto.randomUUID();
    setJob(id);
    setProblem(null);
    setProgress(null);
    try {
      const outcome = await backend.linkRemote(notebook, connection.name, url.trim(), name.trim() || nameOfUrl(url), choicesOf(choices), id, setProgress);
      // Rows left out stay on screen, each with its object, until the user has seen them.
      if (outcome.skipped_total > 0) setFinished(outcome);
      else onLinked(outcome.table);
    } catch (e) {
      const err = QuireError.from(e);
      setProblem(err.code === "cancelled" ? new QuireError("cancelled", "Linking was cancelled; nothing was created.") : err);
      setProgress(null);
    } finally {
      setJob(null);
    }
  };
  const percent = progress && progress.total_bytes > 0 ? Math.min(100, (progress.bytes / progress.total_bytes) * 100) : 0;
  return (
    <div className="modal-backdrop" role="presentation" onClick={() => !fetching && stopOrClose()}>
      <form className="modal" role="dialog" aria-label={`Link through ${connection.name}`} data-testid="link-remote-dialog" onSubmit={submit} onClick={(e) => e.stopPropagation()}>
        <h2>Link data through {connection.name}</h2>
        <p className="muted">
          A Parquet object, or a folder of them with the same columns: Quire reads the footers now, and queries fetch only the
          columns and row groups they need. A CSV or JSON object (also .gz or .zst), or a folder of them with the same columns,
          is fetched once and converted into Parquet inside the notebook.
        </p>
        <fieldset disabled={!!job || !!finished}>
          <label>
            Address
            <input data-testid="link-remote-url" autoFocus required value={url} onChange={(e) => setUrl(e.target.value)} placeholder={`${scheme}${connection.kind === "azure" ? "container" : "bucket"}/folder/`} />
          </label>
          <label>
            Table name
            <input data-testid="link-remote-name" value={name} onChange={(e) => setName(e.target.value)} placeholder={url.length > scheme.length ? nameOfUrl(url) : "from the address"} />
          </label>
        </fieldset>
        {!/\.(parquet|pq)$/i.test(url.trim()) && (
          <CsvChoicesFields prefix="link-remote" value={choices} disabled={!!job || !!finished} onChange={setChoices} />
        )}
        {finished && <SkippedRows testId="link-remote-skipped" outcome={finished} done={`Linked ${finished.table.rows.toLocaleString()} rows as ${finished.table.name}`} />}
        {job && converting && (
          <div className="progress" data-testid="link-remote-progress">
            <progress max={100} value={percent} />
            <span className="muted small-text">
              {percent < 50 ? "Fetching" : "Converting"} · {(progress?.rows ?? 0).toLocaleString()} rows · {percent.toFixed(0)} %
            </span>
          </div>
        )}
        {problem !== null && <Problem error={problem} />}
        <div className="modal-actions">
          {finished ? (
            <button type="button" className="primary" data-testid="link-remote-done" onClick={() => onLinked(finished.table)}>
              Done
            </button>
          ) : (
            <>
              <button type="button" data-testid="link-remote-cancel" onClick={stopOrClose}>
                Cancel
              </button>
              <button type="submit" className="primary" data-testid="link-remote-start" disabled={!!job || !url.trim().startsWith(scheme)}>
                {job ? (converting ? "Converting…" : "Linking…") : converting ? "Fetch and convert" : "Link"}
              </button>
            </>
          )}
        </div>
      </form>
    </div>
  );
}

/** Whether linking this address fetches and converts (a CSV or JSON object, or a glob that
 *  picks them), as the engine decides; a folder (`…/`) is listed by the engine to know. */
export function isTextObject(url: string): boolean {
  if (url.endsWith("/")) return false;
  return /\.(csv|tsv|txt|json|ndjson|jsonl)(\.(gz|gzip|zst|zstd))?$/i.test(url);
}

/** Where a table goes in a bucket: a connection and an address ending in .parquet or .csv. */
export function ExportToBucket({
  table,
  connections,
  onClose,
  onExport,
  progress,
  onStop,
}: {
  table: string;
  connections: Connection[];
  /** Rows written so far while the export runs. */
  progress: { rows: number; total: number } | null;
  /** Cancels the running export (nothing is left under its name). */
  onStop(): void;
  onClose(): void;
  /** Starts the export (its progress shows in the tables panel); rejects in words. */
  onExport(connection: string, url: string): Promise<void>;
}) {
  const stores = connections.filter(isObjectStore);
  const [connection, setConnection] = useState(stores[0]?.name ?? "");
  const scheme = schemeOf(stores.find((c) => c.name === connection));
  const [url, setUrl] = useState(scheme);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // While the export runs the dialog stays (its outcome shows here); Stop cancels it.
  const close = () => !busy && onClose();
  useEscape(close);
  const valid = url.trim().startsWith(scheme) && /^(s3|az):\/\/[^/]+\/.+\.(parquet|pq|csv)$/i.test(url.trim());
  const pick = (name: string) => {
    setConnection(name);
    // The address follows the connection's service while it is only a scheme.
    const next = schemeOf(stores.find((c) => c.name === name));
    if (url.trim() === "" || url.trim() === scheme) setUrl(next);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await onExport(connection, url.trim());
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="modal-backdrop" role="presentation" onClick={close}>
      <form className="modal" role="dialog" aria-label={`Export ${table} to a bucket`} data-testid="export-bucket-dialog" onSubmit={submit} onClick={(e) => e.stopPropagation()}>
        <h2>Export {table} to a bucket</h2>
        <p className="muted">
          One object, Parquet or CSV by its ending, written as a single upload: it appears whole when the upload completes,
          and a failed or cancelled export leaves nothing under its name.
        </p>
        <fieldset>
          <label>
            Connection
            <select data-testid="export-bucket-connection" value={connection} onChange={(e) => pick(e.target.value)}>
              {stores.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name} ({endpointText(c)})
                </option>
              ))}
            </select>
          </label>
          <label>
            Address
            <input data-testid="export-bucket-url" autoFocus value={url} onChange={(e) => setUrl(e.target.value)} placeholder={`${scheme}${scheme === "az://" ? "container" : "bucket"}/${table}.parquet`} />
          </label>
        </fieldset>
        {problem !== null && <Problem error={problem} />}
        {busy && progress && (
          <div className="progress" data-testid="export-bucket-progress">
            <progress max={Math.max(1, progress.total)} value={progress.rows} />
            <span>{progress.rows.toLocaleString()} rows</span>
          </div>
        )}
        <div className="modal-actions">
          <button type="button" data-testid="export-bucket-cancel" onClick={busy ? onStop : onClose}>
            {busy ? "Stop" : "Cancel"}
          </button>
          <button type="submit" className="primary" data-testid="export-bucket-start" disabled={busy || !valid || connection === ""}>
            {busy ? "Exporting…" : "Export"}
          </button>
        </div>
      </form>
    </div>
  );
}
