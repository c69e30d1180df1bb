import { existsSync } from "node:fs";
import { HRP_CRON_JOB_STATES, type HrpCronJob, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import { Dispatcher } from "../worker/dispatcher";
import { consoleLogger } from "../core/logger";
import { migrate } from "../schema/migrate";
import { JobQueue } from "../api/jobQueue";
import { QueueSet } from "../core/queues";
import { HrpCronJobService } from "../api/automatedTasks";
import { splitMethodName } from "../core/methodName";
import type { RunResult } from "../core/types";
import { allowFlags, idArg, intFlag, stringFlag, UsageError, type ParsedArgs } from "./args";
import { configPathOf, openDataSource, openRegistry } from "./config";
import { renderTable } from "./table";
import { withDatabase, type Command, type CommandContext } from "./database";
import { withExistingDatabase } from "./readOnly";
import { ConfigError } from "../core/errors";
import { schedulerFor, SCHEDULER_COMMANDS } from "./schedulerCommands";
import { openWhenReachable } from "./waitForDatabase";

function runsTable(results: readonly RunResult[]): string {
  return renderTable(
    ["run", "cron", "job", "name", "method", "user", "outcome", "calls", "error"],
    results.map((r) => [r.runLogId, r.cronId, r.jobId, r.name, `${r.model}.${r.function}`, r.userId, r.outcome, r.calls, r.error]),
  );
}

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
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be an ISO date such as 2026-11-23 or 2026-11-23T08:00:00Z, got "${text}"`);
  return date;
}

function jobsTable(jobs: readonly HrpCronJob[]): string {
  return renderTable(
    ["job", "name", "method", "queue", "user", "prio", "state", "tries", "due", "started", "done", "error"],
    jobs.map((j) => [j.id, j.name, `${j.model}.${j.function}`, j.queue, j.userId, j.priority, j.state, j.attempts, j.dateCreated, j.dateStarted, j.dateDone, j.excInfo]),
  );
}

export const COMMANDS: Record<string, Command> = {
  ...SCHEDULER_COMMANDS,
  worker: {
    summary: "run the dispatcher (Ctrl-C stops it) [--queue short,default] [--burst: run what is due, exit] [--sandbox: jobs in killable threads]",
    flags: ["config", "burst", "queue", "sandbox", "no-scheduler"],
    async run({ args, config, io }) {
      const registry = await openRegistry(config);
      if (registry.list().length === 0) {
        const path = configPathOf(stringFlag(args, "config"));
        throw new ConfigError(
          `no job methods are registered (config ${path}${existsSync(path) ? "" : ": not found"}), so this worker would fail every job it takes; ` +
            "give your registry in the config (registry: () => myRegistry) and pass --config PATH or set HRP_CRON_CONFIG",
          { path },
        );
      }
      // A worker started before its database waits for it (one line per attempt) instead of exiting.
      return withDatabase(config, async (dataSource) => {
        const queueSet = new QueueSet(config.workers);
        const queueFlag = stringFlag(args, "queue");
        const queues = queueFlag === undefined ? queueSet.names() : queueFlag.split(",").map((q) => q.trim()).filter(Boolean);
        if (queues.length === 0) throw new UsageError("--queue needs at least one queue name");
        // Slots: each served queue's backgroundWorkers (Frappe: workers per queue).
        const concurrency = Math.min(1000, queues.reduce((n, q) => n + queueSet.get(q).backgroundWorkers, 0));
        const sandbox = args.flags.has("sandbox") ? { configPath: configPathOf(stringFlag(args, "config")) } : config.dispatcher?.sandbox;
        const dispatcher = new Dispatcher(dataSource, registry, {
          logger: consoleLogger("info"), concurrency, ...config.dispatcher, queues, sandbox,
          // Frappe semantics in the CLI: each served queue is capped at its backgroundWorkers (default 1).
          workers: Object.fromEntries(queues.map((q) => [q, { ...config.workers?.[q], backgroundWorkers: queueSet.get(q).backgroundWorkers }])),
        });
        if (args.flags.has("burst")) {
          const results: RunResult[] = [];
          for (let batch = await dispatcher.runDue(); batch.length > 0; batch = await dispatcher.runDue()) results.push(...batch);
          io.out(results.length === 0 ? "nothing was due" : runsTable(results));
          const failed = results.filter((r) => r.outcome === "failed").length;
          io.out(`burst: ${results.length} run(s), ${results.length - failed} done, ${failed} failed\n`);
          io.out(jobsTable(await new HrpCronJobService(dataSource).listJobs({ limit: 20 })));
          return 0;
        }
        const scheduler = args.flags.has("no-scheduler") ? null : schedulerFor(dataSource, config, registry, consoleLogger("info"));
        await scheduler?.sync();
        await dispatcher.start();
        await scheduler?.start(); // leader-elected: safe in every worker
        io.out(`worker ${dispatcher.workerId} running; Ctrl-C stops it`);
        await io.stopRequested;
        io.out("stopping: letting the running job finish...");
        await scheduler?.stop();
        await dispatcher.stop();
        return 0;
      }, (c) => openWhenReachable(c, io));
    },
  },

  migrate: {
    summary: "bring the database schema up to date (idempotent)",
    flags: ["config"],
    async run({ config, io }) {
      const dataSource = await openDataSource(config);
      try {
        const applied = await migrate(dataSource);
        io.out(applied.length === 0 ? "database is up to date" : `applied: ${applied.join(", ")}`);
        if (config.schedulerEvents) {
          const synced = await schedulerFor(dataSource, config, await openRegistry(config)).sync();
          io.out(`scheduler events: ${synced.inserted} inserted, ${synced.updated} updated, ${synced.deleted} deleted`);
        }
        return 0;
      } finally {
        await dataSource.destroy();
      }
    },
  },

  crons: {
    summary: "list ir_cron rows in run order",
    flags: ["config"],
    async run({ config, io }) {
      return withExistingDatabase(config, async (_ds, service) => {
        const crons = await service.listCrons();
        io.out(
          renderTable(
            ["id", "name", "active", "method", "user", "prio", "every", "nextcall", "lastcall", "left", "fails", "running"],
            crons.map((c) => [
              c.id, c.name, c.active ? "yes" : "no", `${c.model}.${c.function}`, c.userId, c.priority,
              c.cronExpression ? `${c.cronExpression}${c.tz ? ` ${c.tz}` : ""}` : c.hrpCronJobId !== null ? `once (job ${c.hrpCronJobId})` : `${c.intervalNumber} ${c.intervalType}`,
              c.nextcall, c.lastcall, c.numbercall, c.failureCount, c.runningWorker,
            ]),
          ),
        );
        return 0;
      });
    },
  },

  jobs: {
    summary: "list hrp_cron_job rows, newest first [--state S] [--queue Q] [--method model.fn] [--user ID] [--since/--until ISO date] [--limit N]",
    flags: ["config", "state", "queue", "model", "method", "user", "since", "until", "limit"],
    async run({ args, config, io }) {
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
      return withExistingDatabase(config, async (_ds, service) => {
        io.out(jobsTable(await service.listJobs(filter)));
        return 0;
      });
    },
  },

  runs: {
    summary: "the run log, newest first: what ran, when, as whom, and why it failed [--cron ID] [--job ID] [--limit N]",
    flags: ["config", "cron", "job", "limit"],
    async run({ args, config, io }) {
      const filter = {
        cronId: intFlag(args, "cron", 1, 2_147_483_647),
        jobId: intFlag(args, "job", 1, 2_147_483_647),
        limit: intFlag(args, "limit", 1, 100_000),
      };
      return withExistingDatabase(config, async (_ds, service) => {
        const runs = await service.listRuns(filter);
        io.out(
          renderTable(
            ["run", "cron", "job", "name", "method", "user", "start", "ms", "calls", "state", "worker", "error"],
            runs.map((r) => [r.id, r.cronId, r.hrpCronJobId, r.name, `${r.model}.${r.function}`, r.userId, r.dateStart, r.durationMs, r.calls, r.state, r.workerId, r.error]),
          ),
        );
        return 0;
      });
    },
  },

  "run-now": {
    summary: "run cron ID now in this process, due or not (exit 1 if the run fails)",
    flags: ["config"],
    async run({ args, config, io }) {
      const id = idArg(args, "CRON_ID");
      return withDatabase(config, async (dataSource) => {
        const dispatcher = new Dispatcher(dataSource, await openRegistry(config), { ...config.dispatcher, logger: config.dispatcher?.logger ?? consoleLogger("warn") });
        const result = await dispatcher.runNow(id);
        io.out(runsTable([result]));
        return result.outcome === "done" ? 0 : 1;
      });
    },
  },

  retry: {
    summary: "put failed or cancelled job ID back in the queue, due now",
    flags: ["config"],
    async run({ args, config, io }) {
      const id = idArg(args, "JOB_ID");
      return withDatabase(config, async (_ds, service) => {
        const job = await service.retryJob(id);
        io.out(`job ${job.id} is ${job.state}, due ${job.dateCreated.toISOString()}`);
        return 0;
      });
    },
  },

  cancel: {
    summary: "cancel pending or failed job ID so it never runs",
    flags: ["config"],
    async run({ args, config, io }) {
      const id = idArg(args, "JOB_ID");
      return withDatabase(config, async (_ds, service) => {
        const job = await service.cancelJob(id);
        io.out(`job ${job.id} is ${job.state}`);
        return 0;
      });
    },
  },

  stop: {
    summary: "stop running job JOB_ID: its worker aborts it, rolls it back, marks it stopped",
    flags: ["config"],
    async run({ args, config, io }) {
      const id = idArg(args, "JOB_ID");
      return withDatabase(config, async (dataSource) => {
        await new JobQueue(dataSource, { registry: await openRegistry(config), workers: config.workers }).stopJob(id);
        io.out(`stop requested for job ${id}; its worker stops it at its next heartbeat`);
        return 0;
      });
    },
  },

  queues: {
    summary: "running / waiting / scheduled counts per queue and concurrency key, across all workers",
    flags: ["config"],
    async run({ config, io }) {
      return withExistingDatabase(config, async (dataSource) => {
        const stats = await new JobQueue(dataSource, { registry: await openRegistry(config), workers: config.workers }).stats();
        io.out(renderTable(["queue", "key", "running", "waiting", "scheduled"], stats.map((s) => [s.queue, s.concurrencyKey, s.running, s.waiting, s.scheduled])));
        return 0;
      });
    },
  },

  purge: {
    summary: "retention: delete finished jobs older than --finished-days (7) and failed ones older than --failed-days (30)",
    flags: ["config", "finished-days", "failed-days"],
    async run({ args, config, io }) {
      const day = 86_400_000;
      const finished = intFlag(args, "finished-days", 0, 36_500);
      const failed = intFlag(args, "failed-days", 0, 36_500);
      return withDatabase(config, async (dataSource) => {
        const queue = new JobQueue(dataSource, { registry: await openRegistry(config), workers: config.workers });
        const n = await queue.purge({ finishedOlderThanMs: finished === undefined ? undefined : finished * day, failedOlderThanMs: failed === undefined ? undefined : failed * day });
        io.out(`deleted ${n} job(s)`);
        return 0;
      });
    },
  },

  activate: {
    summary: "activate cron ID",
    flags: ["config"],
    async run(ctx) {
      return setActive(ctx, true);
    },
  },

  deactivate: {
    summary: "deactivate cron ID",
    flags: ["config"],
    async run(ctx) {
      return setActive(ctx, false);
    },
  },
};

async function setActive({ args, config, io }: CommandContext, active: boolean): Promise<number> {
  const id = idArg(args, "CRON_ID");
  return withDatabase(config, async (_ds, service) => {
    const cron = await service.setActive(id, active);
    io.out(`cron ${cron.id} is ${cron.active ? "active" : "inactive"}`);
    return 0;
  });
}

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
