import type { DataSource } from "typeorm";
import { consoleLogger } from "../../core/logger";
import type { ModelRegistry } from "../../core/registry";
import type { Frequency } from "../../scheduling/frequencies";
import { Scheduler } from "../../scheduler/scheduler";
import { intFlag, noPositionals, stringFlag, UsageError } from "../args";
import type { HrpCronConfig } from "../config";
import { withDatabase, type Command } from "../database";
import { openRegistry } from "../loadConfig";
import { withExistingDatabase } from "../readOnly";
import { renderTable } from "../table";
import { JobAdmin } from "../../api/jobAdmin";
import { loginOf } from "./shared";
import { cliOperator, OPERATOR_OPTIONS } from "../operator";

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
    args: "[pause|resume|enable|disable|status]",
    description:
      "Without an action it runs the Frappe-style scheduler in this process until Ctrl-C: one leader among all\n" +
      "processes enqueues due Scheduled Job Types. pause/resume stop and restart enqueueing everywhere;\n" +
      "disable/enable switch it off and on (as Frappe's scheduler disable); status prints its state.\n" +
      "pause and disable need --reason; every change is recorded in the operator action log.",
    options: OPERATOR_OPTIONS,
    async run({ args, config, io }) {
      if (args.positionals.length > 1)
        throw new UsageError(`"scheduler" takes at most one action, got "${args.positionals.join(" ")}"`, "scheduler");
      const action = args.positionals[0];
      const controls: Record<string, { paused?: boolean; enabled?: boolean }> = {
        pause: { paused: true },
        resume: { paused: false },
        enable: { enabled: true },
        disable: { enabled: false },
      };
      if (action !== undefined && action !== "status" && !controls[action])
        throw new UsageError(
          `unknown scheduler action "${action}"; use pause, resume, enable, disable or status`,
          "scheduler",
        );
      // `status` only reads; the other actions write, and running the scheduler needs an up-to-date schema.
      return (action === "status" ? withExistingDatabase : withDatabase)(config, async (dataSource) => {
        const scheduler = schedulerFor(dataSource, config, await openRegistry(config), consoleLogger("info"));
        if (action && controls[action])
          await scheduler.setControl(controls[action], cliOperator(args, action === "pause" || action === "disable"));
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
    summary: "list Scheduled Job Types with their next run; stop or start one",
    options: {
      stop: { type: "string", value: "ID", help: "stop Scheduled Job Type ID first (it is no longer enqueued)" },
      start: { type: "string", value: "ID", help: "start Scheduled Job Type ID again first" },
      ...OPERATOR_OPTIONS,
    },
    async run({ args, config, io }) {
      noPositionals(args);
      const stopId = intFlag(args, "stop", 1, 2_147_483_647);
      const startId = intFlag(args, "start", 1, 2_147_483_647);
      const operator = stopId === undefined && startId === undefined ? null : cliOperator(args, stopId !== undefined);
      const open = operator === null ? withExistingDatabase : withDatabase; // a plain listing only reads
      return open(config, async (dataSource) => {
        const scheduler = schedulerFor(dataSource, config, await openRegistry(config));
        if (stopId !== undefined) await scheduler.setStopped(stopId, true, operator!);
        if (startId !== undefined) await scheduler.setStopped(startId, false, operator!);
        const types = await scheduler.listTypes();
        const admin = new JobAdmin(dataSource, { userResolver: config.userResolver });
        const logins = await admin.userLogins(types.map((t) => t.userId));
        io.out(
          renderTable(
            ["id", "method", "frequency", "cron", "queue", "user", "tz", "stopped", "by", "last run", "next run"],
            types.map((t) => [
              t.id,
              t.method,
              t.frequency,
              t.cronFormat,
              t.queue,
              loginOf(logins, t.userId),
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
    summary: "create a Scheduled Job Type: a method enqueued on a cron expression or a Frappe frequency",
    args: "METHOD",
    options: {
      cron: { type: "string", value: "EXPR", help: 'a cron expression ("0 2 * * *")' },
      frequency: {
        type: "string",
        value: "NAME",
        help: "or a Frappe frequency: All, Hourly, Daily, Weekly, Monthly, Yearly, ... Long",
      },
      queue: { type: "string", value: "NAME", help: "the queue its jobs go to" },
      user: { type: "string", value: "ID", help: "the user its jobs run as" },
      tz: { type: "string", value: "ZONE", help: "IANA time zone of the cron expression (Asia/Shanghai)" },
      ...OPERATOR_OPTIONS,
    },
    examples: ['hrp-cron add-job-type hrp.report.daily --cron "0 2 * * *" --tz Asia/Shanghai --user 2'],
    async run({ args, config, io }) {
      if (args.positionals.length !== 1)
        throw new UsageError(`"add-job-type" takes exactly one METHOD (model.method)`, "add-job-type");
      const cron = stringFlag(args, "cron");
      if (cron !== undefined && args.flags.has("frequency"))
        throw new UsageError("pass --cron EXPRESSION or --frequency NAME, not both", "add-job-type");
      const frequency = (cron !== undefined ? "Cron" : stringFlag(args, "frequency")) as Frequency | undefined;
      if (!frequency)
        throw new UsageError(
          "pass --cron EXPRESSION or --frequency (All, Hourly, Daily, Weekly, Monthly, Yearly, ... Long)",
          "add-job-type",
        );
      return withDatabase(config, async (dataSource) => {
        const scheduler = schedulerFor(dataSource, config, await openRegistry(config));
        const type = await scheduler.createType(
          {
            method: args.positionals[0],
            frequency,
            cronFormat: cron,
            queue: stringFlag(args, "queue"),
            userId: intFlag(args, "user", 1, 2_147_483_647),
            timeZone: stringFlag(args, "tz"),
          },
          cliOperator(args, false),
        );
        io.out(
          `scheduled job type ${type.id}: ${type.method} (${type.frequency}${type.cronFormat ? ` ${type.cronFormat}` : ""}) on queue ${type.queue}`,
        );
        return 0;
      });
    },
  },
};
