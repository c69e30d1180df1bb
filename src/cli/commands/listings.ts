import { HRP_CRON_JOB_STATES, type HrpCronJobState } from "../../schema/entities/HrpCronJob";
import { splitMethodName } from "../../core/methodName";
import { intFlag, stringFlag, UsageError, type ParsedArgs } from "../args";
import { openRunPrint, type Command } from "../database";
import { renderTable } from "../table";
import { jobsTable } from "./shared";

/** What the database holds: crons, jobs, the run log, queue counts. These commands only read. */

function methodFilter(model: string | undefined, method: string | undefined): { model?: string; function?: string } {
  if (method === undefined) return { model };
  const split = splitMethodName(method);
  if (split === null || split.model === "") throw new UsageError(`--method must be "model.method", got "${method}"`);
  return { model: split.model, function: split.method };
}

function dateFlag(args: ParsedArgs, name: string): Date | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--${name} must be an ISO date such as 2026-11-23 or 2026-11-23T08:00:00Z, got "${text}"`);
  return date;
}

export const LISTING_COMMANDS: Record<string, Command> = {
  crons: {
    summary: "list ir_cron rows in run order",
    flags: ["config"],
    async run(ctx) {
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const crons = await admin.listCrons();
        return renderTable(
          [
            "id",
            "name",
            "active",
            "method",
            "user",
            "prio",
            "every",
            "nextcall",
            "lastcall",
            "left",
            "fails",
            "running",
          ],
          crons.map((c) => [
            c.id,
            c.name,
            c.active ? "yes" : "no",
            `${c.model}.${c.function}`,
            c.userId,
            c.priority,
            c.cronExpression
              ? `${c.cronExpression}${c.tz ? ` ${c.tz}` : ""}`
              : c.hrpCronJobId !== null
                ? `once (job ${c.hrpCronJobId})`
                : `${c.intervalNumber} ${c.intervalType}`,
            c.nextcall,
            c.lastcall,
            c.numbercall,
            c.failureCount,
            c.runningWorker,
          ]),
        );
      });
    },
  },

  jobs: {
    summary:
      "list hrp_cron_job rows, newest first [--state S] [--queue Q] [--method model.fn] [--user ID] [--since/--until ISO date] [--limit N]",
    flags: ["config", "state", "queue", "model", "method", "user", "since", "until", "limit"],
    async run(ctx) {
      const { args } = ctx;
      const state = stringFlag(args, "state");
      if (state !== undefined && !(HRP_CRON_JOB_STATES as readonly string[]).includes(state)) {
        throw new UsageError(`--state must be one of ${HRP_CRON_JOB_STATES.join(", ")}, got "${state}"`);
      }
      const filter = {
        state: state as HrpCronJobState | undefined,
        queue: stringFlag(args, "queue"),
        ...methodFilter(stringFlag(args, "model"), stringFlag(args, "method")),
        since: dateFlag(args, "since"),
        until: dateFlag(args, "until"),
        userId: intFlag(args, "user", 1, 2_147_483_647),
        limit: intFlag(args, "limit", 1, 100_000),
      };
      return openRunPrint(ctx, "read", async ({ admin }) => jobsTable(await admin.listJobs(filter)));
    },
  },

  runs: {
    summary: "every run, newest first: what ran, when, as whom, and why it failed [--cron ID] [--job ID] [--limit N]",
    flags: ["config", "cron", "job", "limit"],
    async run(ctx) {
      const { args } = ctx;
      const filter = {
        cronId: intFlag(args, "cron", 1, 2_147_483_647),
        jobId: intFlag(args, "job", 1, 2_147_483_647),
        limit: intFlag(args, "limit", 1, 100_000),
      };
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const runs = await admin.listRuns(filter);
        return renderTable(
          ["run", "cron", "job", "name", "method", "user", "start", "ms", "calls", "state", "worker", "error"],
          runs.map((r) => [
            r.runLogId,
            r.cronId,
            r.hrpCronJobId,
            r.name,
            `${r.model}.${r.function}`,
            r.userId,
            r.dateStart,
            r.durationMs,
            r.calls,
            r.state,
            r.workerId,
            r.error,
          ]),
        );
      });
    },
  },

  queues: {
    summary: "running / waiting / scheduled counts per queue and concurrency key, across all workers",
    flags: ["config"],
    async run(ctx) {
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const stats = await admin.stats();
        return renderTable(
          ["queue", "key", "running", "waiting", "scheduled"],
          stats.map((s) => [s.queue, s.concurrencyKey, s.running, s.waiting, s.scheduled]),
        );
      });
    },
  },
};
