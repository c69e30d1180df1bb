import { HRP_CRON_JOB_STATES, type HrpCronJobState } from "../../schema/entities/HrpCronJob";
import { RUN_OUTCOMES, type RunOutcome } from "../../schema/entities/HrpCronRunLog";
import { NotFoundError } from "../../core/errors";
import { splitMethodName } from "../../core/methodName";
import {
  dateFlag,
  idArg,
  intFlag,
  noPositionals,
  stringFlag,
  UsageError,
  type OptionSpecs,
  type ParsedArgs,
} from "../args";
import { openRunPrint, output, type Command } from "../database";
import { formatDate, renderTable } from "../table";
import { cliOperator, OPERATOR_OPTIONS } from "../operator";
import { renderJobDetail, type JobDetail } from "./jobDetail";
import { jobsTable, loginOf } from "./shared";

/** What the database holds: crons, jobs, one job, the run log, queue counts. These commands only read. */

const MAX_ID = 2_147_483_647;

function methodFilter(args: ParsedArgs): { model?: string; function?: string } {
  const model = stringFlag(args, "model");
  const method = stringFlag(args, "method");
  if (method === undefined) return { model };
  const split = splitMethodName(method);
  if (split === null || split.model === "")
    throw new UsageError(`--method must be "model.method", got "${method}"`, args.command);
  return { model: split.model, function: split.method };
}

