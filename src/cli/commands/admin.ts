import { DEFAULTS } from "../../core/options";
import { dateFlag, idArg, intFlag, noPositionals, stringFlag, UsageError, type OptionSpecs } from "../args";
import { splitMethodName } from "../../core/methodName";
import type { HrpCronJobState } from "../../schema/entities/HrpCronJob";
import { openRunPrint, output, type Command, type CommandContext } from "../database";
import { cliOperator, OPERATOR_OPTIONS } from "../operator";
import { formatDate } from "../table";

/** Operators' decisions: retry, cancel or stop a job (or every job matching a filter), retention, (de)activate a cron. These commands write. */

/** The filter options of bulk retry and cancel. */
const FILTER_NAMES = ["state", "queue", "method", "user", "since", "until", "error"] as const;
const BULK_OPTIONS: OptionSpecs = {
  state: {
    type: "string",
    value: "STATE",
    help: "only jobs in this state (retry: failed, cancelled; cancel: pending, failed)",
  },
  queue: { type: "string", value: "NAME", help: "only jobs of this queue" },
  method: { type: "string", value: "MODEL.FN", help: "only jobs of this method" },
  user: { type: "string", value: "ID", help: "only jobs of this user id" },
  since: { type: "string", value: "ISO_DATE", help: "only jobs due from this date" },
  until: { type: "string", value: "ISO_DATE", help: "only jobs due before this date" },
  error: { type: "string", value: "TEXT", help: "only jobs whose last error contains TEXT (any case)" },
  max: { type: "string", value: "N", help: "refuse if more than N jobs match (default 1000)" },
  "dry-run": { type: "boolean", help: "only list the jobs it would change" },
};

/** Refuses filter options next to a JOB_ID. */
function noFilter(ctx: CommandContext): void {
  const given = [...FILTER_NAMES, "max", "dry-run"].filter((name) => ctx.args.flags.has(name));
  if (given.length > 0)
    throw new UsageError(
      `give JOB_ID or filter options (--${given[0]}), not both: with JOB_ID it acts on that job only`,
      ctx.args.command,
    );
}

/** Bulk retry or cancel: every job matching the filter options. */
async function bulk(ctx: CommandContext, action: "retry" | "cancel"): Promise<number> {
  const { args } = ctx;
  if (!FILTER_NAMES.some((name) => args.flags.has(name)))
    throw new UsageError(
      `"${action}" needs a JOB_ID, or a filter (${FILTER_NAMES.map((n) => `--${n}`).join(", ")}) to ${action} every job it matches`,
      args.command,
    );
  const method = stringFlag(args, "method");
  const split = method === undefined ? null : splitMethodName(method);
  if (method !== undefined && (split === null || split.model === ""))
    throw new UsageError(`--method must be "model.method", got "${method}"`, args.command);
  const filter = {
    state: stringFlag(args, "state") as HrpCronJobState | undefined,
    queue: stringFlag(args, "queue"),
    ...(split ? { model: split.model, function: split.method } : {}),
    userId: intFlag(args, "user", 1, 2_147_483_647),
    since: dateFlag(args, "since"),
    until: dateFlag(args, "until"),
    errorContains: stringFlag(args, "error"),
  };
  const dryRun = args.flags.has("dry-run");
  const max = intFlag(args, "max", 1, 100_000);
  const operator = cliOperator(args, action === "cancel" && !dryRun);
  const clean = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
  return openRunPrint(ctx, dryRun ? "read" : "write", async ({ admin }) => {
    const options = { dryRun, ...(max === undefined ? {} : { max }) };
    const report =
      action === "retry"
        ? await admin.retryJobs(clean, options, operator)
        : await admin.cancelJobs(clean, options, operator);
    return output(ctx, report, (r) => {
      const ids = r.jobIds.length > 20 ? `${r.jobIds.slice(0, 20).join(", ")}, ...` : r.jobIds.join(", ");
      const verb = action === "retry" ? "retried" : "cancelled";
      if (r.jobIds.length === 0) return `no job matches: nothing ${verb}`;
      return r.dryRun
        ? `would ${action} ${r.jobIds.length} job(s): ${ids} (run again without --dry-run to do it)`
        : `${verb} ${r.jobIds.length} job(s): ${ids}`;
    });
  });
}

const DAY_MS = 86_400_000;

export const ADMIN_COMMANDS: Record<string, Command> = {
  retry: {
    summary: "put failed or cancelled job JOB_ID (or every job matching a filter) back in the queue, due now",
    args: "[JOB_ID]",
    options: { ...BULK_OPTIONS, ...OPERATOR_OPTIONS },
    description:
      "It runs again as its stored user, with its retries reset. A pending, running or done job is refused (exit 1).\n" +
      "Without JOB_ID, every failed or cancelled job matching the filter options is retried in one transaction,\n" +
      "at most --max (1000) of them, with one row in the operator action log; --dry-run lists them first.",
    examples: [
      "hrp-cron retry 42",
      'hrp-cron retry --state failed --queue long --error "connection refused" --dry-run',
      'hrp-cron retry --state failed --since 2026-12-01 --reason "the bank API is back"',
    ],
    json: true,
    async run(ctx) {
      if (ctx.args.positionals.length === 0) return bulk(ctx, "retry");
      const id = idArg(ctx.args, "JOB_ID");
      noFilter(ctx);
      const operator = cliOperator(ctx.args, false);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.retryJob(id, undefined, operator);
        return output(ctx, job, (j) => `job ${j.id} is ${j.state}, due ${j.dateCreated.toISOString()}`);
      });
    },
  },

  cancel: {
    summary: "cancel pending or failed job JOB_ID (or every job a filter matches) so it never runs (needs --reason)",
    args: "[JOB_ID]",
    options: { ...BULK_OPTIONS, ...OPERATOR_OPTIONS },
    description:
      "Without JOB_ID, every pending or failed job matching the filter options is cancelled in one transaction,\n" +
      "at most --max (1000) of them, with one row in the operator action log; --dry-run lists them first.",
    examples: [
      'hrp-cron cancel 42 --reason "duplicate of job 41"',
      "hrp-cron cancel --queue long --method hrp.report.build --dry-run",
    ],
    json: true,
    async run(ctx) {
      if (ctx.args.positionals.length === 0) return bulk(ctx, "cancel");
      const id = idArg(ctx.args, "JOB_ID");
      noFilter(ctx);
      const operator = cliOperator(ctx.args, true);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.cancelJob(id, operator);
        return output(ctx, job, (j) => `job ${j.id} is ${j.state}`);
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
      "actions-days": {
        type: "string",
        value: "N",
        help: "also delete operator action-log rows older than N days (kept otherwise)",
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
      const actionDays = intFlag(args, "actions-days", 0, 36_500);
      const dryRun = args.flags.has("dry-run");
      const operator = cliOperator(args, !dryRun);
      // A dry run only reads: it does not migrate or create a database.
      return openRunPrint(ctx, args.flags.has("dry-run") ? "read" : "write", async ({ admin }) => {
        const report = await admin.purgeReport(
          {
            finishedOlderThanMs: finished === undefined ? undefined : finished * DAY_MS,
            failedOlderThanMs: failed === undefined ? undefined : failed * DAY_MS,
            deleteFailureLogs: args.flags.has("with-failure-logs"),
            ...(actionDays === undefined ? {} : { actionsOlderThanMs: actionDays * DAY_MS }),
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
            actionDays === undefined
              ? "kept the operator action log (--actions-days N deletes rows older than N days)"
              : `${verb} ${r.actions} operator action-log row(s) older than ${actionDays} day(s)`,
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
