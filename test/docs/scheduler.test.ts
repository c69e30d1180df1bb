import type { Scheduler } from "../../src";
import { HrpCronJobService } from "../../src";
import { BACKENDS } from "../helpers";
import { itRunsExample } from "./givens";

/** The snippets of docs/scheduler.md (its config file is run by operating.test.ts, through the CLI). */
describe.each(BACKENDS)("docs/scheduler.md on %s", (kind) => {
  itRunsExample(kind, "scheduler/setup", async ({ values }) => {
    const types = await (values.scheduler as Scheduler).listTypes();
    expect(types.map((t) => [t.createdBy, t.userId, t.cronFormat])).toEqual([["app", 1, null], ["app", 1, null], ["app", 1, "0 2 * * *"]]);
  });

  itRunsExample(kind, "scheduler/types", async ({ values }, db) => {
    const scheduler = values.scheduler as Scheduler;
    const [job] = await new HrpCronJobService(db.dataSource).listJobs();
    expect([job.name, job.queue, job.state, job.userId]).toEqual(["hrp.report.monthly (Cron)", "default", "done", 1]);
    // The next tick closes the run's log row.
    await scheduler.tick();
    const rows = await db.dataSource.query("SELECT status FROM scheduled_job_log");
    expect(rows.map((r: { status: string }) => r.status)).toEqual(["Complete"]);
  });
});
