import type { HrpCronJob } from "../../src";
import { enqueuedJobs, runsOf } from "../../src/testing";
import { BACKENDS } from "../helpers";
import { AccountMove, itRunsExample } from "./givens";

/** The examples of docs/testing.md. */
describe.each(BACKENDS)("docs/testing.md on %s", (kind) => {
  itRunsExample(kind, "testing/approve", async ({ values }, db) => {
    const job = values.job as HrpCronJob;
    const approver = values.approver as { id: number };
    const [run] = await runsOf(db.dataSource, { jobId: job.id });
    expect([run.state, run.userId, run.dateStart?.toISOString()]).toEqual([
      "done",
      approver.id,
      "2026-03-02T09:00:30.000Z",
    ]);
    expect(await db.dataSource.manager.find(AccountMove)).toEqual([
      { id: 1, ref: "AM-1", applicationId: 1, createUid: approver.id },
    ]);
  });

  itRunsExample(kind, "testing/recurring", async (_run, db) => {
    const runs = await runsOf(db.dataSource, { method: "hrp.asset.receiving.application.dailyDepreciation" });
    expect(runs.map((r) => [r.state, r.userId])).toEqual([
      ["done", 2],
      ["done", 2],
      ["done", 2],
    ]);
  });

  itRunsExample(kind, "testing/loop-guard", async (_run, db) => {
    // The guard stopped it with one poll still pending; ten ran.
    expect((await enqueuedJobs(db.dataSource, { method: "hrp.demo.poll" })).length).toBe(1);
    expect((await runsOf(db.dataSource, { method: "hrp.demo.poll", state: "done" })).length).toBe(10);
  });

  itRunsExample(kind, "testing/run-job", async ({ values }, db) => {
    const [job] = await enqueuedJobs(db.dataSource, { state: "failed" });
    expect(job.id).toBe((values.early as HrpCronJob).id);
    expect(await db.dataSource.manager.count(AccountMove)).toBe(1); // the failed run's writes rolled back
  });

  itRunsExample(kind, "testing/expect-message");

  itRunsExample(kind, "testing/database");
});
