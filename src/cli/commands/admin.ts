import { DEFAULTS } from "../../core/options";
import { idArg, intFlag } from "../args";
import { openRunPrint, type Command, type CommandContext } from "../database";

/** Operators' decisions: retry, cancel or stop a job, retention, (de)activate a cron. These commands write. */

const DAY_MS = 86_400_000;

export const ADMIN_COMMANDS: Record<string, Command> = {
  retry: {
    summary: "put failed or cancelled job ID back in the queue, due now",
    flags: ["config"],
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.retryJob(id);
        return `job ${job.id} is ${job.state}, due ${job.dateCreated.toISOString()}`;
      });
    },
  },

  cancel: {
    summary: "cancel pending or failed job ID so it never runs",
    flags: ["config"],
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const job = await admin.cancelJob(id);
        return `job ${job.id} is ${job.state}`;
      });
    },
  },

  stop: {
    summary: "stop running job JOB_ID: its worker aborts it, rolls it back, marks it stopped",
    flags: ["config"],
    async run(ctx) {
      const id = idArg(ctx.args, "JOB_ID");
      return openRunPrint(ctx, "write", async ({ admin }) => {
        await admin.stopJob(id);
        return `stop requested for job ${id}; its worker stops it at its next heartbeat`;
      });
    },
  },

  purge: {
    summary: `retention: delete finished jobs older than --finished-days (${DEFAULTS.purgeFinishedOlderThanMs / DAY_MS}) and failed ones older than --failed-days (${DEFAULTS.purgeFailedOlderThanMs / DAY_MS})`,
    flags: ["config", "finished-days", "failed-days"],
    async run(ctx) {
      const { args } = ctx;
      const finished = intFlag(args, "finished-days", 0, 36_500);
      const failed = intFlag(args, "failed-days", 0, 36_500);
      return openRunPrint(ctx, "write", async ({ admin }) => {
        const n = await admin.purge({
          finishedOlderThanMs: finished === undefined ? undefined : finished * DAY_MS,
          failedOlderThanMs: failed === undefined ? undefined : failed * DAY_MS,
        });
        return `deleted ${n} job(s)`;
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

async function setActive(ctx: CommandContext, active: boolean): Promise<number> {
  const id = idArg(ctx.args, "CRON_ID");
  return openRunPrint(ctx, "write", async ({ service }) => {
    const cron = await service.setActive(id, active);
    return `cron ${cron.id} is ${cron.active ? "active" : "inactive"}`;
  });
}
