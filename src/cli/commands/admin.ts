import { DEFAULTS } from "../../core/options";
import { idArg, intFlag, noPositionals } from "../args";
import { openRunPrint, output, type Command, type CommandContext } from "../database";
import { cliOperator, OPERATOR_OPTIONS } from "../operator";
import { formatDate } from "../table";

/** Operators' decisions: retry, cancel or stop a job, retention, (de)activate a cron. These commands write. */

const DAY_MS = 86_400_000;

export const ADMIN_COMMANDS: Record<string, Command> = {
  retry: {
    summary: "put failed or cancelled job JOB_ID back in the queue, due now, with its retries reset",
    args: "JOB_ID",
    options: OPERATOR_OPTIONS,
    description:
      "It runs again as its stored user. A pending, running or done job is refused (exit 1).\n" +
      "The retry is recorded in the operator action log (hrp-cron actions) with --by and --reason.",
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      const operator = cliOperator(ctx.args, false);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.retryJob(id, undefined, operator);
        return `job ${job.id} is ${job.state}, due ${job.dateCreated.toISOString()}`;
      });
    },
  },

  cancel: {
    summary: "cancel pending or failed job JOB_ID so it never runs (--reason required)",
    args: "JOB_ID",
    options: OPERATOR_OPTIONS,
    examples: ['hrp-cron cancel 42 --reason "duplicate of job 41"'],
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      const operator = cliOperator(ctx.args, true);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.cancelJob(id, operator);
        return `job ${job.id} is ${job.state}`;
      });
    },
  },

  stop: {
    summary: "stop running job JOB_ID: its worker aborts it, rolls it back, marks it stopped (--reason required)",
    args: "JOB_ID",
    options: OPERATOR_OPTIONS,
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      const operator = cliOperator(ctx.args, true);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        await admin.stopJob(id, operator);
        return `stop requested for job ${id}; its worker stops it at its next heartbeat`;
      });
    },
  },

  purge: {
    summary: "retention: delete old finished and failed jobs (keeping their failed runs' logs)",
    description:
      `Deletes done, cancelled and stopped jobs finished more than --finished-days ago (default ${DEFAULTS.purgeFinishedOlderThanMs / DAY_MS}),\n` +
      `failed jobs more than --failed-days ago (default ${DEFAULTS.purgeFailedOlderThanMs / DAY_MS}), their ir_cron records and their successful runs'\n` +
      "log rows. The log rows of failed, stopped and interrupted runs stay, so hrp_cron_runs keeps the audit of\n" +
      "what went wrong, unless --with-failure-logs. Running jobs and recurring crons are never touched.",
    options: {
      "finished-days": { type: "string", value: "N", help: "purge finished jobs older than N days" },
      "failed-days": { type: "string", value: "N", help: "purge failed jobs older than N days" },
      "with-failure-logs": {
        type: "boolean",
        help: "also delete the log rows of their failed/stopped/interrupted runs",
      },
      "dry-run": { type: "boolean", help: "only say what would be deleted" },
      ...OPERATOR_OPTIONS,
    },
    json: true,
    examples: [
      "hrp-cron purge --dry-run",
      'hrp-cron purge --finished-days 3 --failed-days 90 --reason "monthly retention"',
    ],
    async run(ctx) {
      const { args } = ctx;
      noPositionals(args);
      const finished = intFlag(args, "finished-days", 0, 36_500);
      const failed = intFlag(args, "failed-days", 0, 36_500);
      const dryRun = args.flags.has("dry-run");
      const operator = cliOperator(args, !dryRun);
      // A dry run only reads: it does not migrate or create a database.
      return openRunPrint(ctx, args.flags.has("dry-run") ? "read" : "write", async ({ admin }) => {
        const report = await admin.purgeReport(
          {
            finishedOlderThanMs: finished === undefined ? undefined : finished * DAY_MS,
            failedOlderThanMs: failed === undefined ? undefined : failed * DAY_MS,
            deleteFailureLogs: args.flags.has("with-failure-logs"),
            dryRun,
          },
          operator,
        );
        return output(ctx, report, (r) => {
          const verb = r.dryRun ? "would delete" : "deleted";
          return [
            `${verb} ${r.finishedJobs} finished job(s) (done, cancelled, stopped before ${formatDate(r.finishedBefore)} UTC)`,
            `${verb} ${r.failedJobs} failed job(s) (failed before ${formatDate(r.failedBefore)} UTC), with their ir_cron records and successful runs' logs`,
            r.failureLogsDeleted > 0
              ? `${verb} ${r.failureLogsDeleted} log row(s) of their failed, stopped or interrupted runs`
              : `kept ${r.failureLogsKept} log row(s) of their failed, stopped or interrupted runs (--with-failure-logs deletes them)`,
          ].join("\n");
        });
      });
    },
  },

  activate: {
    summary: "activate cron CRON_ID",
    args: "CRON_ID",
    options: OPERATOR_OPTIONS,
    async run(ctx) {
      return setActive(ctx, true);
    },
  },

  deactivate: {
    summary: "deactivate cron CRON_ID (--reason required)",
    args: "CRON_ID",
    options: OPERATOR_OPTIONS,
    async run(ctx) {
      return setActive(ctx, false);
    },
  },
};

async function setActive(ctx: CommandContext, active: boolean): Promise<number> {
  const id = idArg(ctx.args, "CRON_ID");
  const operator = cliOperator(ctx.args, !active);
  return openRunPrint(ctx, "write", async ({ service }) => {
    const cron = await service.setActive(id, active, operator);
    return `cron ${cron.id} is ${cron.active ? "active" : "inactive"}`;
  });
}
