import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestDb } from "../helpers";
import { fileModule, ROOT, transpile } from "./markdown";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  main: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/** The compiled library, as `require("hrp-cron")` finds it (package.json `main`). */
export const LIBRARY = join(ROOT, pkg.main);
/** The `hrp-cron` command (package.json `bin`), compiled by the test suite's global setup. */
export const BIN = join(ROOT, pkg.bin["hrp-cron"]);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <args>` and resolves with its exit code and output. */
export function runNode(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...options.env };
    delete env.HRP_CRON_LOG_LEVEL;
    delete env.HRP_CRON_CONFIG;
    execFile(process.execPath, args, { cwd: options.cwd ?? ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `hrp-cron <args>`. */
export function hrpCron(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return runNode([BIN, ...args], options);
}

/**
 * `npm start`'s command (the last `&&` part of the script, without the build
 * the test suite's global setup has done), with `extra` arguments.
 */
export function npmStart(extra: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const command = pkg.scripts.start.split("&&").pop()!.trim().split(/\s+/);
  if (command[0] !== "node") throw new Error(`npm start no longer runs node directly: ${pkg.scripts.start}`);
  return runNode([...command.slice(1), ...extra], options);
}

/** What `HRP_CRON_DB` says to reach a test database: the SQLite file, or the PostgreSQL URL with the test's schema. */
export function databaseVariable(db: TestDb): string {
  const { sqliteFile, pgUrl, pgSchema } = db.location;
  if (sqliteFile) return sqliteFile;
  return `${pgUrl}${pgUrl!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
}

/** Writes the docs' config file example `name`, compiled, to a fresh directory; returns its path. */
export function writeConfigExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "hrp-cron-docs-config-"));
  const file = join(dir, "hrp-cron.config.js");
  writeFileSync(file, transpile(fileModule(name, LIBRARY)));
  return file;
}

/** Dates as the CLI prints them (`2026-11-30 21:20:36Z`), which differ from run to run. */
export function withoutDates(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ?/g, "<date>");
}
