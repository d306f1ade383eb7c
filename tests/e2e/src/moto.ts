// moto's S3 server for the e2e tests: a real S3 API server on loopback, from the same pinned
// venv the engine's object-storage test uses ($CARGO_TARGET_DIR/s3-venv, made here when
// missing or out of date), started on a free port and stopped by the test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { targetDir } from "./harness.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const requirements = join(repoRoot, "src-tauri", "engine", "tests", "s3", "requirements.txt");

function venvPython(): string {
  const target = targetDir();
  const venv = join(target, "s3-venv");
  const python = join(venv, "bin", "python");
  const wanted = readFileSync(requirements, "utf8");
  const stamp = join(venv, "quire-requirements.txt");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) return python;
  // Built aside and renamed into place, as the engine's test does.
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  execFileSync(process.env.QUIRE_PYTHON ?? "python3", ["-m", "venv", building], { stdio: "inherit" });
  execFileSync(join(building, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "-r", requirements], {
    stdio: "inherit",
  });
  writeFileSync(join(building, "quire-requirements.txt"), wanted);
  rmSync(venv, { recursive: true, force: true });
  renameSync(building, venv);
  return python;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface Moto {
  endpoint: string;
  /** Creates a bucket. */
  bucket(name: string): Promise<void>;
  /** Puts an object (unsigned: moto takes any request). */
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const python = venvPython();
  const port = await freePort();
  const child: ChildProcess = spawn(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  // Never outlives the test process, whatever way it ends.
  const killOnExit = () => child.kill();
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  // Ready once it answers HTTP (the first start imports a lot of Python).
  for (;;) {
    try {
      await fetch(`${endpoint}/`);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error("moto's S3 server did not start within 90 s");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const ok = async (what: string, response: Response) => {
    if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  };
  return {
    endpoint,
    bucket: async (name) => ok(`create bucket ${name}`, await fetch(`${endpoint}/${name}`, { method: "PUT" })),
    put: async (bucket, key, body) => ok(`put ${key}`, await fetch(`${endpoint}/${bucket}/${key}`, { method: "PUT", body: new Blob([new Uint8Array(body)]) })),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      await exited;
    },
  };
}
