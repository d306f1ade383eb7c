// End-to-end harness: starts the real Quire binary in its real webview through tauri-driver and
// WebKitWebDriver, on a fresh data dir, and gives tests a WebDriver session plus the app's files.
// Run under Xvfb (`xvfb-run -a dbus-run-session`), as `make test` does.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer, connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Builder, By, type WebDriver, type WebElement } from "selenium-webdriver";

const repoRoot = resolve(import.meta.dirname, "../../..");
const artifacts = resolve(import.meta.dirname, "../artifacts");

/** The built app: QUIRE_APP, or `quire` in the cargo target dir's debug folder. */
/** The first file called `name` under `dir` (a notebook's files, wherever its folder is). */
export function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return null;
}

/** Where cargo builds: CARGO_TARGET_DIR, else the Makefile's default (never the work tree). */
export function targetDir(): string {
  return process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "quire-target");
}

export function appBinary(): string {
  const target = targetDir();
  const binary = process.env.QUIRE_APP ?? join(target, "debug", "quire");
  if (!existsSync(binary)) throw new Error(`no app binary at ${binary}: build it first (make build)`);
  return binary;
}

function tauriDriverBinary(): string {
  return process.env.TAURI_DRIVER ?? join(homedir(), ".cargo", "bin", "tauri-driver");
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), res(true)));
      s.once("error", () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`tauri-driver did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface QuireApp {
  driver: WebDriver;
  /** QUIRE_DATA_DIR of this run: data/, config/ and logs/ live under it. */
  dataDir: string;
  workspace: string;
  /** Reads a file under the data dir, or null when it does not exist. */
  readFile(relative: string): string | null;
  byTestId(id: string): Promise<WebElement>;
  /** Waits until the text of the elements with this test id (joined by newlines) satisfies
   *  `ok`, and returns that text. */
  waitText(id: string, ok: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  screenshot(name: string): Promise<string>;
  /** The app's pid, from the workspace lock file it holds. */
  pid(): number;
  click(id: string): Promise<void>;
  /** How many elements match the CSS selector, counted in the page (no element handles). */
  count(css: string): Promise<number>;
  /** A DOM property of the first element with this test id (`disabled`, `value`, `title`),
   *  read in the page: no element handle, so a re-render in between cannot make it stale. */
  prop(id: string, name: string): Promise<unknown>;
  /** Types into the element with this test id, finding it again if React replaced it. */
  type(id: string, text: string): Promise<void>;
  /** Records every text the element shows from now on (a MutationObserver in the page). */
  recordTexts(id: string): Promise<void>;
  recordedTexts(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Reuse a data dir (to reopen the app on what an earlier run left). */
  dataDir?: string;
  /** Extra environment for the app, e.g. QUIRE_NOTEBOOKS__AUTO_FLUSH=false. */
  env?: Record<string, string>;
  /** Start the app through a wrapper that writes its exit status to `<dataDir>/exit-status`
   *  (the app is tauri-driver's grandchild, so its status is otherwise out of reach). */
  recordExit?: boolean;
}

/** React may replace an element between finding and using it (an event arrived): find it
 *  again, a few times, rather than fail on a node the user never saw go. */
export async function fresh(act: () => Promise<void>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await act();
    } catch (e) {
      if (attempt >= 5 || !(e instanceof Error) || e.name !== "StaleElementReferenceError") throw e;
    }
  }
}

/** Replaces what an input holds with `text`, typed, and waits until the input shows exactly it. Not WebDriver's clear(): it sets the DOM value behind React's back, so a
 *  re-render in between (any engine event) puts the old value back and the typing lands after
 *  it ("s3://s3://bucket/"). */
export async function replaceText(driver: WebDriver, input: WebElement, text: string) {
  // Emptied the way React hears it (the native setter of its own kind, input or textarea, then an
  // input event), then typed.
  await driver.executeScript(
    "const el = arguments[0]; Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set.call(el, ''); el.dispatchEvent(new Event('input', { bubbles: true }));",
    input,
  );
  await input.sendKeys(text);
  await driver.wait(async () => (await input.getAttribute("value")) === text, 5_000, `the input never showed ${JSON.stringify(text)}`);
}

export async function startApp(options: StartOptions = {}): Promise<QuireApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "quire-e2e-"));
  let application = appBinary();
  if (options.recordExit) {
    const wrapper = join(dataDir, "run-and-record-exit.sh");
    writeFileSync(
      wrapper,
      `#!/bin/sh\n"${application}" "$@"\necho $? > "${join(dataDir, "exit-status")}"\n`,
      { mode: 0o755 },
    );
    application = wrapper;
  }
  const [port, nativePort] = [await freePort(), await freePort()];
  const driverProc: ChildProcess = spawn(
    tauriDriverBinary(),
    ["--port", String(port), "--native-port", String(nativePort)],
    {
      env: { ...process.env, ...options.env, QUIRE_DATA_DIR: dataDir, NO_AT_BRIDGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const driverLog: string[] = [];
  driverProc.stdout?.on("data", (d) => driverLog.push(String(d)));
  driverProc.stderr?.on("data", (d) => driverLog.push(String(d)));
  const killDriver = () => {
    // The driver and the WebKitWebDriver it started share a process group: end both.
    if (driverProc.pid && driverProc.exitCode === null) {
      try {
        process.kill(-driverProc.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    }
  };

  let driver: WebDriver;
  try {
    await waitForPort(port, 15_000);
    // tauri-driver listens before the WebKitWebDriver it spawned does, and forwards the new
    // session to it at once: on a cold machine that was "connection refused" (CI, stop 44).
    await waitForPort(nativePort, 15_000);
    driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities({ browserName: "wry", "tauri:options": { application } })
      .build();
  } catch (e) {
    killDriver();
    throw new Error(`could not start the app: ${String(e)}\n${driverLog.join("")}`);
  }

  // Not until.elementLocated: WebKitWebDriver reports a node React removes between the query
  // and the handle as stale, which that condition does not retry.
  const byTestId = (id: string): Promise<WebElement> =>
    driver.wait(
      async () => {
        try {
          return (await driver.findElements(By.css(`[data-testid="${id}"]`)))[0] ?? null;
        } catch (e) {
          if (e instanceof Error && e.name === "StaleElementReferenceError") return null;
          throw e;
        }
      },
      10_000,
      `no [data-testid=${id}]`,
    ) as Promise<WebElement>;

  const pidOf = () => {
    const text = readFileSync(join(dataDir, "data", "workspace", ".quire.lock"), "utf8").trim();
    const pid = Number.parseInt(text, 10);
    if (!Number.isInteger(pid)) throw new Error(`no pid in the lock file: ${JSON.stringify(text)}`);
    return pid;
  };

  return {
    driver,
    dataDir,
    workspace: join(dataDir, "data", "workspace"),
    readFile(relative) {
      const p = join(dataDir, relative);
      return existsSync(p) ? readFileSync(p, "utf8") : null;
    },
    byTestId,
    async waitText(id, ok, timeoutMs = 10_000) {
      let last = "";
      await driver.wait(
        async () => {
          // textContent, not WebDriver's getText: WebKitWebDriver reports "" for text in an
          // overflow-clipped flex item, which is still plainly on screen.
          // Every element with the id, joined: toasts stack, and the newest is not the first.
          const text = await driver.executeScript<string | null>(
            "const all = [...document.querySelectorAll(arguments[0])]; return all.length ? all.map((e) => e.textContent).join('\\n') : null;",
            `[data-testid="${id}"]`,
          );
          if (text === null) return false;
          last = text;
          return ok(last);
        },
        timeoutMs,
      ).catch(() => {
        throw new Error(`[data-testid=${id}] never matched; last text: ${JSON.stringify(last)}`);
      });
      return last;
    },
    pid: pidOf,
    async click(id) {
      await fresh(() => byTestId(id).then((el) => el.click()));
    },
    async count(css) {
      return driver.executeScript<number>("return document.querySelectorAll(arguments[0]).length;", css);
    },
    async prop(id, name) {
      await byTestId(id);
      return driver.executeScript(
        "const el = document.querySelector(arguments[0]); return el ? el[arguments[1]] : null;",
        `[data-testid="${id}"]`,
        name,
      );
    },
    async type(id, text) {
      await fresh(() => byTestId(id).then((el) => el.sendKeys(text)));
    },
    async recordTexts(id) {
      await driver.executeScript(
        `const el = document.querySelector(arguments[0]);
         window.__quireTexts = [el.textContent];
         new MutationObserver(() => {
           const t = el.textContent;
           if (window.__quireTexts[window.__quireTexts.length - 1] !== t) window.__quireTexts.push(t);
         }).observe(el, { childList: true, characterData: true, subtree: true });`,
        `[data-testid="${id}"]`,
      );
    },
    async recordedTexts() {
      return driver.executeScript<string[]>("return window.__quireTexts || [];");
    },
    async screenshot(name) {
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, `${name}.png`);
      writeFileSync(file, await driver.takeScreenshot(), "base64");
      return file;
    },
    async stop() {
      let pid: number | null = null;
      try {
        pid = pidOf();
      } catch {
        /* no lock file: the app never got that far, or a test removed it */
      }
      try {
        await driver.quit();
      } catch {
        /* the app may already be gone (a test killed it) */
      } finally {
        killDriver();
      }
      // Quire is single-instance: the next test's app would hand over to this one and exit
      // if it were still shutting down.
      const deadline = Date.now() + 15_000;
      while (pid !== null && Date.now() < deadline) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs `body` against a fresh app; on failure saves a screenshot named after the test. */
export async function withApp(
  name: string,
  body: (app: QuireApp) => Promise<void>,
  options: StartOptions = {},
): Promise<void> {
  const app = await startApp(options);
  try {
    await body(app);
  } catch (e) {
    const shot = await app.screenshot(`FAILED-${name}`).catch(() => "(no screenshot)");
    const where = e instanceof Error ? `\n${e.stack ?? ""}` : "";
    throw new Error(`${String(e)}\nscreenshot: ${shot}${where}`, { cause: e });
  } finally {
    await app.stop();
  }
}
