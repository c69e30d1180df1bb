import { existsSync } from "node:fs";
import { JobAdmin } from "../../api/jobAdmin";
import { ConfigError } from "../../core/errors";
import { consoleLogger } from "../../core/logger";
import { QueueSet } from "../../core/queues";
import type { RunResult } from "../../core/types";
import { migrate } from "../../schema/migrate";
import { Dispatcher } from "../../worker/dispatcher";
import { DEFAULTS } from "../../core/options";
import { idArg, intFlag, noPositionals, stringFlag, UsageError } from "../args";
import { standaloneAuth } from "../dashboardAuth";
import { startDashboard } from "./dashboard";
import { withDatabase, type Command } from "../database";
import { configPathOf, openDataSource, openRegistry } from "../loadConfig";
import { openWhenReachable } from "../waitForDatabase";
import { cliOperator, OPERATOR_OPTIONS } from "../operator";
import { schedulerFor } from "./scheduler";
import { jobsTable, runsTable } from "./shared";

/** Running work: the worker, a manual run, and migrating the schema. */

export const WORKER_COMMANDS: Record<string, Command> = {
  worker: {
    summary: "run the dispatcher, and the scheduler, until Ctrl-C (or once, with --burst)",
    description:
      "Claims and runs due crons and jobs of the served queues; each queue runs up to its backgroundWorkers\n" +
      "jobs at once (config workers.NAME.backgroundWorkers, default 1). Ctrl-C lets running jobs finish;\n" +
      "a second Ctrl-C exits at once. A worker started before its database waits for it.",
    options: {
      queue: { type: "string", value: "Q1,Q2", help: "serve only these queues (default: every configured queue)" },
      burst: { type: "boolean", help: "run what is due, print the runs and the jobs, and exit" },
      sandbox: { type: "boolean", help: "run jobs in worker threads that a timeout or stop can kill" },
      "no-scheduler": { type: "boolean", help: "do not run the scheduler in this process" },
      dashboard: {
        type: "string",
        optionalValue: true,
        value: "PORT",
        help: `also serve the web dashboard on 127.0.0.1 (port ${DEFAULTS.dashboard.port} unless given), as "hrp-cron dashboard" does; not with --burst`,
      },
    },
    examples: [
      "hrp-cron worker --queue short,default",
      "hrp-cron worker --burst --config dist/hrp-cron.config.js",
      "hrp-cron worker --dashboard=8788",
    ],
    async run({ args, config, io }) {
      noPositionals(args);
      // The dashboard's flag and its access are checked before the database is opened.
      const dashboardFlag = args.flags.has("burst") ? undefined : args.flags.get("dashboard");
      const dashboardPort =
        dashboardFlag === undefined
          ? undefined
          : dashboardFlag === true
            ? DEFAULTS.dashboard.port
            : intFlag(args, "dashboard", 0, 65_535);
      const dashboardAuth = dashboardPort === undefined ? null : standaloneAuth(DEFAULTS.dashboard.host);
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
      return withDatabase(
        config,
        async (dataSource) => {
          const queueSet = new QueueSet(config.workers);
          const queueFlag = stringFlag(args, "queue");
          const queues =
            queueFlag === undefined
              ? queueSet.names()
              : queueFlag
                  .split(",")
                  .map((q) => q.trim())
                  .filter(Boolean);
          if (queues.length === 0) throw new UsageError("--queue needs at least one queue name", "worker");
          // Slots: each served queue's backgroundWorkers (Frappe: workers per queue).
          const concurrency = Math.min(
            1000,
            queues.reduce((n, q) => n + queueSet.get(q).backgroundWorkers, 0),
          );
          const sandbox = args.flags.has("sandbox")
            ? { configPath: configPathOf(stringFlag(args, "config")) }
            : config.dispatcher?.sandbox;
          const dispatcher = new Dispatcher(dataSource, registry, {
            logger: consoleLogger("info"),
            concurrency,
            ...config.dispatcher,
            userResolver: config.userResolver,
            queues,
            sandbox,
            // Frappe semantics in the CLI: each served queue is capped at its backgroundWorkers (default 1).
            workers: Object.fromEntries(
              queues.map((q) => [q, { ...config.workers?.[q], backgroundWorkers: queueSet.get(q).backgroundWorkers }]),
            ),
          });
          if (args.flags.has("burst")) {
            const results: RunResult[] = [];
            for (let batch = await dispatcher.runDue(); batch.length > 0; batch = await dispatcher.runDue())
              results.push(...batch);
            const admin = new JobAdmin(dataSource, { userResolver: config.userResolver });
            const jobs = await admin.listJobs({ limit: 20 });
            const logins = await admin.userLogins([...results.map((r) => r.userId), ...jobs.map((j) => j.userId)]);
            io.out(results.length === 0 ? "nothing was due" : runsTable(results, logins));
            const failed = results.filter((r) => r.outcome === "failed").length;
            io.out(`burst: ${results.length} run(s), ${results.length - failed} done, ${failed} failed\n`);
            io.out(jobsTable(jobs, logins));
            return 0;
          }
          const scheduler = args.flags.has("no-scheduler")
            ? null
            : schedulerFor(dataSource, config, registry, consoleLogger("info"));
          await scheduler?.sync();
          // Before the work starts: a port in use stops the worker before it takes any job.
          const served =
            dashboardAuth === null
              ? null
              : await startDashboard(
                  { dataSource, config, auth: dashboardAuth, host: DEFAULTS.dashboard.host, port: dashboardPort! },
                  io,
                );
          try {
            await dispatcher.start();
            await scheduler?.start(); // leader-elected: safe in every worker
            io.out(`worker ${dispatcher.workerId} running; Ctrl-C stops it`);
            await io.stopRequested;
          } finally {
            await served?.close();
          }
          io.out("stopping: letting the running job finish...");
          await scheduler?.stop();
          await dispatcher.stop();
          return 0;
        },
        (c) => openWhenReachable(c, io),
      );
    },
  },

  migrate: {
    summary: "bring the database schema up to date (idempotent)",
    options: {},
    async run({ args, config, io }) {
      noPositionals(args);
      const dataSource = await openDataSource(config);
      try {
        const applied = await migrate(dataSource, { usersTable: !config.userResolver });
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

  "run-now": {
    summary: "run cron CRON_ID now in this process, due or not (exit 1 if the run fails)",
    args: "CRON_ID",
    options: OPERATOR_OPTIONS,
    async run({ args, config, io }) {
      const id = idArg(args, "CRON_ID");
      const operator = cliOperator(args, false);
      return withDatabase(config, async (dataSource) => {
        const dispatcher = new Dispatcher(dataSource, await openRegistry(config), {
          ...config.dispatcher,
          userResolver: config.userResolver,
          logger: config.dispatcher?.logger ?? consoleLogger("warn"),
        });
        const result = await dispatcher.runNow(id, operator);
        const logins = await new JobAdmin(dataSource, { userResolver: config.userResolver }).userLogins([
          result.userId,
        ]);
        io.out(runsTable([result], logins));
        return result.outcome === "done" ? 0 : 1;
      });
    },
  },
};
