import { describe, expect, it } from "vitest";
import { commandsOver, QuireError, serialQueue } from "./backend";
import { commands, type IpcError } from "./bindings";

type Reply = { status: "ok"; data: unknown } | { status: "error"; error: IpcError };

/** Bindings whose every command answers with `reply`, recording the calls. */
function bindings(reply: (name: string, args: unknown[]) => Promise<Reply>) {
  const calls: [string, unknown[]][] = [];
  const fake = Object.fromEntries(
    Object.keys(commands).map((name) => [
      name,
      (...args: unknown[]) => {
        calls.push([name, args]);
        return reply(name, args);
      },
    ]),
  ) as Record<keyof typeof commands, unknown>;
  return { fake, calls };
}

describe("the derived backend", () => {
  it("has a method for every generated command", () => {
    const backend = commandsOver(bindings(async () => ({ status: "ok", data: null })).fake);
    expect(Object.keys(backend).sort()).toEqual(Object.keys(commands).sort());
  });

  it("resolves to the data and passes the arguments through", async () => {
    const { fake, calls } = bindings(async () => ({ status: "ok", data: [{ name: "trips" }] }));
    const backend = commandsOver(fake);
    await expect(backend.listTables("nb")).resolves.toEqual([{ name: "trips" }]);
    expect(calls).toEqual([["listTables", ["nb"]]]);
  });

  it("turns an engine error into a QuireError with its code and position", async () => {
    const error: IpcError = { code: "sql_invalid", message: "no column named nope", position: { line: 2, column: 8 } };
    const backend = commandsOver(bindings(async () => ({ status: "error", error })).fake);
    const err = await backend.exportQuery("nb", "select nope", "/tmp/x.csv", null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuireError);
    expect(err).toMatchObject({ code: "sql_invalid", message: "no column named nope", position: { line: 2, column: 8 } });
  });

  it("gives an error without a position a null position", async () => {
    const error = { code: "table_not_found", message: "there is no table trips" } as IpcError;
    const backend = commandsOver(bindings(async () => ({ status: "error", error })).fake);
    await expect(backend.deleteTable("nb", "trips")).rejects.toMatchObject({ code: "table_not_found", position: null });
  });

  it("turns a rejected invoke (no permission, a panic) into an unknown QuireError", async () => {
    const backend = commandsOver(bindings(() => Promise.reject(new Error("command not allowed"))).fake);
    const err = await backend.appInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuireError);
    expect(err).toMatchObject({ code: "unknown", message: "command not allowed", position: null });
    const text = await commandsOver(bindings(() => Promise.reject("plain text")).fake).metrics().catch((e: unknown) => e);
    expect(text).toMatchObject({ code: "unknown", message: "plain text" });
  });

  it("flushes (and runs, by the same rule) wait for the edits typed before them, not for those after", async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { fake } = bindings(async (name, args) => {
      if (name === "updateCell" && args[2] === "slow") await held;
      order.push(name === "updateCell" ? `updateCell:${String(args[2])}` : `${name}:${String(args[0])}`);
      return { status: "ok", data: null };
    });
    const backend = commandsOver(fake, serialQueue());
    const typed = backend.updateCell("a", "c1", "slow");
    const flushA = backend.flushNotebook("a");
    const flush = backend.flushAll();
    // Another notebook's flush does not wait.
    await backend.flushNotebook("b");
    expect(order).toEqual(["flushNotebook:b"]);
    release();
    await Promise.all([typed, flushA, flush]);
    expect(order.slice(0, 2)).toEqual(["flushNotebook:b", "updateCell:slow"]);
    expect(order.slice(2).sort()).toEqual(["flushAll:undefined", "flushNotebook:a"]);
    // A keystroke after a slow flush is not queued behind it.
    let releaseFlush!: () => void;
    const flushing = new Promise<void>((r) => (releaseFlush = r));
    const { fake: slowFlush } = bindings(async (name, args) => {
      if (name === "flushAll") await flushing;
      order.push(name === "updateCell" ? `updateCell:${String(args[2])}` : name);
      return { status: "ok", data: null };
    });
    const b2 = commandsOver(slowFlush, serialQueue());
    const long = b2.flushAll();
    await b2.updateCell("a", "c1", "after");
    expect(order.at(-1)).toBe("updateCell:after");
    releaseFlush();
    await long;
  });

  it("queues a notebook's edits in order, but not cell runs or other notebooks", async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { fake } = bindings(async (name, args) => {
      if (name === "updateCell" && args[2] === "slow") await held;
      order.push(`${name}:${String(args[0])}`);
      return { status: "ok", data: null };
    });
    const backend = commandsOver(fake, serialQueue());
    const slow = backend.updateCell("a", "c1", "slow");
    const next = backend.addCell("a", "sql", null, "");
    await backend.addCell("b", "sql", null, "");
    await backend.cancelJob("job");
    expect(order).toEqual(["addCell:b", "cancelJob:job"]);
    release();
    await Promise.all([slow, next]);
    expect(order).toEqual(["addCell:b", "cancelJob:job", "updateCell:a", "addCell:a"]);
  });
});
