import type { Command } from "../database";
import { ACTION_COMMANDS } from "./actions";
import { ADMIN_COMMANDS } from "./admin";
import { DASHBOARD_COMMANDS } from "./dashboard";
import { DOCTOR_COMMANDS } from "./doctor";
import { LISTING_COMMANDS } from "./listings";
import { SCHEDULER_COMMANDS } from "./scheduler";
import { WORKER_COMMANDS } from "./worker";

/** Every command, in the order `hrp-cron --help` lists them. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  ...SCHEDULER_COMMANDS,
  ...DOCTOR_COMMANDS,
  worker: WORKER_COMMANDS.worker,
  migrate: WORKER_COMMANDS.migrate,
  dashboard: DASHBOARD_COMMANDS.dashboard,
  crons: LISTING_COMMANDS.crons,
  jobs: LISTING_COMMANDS.jobs,
  job: LISTING_COMMANDS.job,
  runs: LISTING_COMMANDS.runs,
  "run-now": WORKER_COMMANDS["run-now"],
  retry: ADMIN_COMMANDS.retry,
  cancel: ADMIN_COMMANDS.cancel,
  stop: ADMIN_COMMANDS.stop,
  queues: LISTING_COMMANDS.queues,
  purge: ADMIN_COMMANDS.purge,
  actions: ACTION_COMMANDS.actions,
  activate: ADMIN_COMMANDS.activate,
  deactivate: ADMIN_COMMANDS.deactivate,
};
