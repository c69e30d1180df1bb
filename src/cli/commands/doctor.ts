import { doctorReport } from "../doctor";
import { openRunPrint, type Command } from "../database";
import { schedulerFor } from "./scheduler";

/** `hrp-cron doctor`: the health report (see `cli/doctor.ts`). Only reads. */

export const DOCTOR_COMMANDS: Record<string, Command> = {
  doctor: {
    summary:
      "health: scheduler state and leader, workers and heartbeats, pending jobs per queue and method, stuck runs, failing crons",
    flags: ["config"],
    async run(ctx) {
      return openRunPrint(ctx, "read", async ({ dataSource, registry }) =>
        doctorReport(dataSource, schedulerFor(dataSource, ctx.config, registry)),
      );
    },
  },
};
