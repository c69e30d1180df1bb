import { Dispatcher, JobAdmin, JobQueue, ModelRegistry } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * A paused queue in a polling dispatcher: the search for due bands skips it,
 * so neither a plain queue, a queue with maxConcurrency nor keyed jobs are
 * claimed; other queues are served meanwhile. (The claim statements check
 * it too: the wake-up path, which claims a named band without that search,
 * is covered by test/processes/queuePause.test.ts on PostgreSQL.)
 */
describe.each(BACKENDS)("claims of a paused queue on %s", (kind) => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  it("claims nothing of it, plain, limited or keyed, serves the others, and claims it again once resumed", async () => {
    const registry = new ModelRegistry().register("app.work", { async run() {} });
    const workers = { limited: { maxConcurrency: 2 }, plain: {} };
    const queue = new JobQueue(db.dataSource, { registry, workers });
    for (const q of ["plain", "limited"]) {
      await queue.enqueue("app.work.run", { queue: q });
      await queue.enqueue("app.work.run", { queue: q, concurrencyKey: `${q}-key`, concurrencyLimit: 1 });
    }
    await queue.enqueue("app.work.run", { queue: "default" });
    const admin = new JobAdmin(db.dataSource);
    await admin.pauseQueue("plain");
    await admin.pauseQueue("limited");
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), workers });
    const first = await dispatcher.runDue();
    expect(first.map((r) => r.outcome)).toEqual(["done"]); // only the default queue's job
    expect((await admin.listJobs({ state: "pending" })).map((j) => j.queue).sort()).toEqual([
      "limited",
      "limited",
      "plain",
      "plain",
    ]);
    await admin.resumeQueue("plain");
    await admin.resumeQueue("limited");
    const second = await dispatcher.runDue();
    expect(second.map((r) => r.outcome)).toEqual(["done", "done", "done", "done"]);
  });
});
