import { JobAdmin, JobQueue, ModelRegistry, InvalidStateError, ValidationError } from "../../src";
import { BACKENDS, count, openTestDb, type TestDb } from "../helpers";
import { eventually, spawnWorker, stopAll, type WorkerProcess } from "../processes";

/** Pausing a queue holds for every worker process; resuming lets them drain it, each job once. */
describe.each(BACKENDS)("a paused queue on %s", (kind) => {
  let db: TestDb;
  let workers: WorkerProcess[] = [];
  const registry = new ModelRegistry().register("test.model", { effect() {} });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    await stopAll(workers);
    workers = [];
    await db.close();
  });

  async function enqueue(queue: string, keys: string[]): Promise<void> {
    const jobs = new JobQueue(db.dataSource, { registry });
    await jobs.enqueueBulk(keys.map((key) => ({ method: "test.model.effect", options: { args: [key, 0], queue } })));
  }
  const effects = (prefix: string) => count(db, "test_effect", "effect_key LIKE ?", [`${prefix}%`]);

  it("is claimed by no worker process while paused, and drained once each after resume", async () => {
    const admin = new JobAdmin(db.dataSource);
    await admin.pauseQueue("long", { by: "li.na", reason: "month-end close" });
    workers = [1, 2, 3].map((i) => spawnWorker(db, { HRP_TEST_APP_NAME: `pause${i}`, HRP_TEST_POLL_MS: "50" }));
    await Promise.all(workers.map((w) => w.waitFor(/ready/)));
    const keys = (prefix: string) => Array.from({ length: 30 }, (_, i) => `${prefix}${i}`);
    await enqueue("long", keys("long-"));
    await enqueue("default", keys("default-"));
    // The default queue drains while every long job waits (each worker polled many times meanwhile).
    await eventually(
      async () => (await effects("default-")) === 30,
      60_000,
      async () => `default ${await effects("default-")}`,
    );
    for (const w of workers) await w.waitFor(/ready/); // still up
    expect(await effects("long-")).toBe(0);
    expect(await count(db, "hrp_cron_job", "queue = 'long' AND state = 'pending'")).toBe(30);
    const [stats] = (await admin.queuePauses()).filter((p) => p.paused);
    expect([stats.queue, stats.changedBy, stats.reason]).toEqual(["long", "li.na", "month-end close"]);

    await admin.resumeQueue("long", { by: "li.na" });
    await eventually(
      async () => (await effects("long-")) === 30,
      60_000,
      async () => `long ${await effects("long-")}`,
    );
    expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(60); // each once: effect_key is unique
    expect((await admin.listActions()).map((a) => [a.action, a.targetType, a.filter, a.actor])).toEqual([
      ["resume", "queue", { queue: "long" }, "li.na"],
      ["pause", "queue", { queue: "long" }, "li.na"],
    ]);
  }, 180_000);

  it("refuses a pause of a paused queue, a resume of a running one and a bad name, writing nothing", async () => {
    const admin = new JobAdmin(db.dataSource);
    await expect(admin.resumeQueue("long")).rejects.toBeInstanceOf(InvalidStateError);
    await admin.pauseQueue("long");
    await expect(admin.pauseQueue("long")).rejects.toThrow(/queue long is already paused/);
    for (const bad of ["", "x".repeat(300), 42, null])
      await expect(admin.pauseQueue(bad as never)).rejects.toBeInstanceOf(ValidationError);
    expect((await admin.listActions()).map((a) => a.action)).toEqual(["pause"]);
  });
});
