import { useState } from "react";
import { useBackend } from "../context";
import { QuireError } from "../backend";
import { describeError, type ErrorText } from "../errors";
import type { NotebookId, TableInfo, Transform, TransformPreview } from "../bindings";
import { typeLabel } from "../format";
import { CAST_LABELS, CAST_TYPES, TRANSFORM_KINDS, buildTransform, dateLayouts, layoutsInWords, needsColumn, type TransformForm } from "../transforms";
import { DiffRows } from "./DiffView";
import { useEscape } from "./useEscape";

interface Props {
  notebook: NotebookId;
  table: TableInfo;
  onApplied(info: TableInfo, label: string): void;
  onClose(): void;
}

type Running = { what: "preview" | "apply"; job: string; rows: number };

/** The transforms a table read from a bucket takes: those that change values (keeping the
 *  column's type) or remove rows, kept beside its objects; the others would copy all of it onto
 *  this machine. */
const REMOTE_KINDS: TransformForm["kind"][] = ["trim", "lower", "upper", "replace", "fill_nulls", "split", "expression", "filter", "dedupe"];

/** Whether a linked table is read from a bucket (an address, not a path). */
const remote = (linked: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(linked);

/** Choose a transform, see what it would change, apply it in the background (Esc cancels). */
/** A column's change of type in words; two kinds of text (or of timestamp) by their names. */
export function retypedText(from: string, to: string): string {
  return typeLabel(from) === typeLabel(to) ? `${typeLabel(from)} (${from} → ${to})` : `${typeLabel(from)} → ${typeLabel(to)}`;
}

export function TransformDialog({ notebook, table, onApplied, onClose }: Props) {
  const backend = useBackend();
  // A linked table's files are never written: values changed and rows removed are kept beside
  // them; other changes write a copy into the notebook, except of a table read from a bucket.
  const fromBucket = table.linked !== null && remote(table.linked);
  const kinds = fromBucket ? TRANSFORM_KINDS.filter((k) => REMOTE_KINDS.includes(k.kind)) : TRANSFORM_KINDS;
  const [form, setForm] = useState<TransformForm>({
    kind: kinds[0]?.kind ?? "trim",
    column: table.columns[0]?.name ?? "",
    columnType: table.columns[0]?.data_type ?? "",
    a: "",
    b: "",
    columns: [],
  });
  const [preview, setPreview] = useState<{ transform: Transform; result: TransformPreview } | null>(null);
  const [running, setRunning] = useState<Running | null>(null);
  const [failed, setFailed] = useState<ErrorText | null>(null);
  const built = buildTransform(form);
  const problem = typeof built === "string" ? built : null;

  const update = (change: Partial<TransformForm>) => {
    setPreview(null);
    setFailed(null);
    setForm((f) => {
      const next = { ...f, ...change };
      const col = table.columns.find((c) => c.name === next.column);
      const columnType = col?.data_type ?? "";
      // Another column may offer other layouts (whole numbers have their own).
      const layouts = dateLayouts(columnType, next.a);
      const b = next.kind === "cast" && !layouts.some(([format]) => format === next.b) ? "" : next.b;
      return { ...next, columnType, b };
    });
  };

  const cancel = () => {
    if (running) void backend.cancelJob(running.job);
  };
  useEscape(() => (running ? void backend.cancelJob(running.job) : onClose()));

  const run = async (what: Running["what"]) => {
    if (typeof built === "string") return;
    const job = crypto.randomUUID();
    setFailed(null);
    setRunning({ what, job, rows: 0 });
    const onRows = (rows: number) => setRunning({ what, job, rows });
    try {
      if (what === "preview") {
        setPreview({ transform: built, result: await backend.previewTransform(notebook, table.name, built, job, onRows) });
      } else {
        const info = await backend.applyTransform(notebook, table.name, built, job, onRows);
        onApplied(info, TRANSFORM_KINDS.find((k) => k.kind === form.kind)?.label ?? "Transform");
      }
    } catch (e) {
      // The transform runs as SQL, but the user ran no query: its own words, not "The query",
      // and the layout the user picked, not its chrono format.
      // Said in the dialog, beside the form to change (a toast outside it went unseen).
      const err = QuireError.from(e);
      const said = describeError(new QuireError(err.code, layoutsInWords(err.message), err.position));
      if (err.code === "sql_invalid")
        setFailed({ ...said, headline: what === "preview" ? "The transform cannot be previewed" : "The transform cannot be applied" });
      else if (err.code !== "cancelled") setFailed(said);
    } finally {
      setRunning(null);
    }
  };

  const s = preview?.result.summary;
  return (
    <div className="modal-backdrop" role="presentation">
      <div className="modal wide" role="dialog" aria-label={`Transform ${table.name}`} data-testid="transform-dialog">
        <h2>Transform {table.name}</h2>
        <div className="transform-form">
          <label>
            What
            <select data-testid="transform-kind" value={form.kind} onChange={(e) => update({ kind: e.target.value as TransformForm["kind"], a: e.target.value === "cast" ? "BIGINT" : "", b: "" })}>
              {kinds.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          {needsColumn(form.kind) && (
            <label>
              Column
              <select data-testid="transform-column" value={form.column} onChange={(e) => update({ column: e.target.value })}>
                {table.columns.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name} ({typeLabel(c.data_type)})
                  </option>
                ))}
              </select>
            </label>
          )}
          {form.kind === "cast" && (
            <label>
              To
              <select data-testid="transform-a" value={form.a} onChange={(e) => update({ a: e.target.value, b: "" })}>
                {CAST_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {CAST_LABELS[t] ?? t}
                  </option>
                ))}
              </select>
            </label>
          )}
          {form.kind === "cast" && dateLayouts(form.columnType, form.a).length > 0 && (
            <label>
              Written as
              <select data-testid="transform-b" value={form.b} onChange={(e) => update({ b: e.target.value })}>
                {dateLayouts(form.columnType, form.a).map(([format, example]) => (
                  <option key={format} value={format}>
                    {example}
                  </option>
                ))}
              </select>
            </label>
          )}
          {["replace", "fill_nulls", "split", "expression", "filter", "rename", "add"].includes(form.kind) && (
            <label>
              {{ replace: "Find", fill_nulls: "Value", split: "Separator", expression: "SQL expression", filter: "Condition (SQL)", rename: "New name", add: "Name" }[form.kind as string]}
              <input data-testid="transform-a" value={form.a} onChange={(e) => update({ a: e.target.value })} />
            </label>
          )}
          {["replace", "split", "add"].includes(form.kind) && (
            <label>
              {{ replace: "Replace with", split: "Part (1 = first)", add: "SQL expression" }[form.kind as string]}
              <input data-testid="transform-b" value={form.b} onChange={(e) => update({ b: e.target.value })} />
            </label>
          )}
          {form.kind === "dedupe" && (
            <fieldset>
              <legend>Rows are duplicates when these are equal (none: all columns)</legend>
              {table.columns.map((c) => (
                <label key={c.name}>
                  <input
                    type="checkbox"
                    checked={form.columns.includes(c.name)}
                    onChange={(e) =>
                      update({ columns: e.target.checked ? [...form.columns, c.name] : form.columns.filter((n) => n !== c.name) })
                    }
                  />
                  {c.name}
                </label>
              ))}
            </fieldset>
          )}
        </div>
        {table.linked && (
          <p className="muted" data-testid="transform-linked-note">
            {table.name} is read where it lies and its files are not changed: the values a transform changes (up to a million) and the rows it
            removes are kept beside them, as edits are (Undo takes them back).{" "}
            {fromBucket
              ? "Changing a column's name or type, or more values, would copy all of it onto this machine: a SQL cell can select what you need, or use Copy into the notebook."
              : "Changing a column's name or type, adding or dropping one, or changing more values writes a copy of the table as edited into the notebook, read from then on: Undo stops there."}
          </p>
        )}
        {problem && <p className="muted">{problem}</p>}
        {failed && (
          <div className="error-text" data-testid="transform-error">
            <strong>{failed.headline}</strong> {failed.detail}
          </div>
        )}
        {/* The grid's sort and filter only show rows: a transform reads the whole table. */}
        <p className="muted" data-testid="transform-scope">
          Applies to all {table.rows.toLocaleString()} rows of {table.name}, whatever the grid&apos;s filter shows.
        </p>
        {running && (
          <div className="progress" data-testid="transform-progress">
            <span>{running.what === "preview" ? "Previewing" : "Applying"}…</span>
            <progress max={Math.max(1, table.rows)} value={running.rows} />
            <span>{running.rows.toLocaleString()} rows</span>
            <button data-testid="transform-cancel" onClick={cancel}>
              Cancel (Esc)
            </button>
          </div>
        )}
        {preview && s && (
          <div className="transform-preview" data-testid="transform-preview">
            <p>
              <code>{preview.result.sql}</code>
            </p>
            <p data-testid="transform-counts">
              {s.changed.toLocaleString()} rows change · {s.removed.toLocaleString()} removed · {s.added.toLocaleString()} added
              {s.columns_added.length > 0 && ` · new columns: ${s.columns_added.join(", ")}`}
              {s.columns_removed.length > 0 && ` · removed columns: ${s.columns_removed.join(", ")}`}
              {s.columns_retyped.map(([c, from, to]) => ` · ${c}: ${retypedText(from, to)}`).join("")}
            </p>
            <DiffRows page={preview.result.sample} />
          </div>
        )}
        <div className="modal-actions">
          <button onClick={onClose}>Close</button>
          <button data-testid="transform-preview-button" disabled={!!problem || !!running} onClick={() => void run("preview")}>
            Preview
          </button>
          <button className="primary" data-testid="transform-apply" disabled={!!problem || !!running} onClick={() => void run("apply")}>
            Apply
          </button>
        </div>
      </div>
    </div>
  );
}
