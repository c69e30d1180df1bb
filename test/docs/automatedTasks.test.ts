import type { HrpCronJob, HrpCronJobService, IrCron } from "../../src";
import { BACKENDS } from "../helpers";
import { Application, itRunsExample } from "./givens";

/** The examples of docs/automated-tasks.md. */
describe.each(BACKENDS)("docs/automated-tasks.md on %s", (kind) => {
  itRunsExample(kind, "automated-tasks/setup", async ({ values }) => {
    const service = values.service as HrpCronJobService;
    const [run] = await service.listRuns({ jobId: (values.job as HrpCronJob).id });
    expect([run.state, run.userId]).toEqual(["done", 1]);
  });

  itRunsExample(kind, "automated-tasks/join-transaction", async ({ values }, db) => {
    const service = values.service as HrpCronJobService;
    expect((await db.dataSource.manager.findOneByOrFail(Application, { id: 1 })).state).toBe("approved");
    const [scheduled] = await service.listJobs({ state: "pending" });
    expect(scheduled.args).toBe("[[1]]");
    expect(scheduled.dateCreated.getTime()).toBe((values.runAt as Date).getTime());
  });

  itRunsExample(kind, "automated-tasks/bulk", async ({ values }) => {
    const service = values.service as HrpCronJobService;
    const jobs = values.scheduled as HrpCronJob[];
    for (const job of jobs) expect((await service.getJobCron(job.id)).numbercall).toBe(0); // each ran once
    expect((await service.listJobs({ state: "done" })).map((j) => j.id).sort((a, b) => a - b)).toEqual([
      (values.job as HrpCronJob).id,
      ...jobs.map((j) => j.id),
    ]);
  });

  itRunsExample(kind, "automated-tasks/decorators");

  itRunsExample(kind, "automated-tasks/user-resolver", async ({ values }) => {
    const [job] = await (values.service as HrpCronJobService).listJobs({ userId: 42 });
    expect([job.state, job.userKey]).toEqual(["done", "8d1f6c1e-staff-42"]);
  });

  itRunsExample(kind, "automated-tasks/recurring", async ({ values }) => {
    const daily = values.daily as IrCron;
    expect([daily.cronExpression, daily.tz, daily.userId, daily.numbercall]).toEqual(["0 2 * * *", null, 2, -1]);
    expect(daily.nextcall.getUTCHours()).toBe(18); // 02:00 in Shanghai
    const sync = values.sync as IrCron;
    expect([sync.intervalType, sync.intervalNumber, sync.numbercall, sync.doall, sync.nextcall.toISOString()]).toEqual([
      "work_days", 2, 10, true, "2026-12-01T06:00:00.000Z",
    ]);
  });

  itRunsExample(kind, "automated-tasks/dst");

  itRunsExample(kind, "automated-tasks/failure", async ({ values }) => {
    const runs = await (values.service as HrpCronJobService).listRuns({ jobId: (values.empty as HrpCronJob).id });
    expect(runs.map((r) => r.state)).toEqual(["failed"]);
  });

  itRunsExample(kind, "automated-tasks/more-work", async ({ values }) => {
    const crons = await (values.service as HrpCronJobService).listCrons();
    const mail = crons.find((c) => c.model === "hrp.mail")!;
    expect(mail.active).toBe(true);
    expect(mail.lastcall).not.toBeNull();
    expect(mail.nextcall.getTime()).toBeGreaterThan(Date.now()); // back on its hourly schedule
  });
});
