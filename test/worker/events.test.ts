import { backendFor, Dispatcher, JobQueue, ModelRegistry, type DispatcherEventMap, type JobEnv } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 15: the dispatcher's typed events, emitted once what they report is committed. */
describe.each(BACKENDS)("dispatcher events on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("ev", {
    ok: (_env: JobEnv, n: number) => n * 2,
    boom: () => {
      throw new Error("boom");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  /** Every event of `dispatcher`, in order, as [name, payload]. */
  function record(dispatcher: Dispatcher): Array<[keyof DispatcherEventMap, Record<string, unknown>]> {
    const seen: Array<[keyof DispatcherEventMap, Record<string, unknown>]> = [];
    const names: Array<keyof DispatcherEventMap> = [
      "job:start",
      "job:end",
      "job:success",
      "job:failure",
      "batch:end",
      "worker:start",
      "worker:stop",
      "claims:recovered",
    ];
    for (const name of names) dispatcher.events.on(name, (e) => void seen.push([name, { ...e }]));
    return seen;
  }

  it("tells job start, success and failure, the batch's end; a throwing listener does not disturb the worker", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    const ok = await jobs.enqueue("ev.ok", { args: [21], queue: "short" });
    const bad = await jobs.enqueue("ev.boom", { queue: "short" });
    const logger = memoryLogger();
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger });
    const seen = record(dispatcher);
    const off = dispatcher.events.on("job:end", () => {
      throw new Error("listener bug");
    });
    const results = await dispatcher.runDue();
    off();
    expect(results.map((r) => r.outcome)).toEqual(["done", "failed"]);
    expect(seen.map(([name]) => name)).toEqual([
      "job:start",
      "job:start",
      "job:end",
      "job:success",
      "job:end",
      "job:failure",
      "batch:end",
    ]);
    expect(seen[0][1]).toMatchObject({
      workerId: dispatcher.workerId,
      jobId: ok.id,
      method: "ev.ok",
      queue: "short",
      userId: 1,
      startedAt: expect.any(Date),
    });
    expect(seen[3][1]).toMatchObject({ jobId: ok.id, outcome: "done", queue: "short", durationMs: expect.any(Number) });
    expect(seen[5][1]).toMatchObject({ jobId: bad.id, outcome: "failed", error: expect.stringMatching(/boom/) });
    expect(seen[6][1]).toMatchObject({ queue: "short", runs: 2, done: 1, failed: 1, deferred: 0 });
    expect(logger.lines.filter((l) => /an event listener threw/.test(l))).toHaveLength(2);
  });

  it("tells the worker's start and stop, and claims it recovered from a dead worker", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    const job = await jobs.enqueue("ev.ok", { args: [1] });
    // A claim held by a worker that is gone (no hrp_cron_worker row): recovered when the next worker starts.
    const backend = backendFor(db.dataSource);
    await backend.transaction((m) =>
      backend.execute(
        m,
        `UPDATE hrp_cron_job SET state = 'running', running_worker = ?, running_since = ? WHERE id = ?`,
        ["gone-host:1:dead", backend.toDbDate(new Date(Date.now() - 3_600_000)), job.id],
      ),
    );
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), pollIntervalMs: 50 });
    const seen = record(dispatcher);
    await dispatcher.start();
    for (let i = 0; i < 200 && !seen.some(([name]) => name === "job:success"); i++)
      await new Promise((r) => setTimeout(r, 25));
    await dispatcher.stop();
    const names = seen.map(([name]) => name);
    expect(names[0]).toBe("claims:recovered");
    expect(seen[0][1]).toEqual({ workerId: dispatcher.workerId, recovered: 1 });
    expect(names).toContain("worker:start");
    expect(names.indexOf("worker:start")).toBeLessThan(names.indexOf("job:success"));
    expect(names.at(-1)).toBe("worker:stop");
  });
});
