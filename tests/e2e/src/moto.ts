// moto's S3 server for the e2e tests: a real S3 API server on loopback, from the same pinned
// venv the engine's object-storage test uses ($CARGO_TARGET_DIR/s3-venv, made here when
// missing or out of date), started on a free port and stopped by the test.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { repoRoot, venvPython } from "./venv.ts";

const requirements = join(repoRoot, "src-tauri", "engine", "tests", "s3", "requirements.txt");

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
  const python = venvPython("s3-venv", requirements);
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
