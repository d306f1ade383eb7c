// A real PostgreSQL server for an e2e test, as the engine's tests start one: Debian's binaries
// (.ci/setup.sh installs them), a fresh cluster in a temporary folder with password logins,
// listening on a free loopback port, stopped by the test (and on exit, whatever happens). As
// root (CI) the cluster belongs to the `postgres` user: initdb refuses to run as root.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./moto.ts";

export const PG_PASSWORD = "quire-e2e-password";
export const PG_USER = "quire";

export interface Postgres {
  port: number;
  /** Runs SQL in `database` with psql; its rows as `a | b` lines. */
  psql(database: string, sql: string): string;
  stop(): Promise<void>;
}

function binDir(): string {
  if (process.env.QUIRE_PG_BIN) return process.env.QUIRE_PG_BIN;
  const versions = readdirSync("/usr/lib/postgresql")
    .filter((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb")))
    .sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  if (!newest) throw new Error("no PostgreSQL server under /usr/lib/postgresql (bash .ci/setup.sh --with-test-tools)");
  return join("/usr/lib/postgresql", newest, "bin");
}

const asRoot = () => process.getuid?.() === 0;

/** `program` as the cluster's owner: setpriv execs in place, so the child is the server. */
function asOwner(program: string, args: string[]): [string, string[]] {
  return asRoot() ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", program, ...args]] : [program, args];
}

export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  writeFileSync(join(dir, "pw"), PG_PASSWORD);
  if (asRoot()) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const [initdb, initArgs] = asOwner(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    PG_USER,
    "--auth=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
    `--pwfile=${join(dir, "pw")}`,
  ]);
  execFileSync(initdb, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const [server, serverArgs] = asOwner(join(bin, "postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
  const child: ChildProcess = spawn(server, serverArgs, { stdio: "ignore" });
  const killOnExit = () => child.kill("SIGINT");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      execFileSync(join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill("SIGKILL");
        throw new Error("PostgreSQL did not start within 60 s");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    psql: (database, sql) =>
      execFileSync(
        join(bin, "psql"),
        ["-X", "-q", "-At", "-F", " | ", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", PG_USER, "-d", database, "-c", sql],
        { env: { ...process.env, PGPASSWORD: PG_PASSWORD }, encoding: "utf8" },
      ).trimEnd(),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      // A fast shutdown: the server ends its sessions and exits.
      child.kill("SIGINT");
      await exited;
    },
  };
}
