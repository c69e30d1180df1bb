import { Dispatcher, JobQueue, ModelRegistry, ValidationError } from "../../src";
import { BACKENDS, fixedClock, openTestDb, type TestDb } from "../helpers";

/** `Dispatcher.runDue({ maxRuns })` and `Dispatcher.runJob(jobId)`: the manual runs `hrp-cron/testing` builds on. */
describe.each(BACKENDS)("manual runs on %s", (kind) => {
  let db: TestDb;
  const ran: string[] = [];
  const registry = new ModelRegistry().register("m", {
    note(_env: unknown, key: string) {
      ran.push(key);
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    ran.length = 0;
  });
  afterEach(() => db.close());

  it("runDue makes at most maxRuns runs, across batches, and leaves the rest due", async () => {
    const clock = fixedClock("2026-03-02T09:00:00Z");
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    for (let i = 0; i < 7; i++) await queue.enqueue("m.note", { args: [`job ${i}`] });
    const dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now, batchSize: 2 });
    expect((await dispatcher.runDue({ maxRuns: 3 })).map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    expect(ran).toEqual(["job 0", "job 1", "job 2"]);
    expect((await queue.stats()).find((s) => s.queue === "default")?.waiting).toBe(4);
    expect(await dispatcher.runDue()).toHaveLength(4);
    await expect(dispatcher.runDue({ maxRuns: 0 })).rejects.toThrow(ValidationError);
    await expect(dispatcher.runDue({ max: 1 } as never)).rejects.toThrow(/unknown option max/);
  });

  it("runJob runs a job that is not due yet, and checks its id", async () => {
    const clock = fixedClock("2026-03-02T09:00:00Z");
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const job = await queue.enqueue("m.note", { args: ["later"], delayMs: 3_600_000 });
    const dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now });
    expect(await dispatcher.runDue()).toEqual([]);
    expect((await dispatcher.runJob(job.id)).outcome).toBe("done");
    expect(ran).toEqual(["later"]);
    await expect(dispatcher.runJob(0)).rejects.toThrow(ValidationError);
  });
});
