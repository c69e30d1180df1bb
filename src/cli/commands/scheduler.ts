import type { DataSource } from "typeorm";
import { consoleLogger } from "../../core/logger";
import type { ModelRegistry } from "../../core/registry";
import type { Frequency } from "../../scheduling/frequencies";
import { Scheduler } from "../../scheduler/scheduler";
import { intFlag, stringFlag, UsageError } from "../args";
import type { HrpCronConfig } from "../config";
import { withDatabase, type Command } from "../database";
import { openRegistry } from "../loadConfig";
import { withExistingDatabase } from "../readOnly";
import { renderTable } from "../table";

/** The scheduler's commands: scheduler, job-types, add-job-type. */

export function schedulerFor(
  dataSource: DataSource,
  config: HrpCronConfig,
  registry: ModelRegistry,
  logger = consoleLogger("warn"),
): Scheduler {
  return new Scheduler(dataSource, {
    registry,
    workers: config.workers,
    schedulerEvents: config.schedulerEvents,
    schedulerIntervalMinutes: config.schedulerIntervalMinutes,
    userResolver: config.userResolver,
    logger,
  });
}

export const SCHEDULER_COMMANDS: Record<string, Command> = {
  scheduler: {
    summary: "run only the scheduler (leader-elected); or: scheduler pause|resume|enable|disable|status",
    flags: ["config"],
    async run({ args, config, io }) {
      const action = args.positionals[0];
      const controls: Record<string, { paused?: boolean; enabled?: boolean }> = {
        pause: { paused: true },
        resume: { paused: false },
        enable: { enabled: true },
        disable: { enabled: false },
      };
      if (action !== undefined && action !== "status" && !controls[action])
        throw new UsageError(`unknown scheduler action "${action}"; use pause, resume, enable, disable or status`);
      // `status` only reads; the other actions write, and running the scheduler needs an up-to-date schema.
      return (action === "status" ? withExistingDatabase : withDatabase)(config, async (dataSource) => {
        const scheduler = schedulerFor(dataSource, config, await openRegistry(config), consoleLogger("info"));
        if (action && controls[action]) await scheduler.setControl(controls[action]);
        if (action) {
          const s = await scheduler.status();
          io.out(
            `scheduler: ${s.enabled ? "enabled" : "disabled"}, ${s.paused ? "paused" : "running"}; leader ${s.leaderId ?? "none"} until ${s.leaderUntil?.toISOString() ?? "-"}`,
          );
          return 0;
        }
        await scheduler.sync();
        await scheduler.start();
        io.out(`scheduler ${scheduler.id} running; Ctrl-C stops it`);
        await io.stopRequested;
        await scheduler.stop();
        return 0;
      });
    },
  },

  "job-types": {
    summary: "list Scheduled Job Types with their next run [--stop ID | --start ID]",
    flags: ["config", "stop", "start"],
    async run({ args, config, io }) {
      const stopId = intFlag(args, "stop", 1, 2_147_483_647);
      const startId = intFlag(args, "start", 1, 2_147_483_647);
      const open = stopId === undefined && startId === undefined ? withExistingDatabase : withDatabase; // a plain listing only reads
      return open(config, async (dataSource) => {
        const scheduler = schedulerFor(dataSource, config, await openRegistry(config));
        if (stopId !== undefined) await scheduler.setStopped(stopId, true);
        if (startId !== undefined) await scheduler.setStopped(startId, false);
        const types = await scheduler.listTypes();
        io.out(
          renderTable(
            ["id", "method", "frequency", "cron", "queue", "user", "tz", "stopped", "by", "last run", "next run"],
            types.map((t) => [
              t.id,
              t.method,
              t.frequency,
              t.cronFormat,
              t.queue,
              t.userId,
              t.tz,
              t.stopped ? "yes" : "no",
              t.createdBy,
              t.lastExecution,
              t.nextRunAt,
            ]),
          ),
        );
        return 0;
      });
    },
  },

  "add-job-type": {
    summary:
      'create a Scheduled Job Type: add-job-type METHOD --cron "0 2 * * *" | --frequency Daily [--queue Q] [--user ID] [--tz ZONE]',
    flags: ["config", "cron", "frequency", "queue", "user", "tz"],
    async run({ args, config, io }) {
      if (args.positionals.length !== 1) throw new UsageError(`"add-job-type" takes exactly one METHOD (model.method)`);
      const cron = stringFlag(args, "cron");
      if (cron !== undefined && args.flags.has("frequency"))
        throw new UsageError("pass --cron EXPRESSION or --frequency NAME, not both");
      const frequency = (cron !== undefined ? "Cron" : stringFlag(args, "frequency")) as Frequency | undefined;
      if (!frequency)
        throw new UsageError(
          "pass --cron EXPRESSION or --frequency (All, Hourly, Daily, Weekly, Monthly, Yearly, ... Long)",
        );
      return withDatabase(config, async (dataSource) => {
        const type = await schedulerFor(dataSource, config, await openRegistry(config)).createType({
          method: args.positionals[0],
          frequency,
          cronFormat: cron,
          queue: stringFlag(args, "queue"),
          userId: intFlag(args, "user", 1, 2_147_483_647),
          timeZone: stringFlag(args, "tz"),
        });
        io.out(
          `scheduled job type ${type.id}: ${type.method} (${type.frequency}${type.cronFormat ? ` ${type.cronFormat}` : ""}) on queue ${type.queue}`,
        );
        return 0;
      });
    },
  },
};
