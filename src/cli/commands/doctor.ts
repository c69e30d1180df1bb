import { doctorData, renderDoctor } from "../doctor";
import { noPositionals } from "../args";
import { openRunPrint, output, type Command } from "../database";
import { schedulerFor } from "./scheduler";

/** `hrp-cron doctor`: the health report (see `cli/doctor.ts`). Only reads. */

export const DOCTOR_COMMANDS: Record<string, Command> = {
  doctor: {
    summary: "health: scheduler, workers, pending and stuck jobs, failing crons and job types",
    description:
      'One screen answering "is background work healthy?": the scheduler\'s state, leader and last tick;\n' +
      "workers online and their heartbeats; pending jobs per queue and method; methods no live worker serves;\n" +
      "runs past their timeout or whose worker is gone; crons and Scheduled Job Types that keep failing.",
    options: {},
    json: true,
    async run(ctx) {
      noPositionals(ctx.args);
      return openRunPrint(ctx, "read", async ({ dataSource, registry }) =>
        output(ctx, await doctorData(dataSource, schedulerFor(dataSource, ctx.config, registry)), renderDoctor),
      );
    },
  },
};
