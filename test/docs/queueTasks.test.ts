import type { HrpCronJob, JobQueue } from "../../src";
import { HrpCronJobService, JobAdmin } from "../../src";
import { BACKENDS } from "../helpers";
import { itRunsExample } from "./givens";

/** The examples of docs/queue-tasks.md. */
describe.each(BACKENDS)("docs/queue-tasks.md on %s", (kind) => {
  itRunsExample(kind, "queue-tasks/setup", async (_run, db) => {
    const [job] = await new HrpCronJobService(db.dataSource).listJobs();
    expect([job.queue, job.state, job.userId, job.args]).toEqual(["short", "done", 1, JSON.stringify([{ month: "2026-11" }])]);
  });

  itRunsExample(kind, "queue-tasks/enqueue", async ({ values }, db) => {
    expect(values.total).toBe(3);
    const jobs = (await new HrpCronJobService(db.dataSource).listJobs()).reverse().slice(1); // after the setup's job
    expect(jobs.map((j: HrpCronJob) => [j.name, j.queue, j.args, j.state])).toEqual([
      ["hrp.report.build", "reports", JSON.stringify([{ month: "2026-12" }]), "pending"],
      ["hrp.asset.post(42)", "long", JSON.stringify([42, { note: "received" }]), "pending"],
      ["hrp.asset.post", "default", JSON.stringify([43, {}]), "pending"],
      ["hrp.asset.post", "default", JSON.stringify([46, {}]), "pending"],
      ["hrp.asset.post", "default", JSON.stringify([44, {}]), "pending"],
      ["hrp.asset.post", "default", JSON.stringify([45, {}]), "pending"],
    ]);
    expect([jobs[0].maxRetries, jobs[0].jobKey, jobs[0].timeoutMs]).toEqual([3, "report:2026-12", 3_600_000]);
    // delayMs: due 30 s after it was created
    expect(jobs[3].nextcall!.getTime() - jobs[3].dateCreated.getTime()).toBe(30_000);
    // deduplicate: a second enqueue with the same jobId is skipped while the first is pending
    const queue = values.queue as JobQueue;
    expect(await queue.enqueue("hrp.report.build", { queue: "reports", kwargs: { month: "2026-12" }, jobId: "report:2026-12", deduplicate: true })).toBeNull();
  });

  itRunsExample(kind, "queue-tasks/typed", async (_run, db) => {
    const [job] = await new HrpCronJobService(db.dataSource).listJobs({ model: "hrp.report", function: "summarize" });
    expect([job.state, job.result]).toEqual(["done", JSON.stringify({ month: "2026-12", rows: 3, by: 1 })]);
  });

  itRunsExample(kind, "queue-tasks/progress", async (_run, db) => {
    const [job] = await new HrpCronJobService(db.dataSource).listJobs({ model: "hrp.close" });
    expect([job.progressDone, job.progressTotal, job.progressMessage]).toEqual([3, 3, "ward C closed"]);
  });

  itRunsExample(kind, "queue-tasks/actions", async (_run, db) => {
    const [action] = await new JobAdmin(db.dataSource).listActions();
    expect([action.action, action.actor, action.source]).toEqual(["cancel", "li.na", "api"]);
  });

  itRunsExample(kind, "queue-tasks/worker", async (_run, db) => {
    const jobs = await new HrpCronJobService(db.dataSource).listJobs();
    expect(jobs).toHaveLength(2); // ran by the started worker, or left pending for the next one: never lost
    expect(jobs.every((j) => j.state === "done" || j.state === "pending")).toBe(true);
  });

  itRunsExample(kind, "queue-tasks/retry", async ({ values }, db) => {
    expect(values.calls).toBe(2);
    const [job] = await new HrpCronJobService(db.dataSource).listJobs({ function: "pull" });
    expect([job.state, job.attempts, job.userId]).toEqual(["done", 2, 1]);
  });

  itRunsExample(kind, "queue-tasks/limits", async (_run, db) => {
    const [job] = await new HrpCronJobService(db.dataSource).listJobs({ model: "account.move" });
    expect([job.concurrencyKey, job.concurrencyLimit, job.state]).toEqual(["account-move:company-7", 1, "pending"]);
  });

  itRunsExample(kind, "queue-tasks/purge", async (_run, db) => {
    expect(await new HrpCronJobService(db.dataSource).listJobs()).toEqual([]);
  });
});
