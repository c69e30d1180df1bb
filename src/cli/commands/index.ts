import { allowFlags, type ParsedArgs } from "../args";
import type { Command } from "../database";
import { ADMIN_COMMANDS } from "./admin";
import { DOCTOR_COMMANDS } from "./doctor";
import { LISTING_COMMANDS } from "./listings";
import { SCHEDULER_COMMANDS } from "./scheduler";
import { WORKER_COMMANDS } from "./worker";

/** Every command, in the order `usage` lists them. */
export const COMMANDS: Record<string, Command> = {
  ...SCHEDULER_COMMANDS,
  ...DOCTOR_COMMANDS,
  worker: WORKER_COMMANDS.worker,
  migrate: WORKER_COMMANDS.migrate,
  crons: LISTING_COMMANDS.crons,
  jobs: LISTING_COMMANDS.jobs,
  runs: LISTING_COMMANDS.runs,
  "run-now": WORKER_COMMANDS["run-now"],
  retry: ADMIN_COMMANDS.retry,
  cancel: ADMIN_COMMANDS.cancel,
  stop: ADMIN_COMMANDS.stop,
  queues: LISTING_COMMANDS.queues,
  purge: ADMIN_COMMANDS.purge,
  activate: ADMIN_COMMANDS.activate,
  deactivate: ADMIN_COMMANDS.deactivate,
};

export function usage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    "usage: hrp-cron <command> [options] [--config hrp-cron.config.js]",
    "",
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    "",
    "The config file (default ./hrp-cron.config.js, or HRP_CRON_CONFIG) gives the registry and data source;",
    "without one the embedded SQLite database ./hrp-cron.sqlite (or HRP_CRON_DB) is used.",
  ].join("\n");
}

export function checkFlags(args: ParsedArgs, command: Command): void {
  allowFlags(args, command.flags);
}