function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const value = stringFlag(args, name);
  if (value !== undefined && !(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${value}"`, args.command);
  return value as T | undefined;
}

/** The filter options `jobs` and `runs` share. */
const FILTERS: OptionSpecs = {
  queue: { type: "string", value: "NAME", help: "only this queue" },
  method: { type: "string", value: "MODEL.FN", help: "only this method (hrp.asset.receiving.application.post)" },
  model: { type: "string", value: "MODEL", help: "only methods of this model" },
  user: { type: "string", value: "ID", help: "only as this user id" },
  since: { type: "string", value: "ISO_DATE", help: "from this date (2026-11-23 or 2026-11-23T08:00:00Z)" },
  until: { type: "string", value: "ISO_DATE", help: "before this date" },
  limit: { type: "string", value: "N", help: "at most N rows (default 100)" },
};

function sharedFilter(args: ParsedArgs) {
  return {
    queue: stringFlag(args, "queue"),
    ...methodFilter(args),
    userId: intFlag(args, "user", 1, MAX_ID),
    since: dateFlag(args, "since"),
    until: dateFlag(args, "until"),
    limit: intFlag(args, "limit", 1, 100_000),
  };
}

export const LISTING_COMMANDS: Record<string, Command> = {
  crons: {
    summary: "list ir_cron rows in run order",
    options: {},
    json: true,
    async run(ctx) {
      noPositionals(ctx.args);
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const crons = await admin.listCrons();
        return output(ctx, crons, async () => {
          const logins = await admin.userLogins(crons.map((c) => c.userId));
          return renderTable(
            ["id", "name", "on", "method", "user", "every", "next (UTC)", "last (UTC)", "left", "fails"],
            crons.map((c) => [
              c.id,
              c.name,
              c.active ? "yes" : "no",
              `${c.model}.${c.function}`,
              loginOf(logins, c.userId),
              c.cronExpression
                ? `${c.cronExpression}${c.tz ? ` ${c.tz}` : ""}`
                : c.hrpCronJobId !== null
                  ? `once (job ${c.hrpCronJobId})`
                  : `${c.intervalNumber} ${c.intervalType}`,
              c.nextcall,
              c.lastcall,
              c.numbercall,
              c.failureCount,
            ]),
          );
        });
      });
    },
  },

  jobs: {
    summary: "list jobs (hrp_cron_job), newest first, filtered by state, queue, method, user, due date",
    description:
      'Each row is one runByCron or enqueue call. "hrp-cron job ID" shows one job in full: its arguments,\n' +
      "result, every run with its whole error and stack.",
    options: {
      state: { type: "string", value: "STATE", help: `only jobs in this state: ${HRP_CRON_JOB_STATES.join(", ")}` },
      ...FILTERS,
    },
    json: true,
    examples: ["hrp-cron jobs --state failed --since 2026-11-30", "hrp-cron jobs --queue long --json | jq '.[].id'"],
    async run(ctx) {
      const { args } = ctx;
      noPositionals(args);
      const filter = { state: oneOf<HrpCronJobState>(args, "state", HRP_CRON_JOB_STATES), ...sharedFilter(args) };
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const jobs = await admin.listJobs(filter);
        return output(ctx, jobs, async () => jobsTable(jobs, await admin.userLogins(jobs.map((j) => j.userId))));
      });
    },
  },

  job: {
    summary: "everything about one job: arguments, user, every run with its full error and stack, result",
    args: "JOB_ID",
    options: {},
    json: true,
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const job = await admin.getJob(id);
        const cronId =
          job.kind === "cron"
            ? await admin.getJobCron(id).then(
                (c) => c.id,
                (e: unknown) => (e instanceof NotFoundError ? null : Promise.reject(e)),
              )
            : null;
        const detail: JobDetail = {
          job,
          login: (await admin.userLogins([job.userId])).get(job.userId) ?? "?", // "?": the users could not be read
          cronId,
          result: job.state === "done" ? await admin.getJobResult(id) : null,
          runs: await admin.listRuns({ jobId: id, limit: 1000 }),
          actions: await admin.listActions({ targetType: "job", targetId: id, limit: 1000 }),
        };
        return output(ctx, detail, renderJobDetail);
      });
    },
  },

  runs: {
    summary: "every run, newest first: what ran, when, as whom, and why it failed",
    description: "Reads the hrp_cron_runs view (the audit of every run of every cron and job).",
    options: {
      state: { type: "string", value: "STATE", help: `only runs that ended so: ${RUN_OUTCOMES.join(", ")}` },
      cron: { type: "string", value: "ID", help: "only runs of this cron" },
      job: { type: "string", value: "ID", help: "only runs of this job" },
      ...FILTERS,
    },
    json: true,
    examples: ["hrp-cron runs --state failed --since 2026-11-30T00:00:00Z --user 2"],
    async run(ctx) {
      const { args } = ctx;
      noPositionals(args);
      const filter = {
        state: oneOf<RunOutcome>(args, "state", RUN_OUTCOMES),
        cronId: intFlag(args, "cron", 1, MAX_ID),
        jobId: intFlag(args, "job", 1, MAX_ID),
        ...sharedFilter(args),
      };
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const runs = await admin.listRuns(filter);
        return output(ctx, runs, async () => {
          const logins = await admin.userLogins(runs.map((r) => r.userId));
          return renderTable(
            ["run", "cron", "job", "method", "user", "start (UTC)", "ms", "state", "error"],
            runs.map((r) => [
              r.runLogId,
              r.cronId || null,
              r.hrpCronJobId,
              `${r.model}.${r.function}`,
              loginOf(logins, r.userId),
              r.dateStart,
              r.durationMs,
              r.state,
              r.error,
            ]),
          );
        });
      });
    },
  },

  queues: {
    summary: "running / waiting / scheduled counts per queue and key, across all workers; pause or resume a queue",
    description:
      "A paused queue's jobs and crons are claimed by no worker on any machine (from the pause's commit on);\n" +
      "running ones finish, new ones can still be enqueued. --pause needs --reason; both are recorded in the\n" +
      "operator action log.",
    options: {
      pause: { type: "string", value: "QUEUE", help: "pause this queue on every worker" },
      resume: { type: "string", value: "QUEUE", help: "resume this paused queue" },
      ...OPERATOR_OPTIONS,
    },
    json: true,
    examples: ['hrp-cron queues --pause long --reason "month-end close: keep the database for the close"'],
    async run(ctx) {
      const { args } = ctx;
      noPositionals(args);
      const pause = stringFlag(args, "pause");
      const resume = stringFlag(args, "resume");
      if (pause !== undefined && resume !== undefined)
        throw new UsageError("pass --pause QUEUE or --resume QUEUE, not both", args.command);
      const operator = pause !== undefined || resume !== undefined ? cliOperator(args, pause !== undefined) : null;
      return openRunPrint(ctx, operator ? "write" : "read", async ({ admin }) => {
        if (pause !== undefined) await admin.pauseQueue(pause, operator!);
        if (resume !== undefined) await admin.resumeQueue(resume, operator!);
        const queues = await admin.stats();
        const pauses = (await admin.queuePauses()).filter((p) => p.paused);
        return output(ctx, { queues, paused: pauses }, () =>
          [
            renderTable(
              ["queue", "key", "running", "waiting", "scheduled", "paused"],
              queues.map((s) => [
                s.queue,
                s.concurrencyKey,
                s.running,
                s.waiting,
                s.scheduled,
                pauses.some((p) => p.queue === s.queue) ? "PAUSED" : "",
              ]),
            ),
            ...(pauses.length === 0
              ? []
              : [
                  "",
                  ...pauses.map(
                    (p) =>
                      `queue ${p.queue} is PAUSED since ${formatDate(p.changedAt)} UTC by ${p.changedBy}${p.reason ? `: ${p.reason}` : ""}`,
                  ),
                ]),
          ].join("\n"),
        );
      });
    },
  },
};
