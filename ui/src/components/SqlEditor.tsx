import { useEffect, useRef } from "react";
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import { Decoration, EditorView, keymap, placeholder, type DecorationSet } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { autocompletion, closeCompletion, completionKeymap } from "@codemirror/autocomplete";
import { bracketMatching, syntaxHighlighting } from "@codemirror/language";
import { StateField, StateEffect } from "@codemirror/state";
import type { Position } from "../bindings";
import { completionKeys, completionPicks } from "../completionKeys";
import { sqlHighlight } from "../sqlHighlight";
import { sqlName } from "../sqlName";
import { TABLE_DRAG } from "./SidebarTables";

interface Props {
  value: string;
  onChange(text: string): void;
  onRun(): void;
  /** Table name -> column names, for completion. */
  schema: Record<string, string[]>;
  /** Where the last run's error is, to mark that line. */
  errorAt: Position | null;
}

const setError = StateEffect.define<Position | null>();
/** Marks a change that came from the engine (a reload), which must not be sent back as an edit. */
const fromEngine = Annotation.define<boolean>();
const errorLine = Decoration.line({ class: "cm-error-line" });
const errorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const e of tr.effects) {
      if (e.is(setError)) {
        const at = e.value;
        if (!at || at.line < 1 || at.line > tr.state.doc.lines) return Decoration.none;
        return Decoration.set([errorLine.range(tr.state.doc.line(at.line).from)]);
      }
    }
    return tr.docChanged ? Decoration.none : marks;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** A CodeMirror 6 SQL editor: highlighting, table and column completion, Ctrl/Cmd+Enter runs. */
export function SqlEditor({ value, onChange, onRun, schema, errorAt }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          // No closing brackets or quotes typed ahead: SQL is typed line by line, and a `)` put
          // ahead of a line break was typed again at the end ("end of statement was expected,
          // not )"), a `'` ahead made a half-typed string run as if closed (analyst sessions).
          bracketMatching(),
          // Its keymap comes from the list below, after completionKeys (Enter, Tab).
          autocompletion({ defaultKeymap: false }),
          completionPicks,
          // Colours per theme from styles.css: the default style is for light pages only.
          syntaxHighlighting(sqlHighlight),
          placeholder("SELECT …"),
          // A long line wraps instead of scrolling sideways; the editor grows with its lines.
          EditorView.lineWrapping,
          language.current.of(sql({ dialect: StandardSQL, schema, upperCaseKeywords: true })),
          errorField,
          keymap.of([
            {
              key: "Mod-Enter",
              // The completion list closes: the query ran, the list would cover its result.
              run: (editor) => (closeCompletion(editor), callbacks.current.onRun(), true),
            },
            ...completionKeys,
            ...completionKeymap,
            ...historyKeymap,
            ...defaultKeymap,
          ]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && !u.transactions.some((tr) => tr.annotation(fromEngine))) {
              callbacks.current.onChange(u.state.doc.toString());
            }
          }),
          // A table dragged from the sidebar into an empty cell becomes a query of it; anywhere
          // else CodeMirror drops its name (the drag's text) where the pointer is.
          EditorView.domEventHandlers({
            drop(e, editor) {
              const table = e.dataTransfer?.getData(TABLE_DRAG);
              if (!table || editor.state.doc.length > 0) return false;
              e.preventDefault();
              const insert = `SELECT * FROM ${sqlName(table)}`;
              editor.dispatch({ changes: { from: 0, insert }, selection: { anchor: insert.length } });
              editor.focus();
              return true;
            },
          }),
          EditorView.contentAttributes.of({ "data-testid": "cell-source", "aria-label": "SQL" }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // The editor is created once; later values arrive through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(sql({ dialect: StandardSQL, schema, upperCaseKeywords: true })) });
  }, [schema]);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({
        changes: { from: 0, to: editor.state.doc.length, insert: value },
        annotations: fromEngine.of(true),
      });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: setError.of(errorAt) });
  }, [errorAt]);

  return <div className="sql-editor" ref={host} />;
}
