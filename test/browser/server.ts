import { spawn } from "node:child_process";
import { tmpdir, userInfo } from "node:os";
import { BIN, databaseVariable } from "../docs/cli";
import type { TestDb } from "../helpers";

/**
 * `hrp-cron dashboard` (the compiled CLI, as an operator starts it) on
 * `db`, on a free port of 127.0.0.1: the local user gets in as
 * `local:<OS user>` with every action, or read-only with
 * `HRP_CRON_DASHBOARD_ACCESS=read-only`.
 */
export async function serveDashboard(
  db: TestDb,
  options: { readonly readOnly?: boolean } = {},
): Promise<{ readonly origin: string; readonly login: string; close(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HRP_CRON_DB: databaseVariable(db) };
  for (const key of Object.keys(env))
    if (key.startsWith("HRP_CRON_DASHBOARD_") || key === "HRP_CRON_CONFIG") delete env[key];
  if (options.readOnly) env.HRP_CRON_DASHBOARD_ACCESS = "read-only";
  const child = spawn(process.execPath, [BIN, "dashboard", "--port", "0"], { cwd: tmpdir(), env });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!(url = /^dashboard: (http:\/\/\S+)/m.exec(output)?.[1]) && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
  if (!url) {
    child.kill("SIGKILL");
    throw new Error(`hrp-cron dashboard printed no URL:\n${output}`);
  }
  return {
    origin: new URL(url).origin,
    login: `local:${userInfo().username}`,
    close: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
