// The pinned Python venvs the engine's tests make under the cargo target dir
// ($CARGO_TARGET_DIR/<name>), shared with them: reused while its requirements file is unchanged
// (the same stamp the engine's tests/support/venv.rs writes), made here when missing or out of
// date, built aside and renamed into place.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { targetDir } from "./harness.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The python of venv `name`, with the packages `requirements` pins installed. */
export function venvPython(name: string, requirements: string): string {
  const venv = join(targetDir(), name);
  const python = join(venv, "bin", "python");
  const wanted = readFileSync(requirements, "utf8");
  const stamp = join(venv, "quire-requirements.txt");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) return python;
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
