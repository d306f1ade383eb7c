// Azurite, Microsoft's Azure Storage server, for the e2e tests: the blob service from the same
// pinned npm install the engine's Azure test uses ($CARGO_TARGET_DIR/azurite, made here when
// missing or out of date), started on a free loopback port and stopped by the test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { targetDir } from "./harness.ts";
import { freePort } from "./moto.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const lockDir = join(repoRoot, "src-tauri", "engine", "tests", "azure");

/** Azurite's own account and its published key (the same in every copy of Azurite). */
export const ACCOUNT = "devstoreaccount1";
export const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

function blobMain(): string {
  const dir = join(targetDir(), "azurite");
  const main = (d: string) => join(d, "node_modules", "azurite", "dist", "src", "blob", "main.js");
  const wanted = readFileSync(join(lockDir, "package-lock.json"), "utf8");
  const stamp = (d: string) => join(d, "quire-package-lock.json");
  if (existsSync(main(dir)) && existsSync(stamp(dir)) && readFileSync(stamp(dir), "utf8") === wanted) return main(dir);
  // Built aside and renamed into place, as the engine's test does.
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(lockDir, file), join(building, file));
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: building, stdio: "inherit" });
  writeFileSync(stamp(building), wanted);
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return main(dir);
}

export interface Azurite {
  /** The account's address, path-style: `http://127.0.0.1:<port>/devstoreaccount1`. */
  endpoint: string;
  /** Makes a private container (one request signed with the account's key). */
  container(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<Azurite> {
  const main = blobMain();
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [main, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"],
    { stdio: "ignore" },
  );
  const killOnExit = () => child.kill();
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await fetch(`${origin}/${ACCOUNT}?comp=list`);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error("Azurite did not start within 60 s");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint: `${origin}/${ACCOUNT}`,
    async container(name: string) {
      const date = new Date().toUTCString();
      const version = "2021-08-06";
      const toSign = `PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:${date}\nx-ms-version:${version}\n/${ACCOUNT}/${ACCOUNT}/${name}\nrestype:container`;
      const signature = createHmac("sha256", Buffer.from(KEY, "base64")).update(toSign, "utf8").digest("base64");
      const response = await fetch(`${origin}/${ACCOUNT}/${name}?restype=container`, {
        method: "PUT",
        headers: { "x-ms-date": date, "x-ms-version": version, Authorization: `SharedKey ${ACCOUNT}:${signature}` },
      });
      if (response.status !== 201) throw new Error(`creating the container ${name}: ${response.status} ${await response.text()}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      await exited;
    },
  };
}
