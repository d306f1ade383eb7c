// A Ballista cluster for the e2e tests: quire-scheduler and two quire-executor processes
// (src-tauri/cluster, built by `cargo build -p quire-cluster` when missing) on loopback,
// started on free ports and stopped by the test; their REST API tells jobs' states.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { targetDir } from "./harness.ts";
import { freePort } from "./moto.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface Job {
  job_id: string;
  status: string;
  job_status: string;
}

export interface Cluster {
  /** `df://127.0.0.1:<port>`, as a connection names it. */
  url: string;
  jobs(): Promise<Job[]>;
  stop(): void;
}

function binaries(): { scheduler: string; executor: string } {
  const dir = join(targetDir(), "debug");
  const scheduler = join(dir, "quire-scheduler");
  const executor = join(dir, "quire-executor");
  if (!existsSync(scheduler) || !existsSync(executor)) {
    execFileSync("cargo", ["build", "--locked", "-p", "quire-cluster"], { cwd: repoRoot, stdio: "inherit" });
  }
  return { scheduler, executor };
}

export async function startCluster(executors = 2): Promise<Cluster> {
  const { scheduler, executor } = binaries();
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-cluster-"));
  const port = await freePort();
  const children: ChildProcess[] = [];
  const log = (name: string) => openSync(join(dir, `${name}.log`), "w");
  const run = (binary: string, args: string[], name: string) => {
    const out = log(name);
    children.push(spawn(binary, args, { stdio: ["ignore", out, out], env: { ...process.env, RUST_LOG: "info" } }));
  };
  run(scheduler, ["--bind-host=127.0.0.1", `--bind-port=${port}`, "--external-host=127.0.0.1"], "scheduler");
  for (let n = 0; n < executors; n++) {
    const work = join(dir, `executor-${n}`);
    mkdirSync(work);
    run(
      executor,
      [
        "--scheduler-host=127.0.0.1",
        `--scheduler-port=${port}`,
        "--scheduler-connect-timeout-seconds=30",
        "--bind-host=127.0.0.1",
        "--external-host=127.0.0.1",
        `--bind-port=${await freePort()}`,
        `--bind-grpc-port=${await freePort()}`,
        `--work-dir=${work}`,
        "--vcores=2",
      ],
      `executor-${n}`,
    );
  }
  const stop = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.once("exit", stop);
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const seen = await api<unknown[]>("/api/executors").catch(() => []);
    if (seen.length === executors) break;
    if (Date.now() > deadline) {
      stop();
      throw new Error(`the cluster did not come up in 90 s (logs in ${dir})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: `df://127.0.0.1:${port}`, jobs: () => api<Job[]>("/api/jobs"), stop };
}
