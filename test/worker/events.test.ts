import {
  backendFor,
  Dispatcher,
  JobQueue,
  ModelRegistry,
  RetryableJobError,
  type DispatcherEventMap,
  type JobEnv,
} from "../../src";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

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
      "job:retry",
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
    expect(seen[0][1]).toEqual({ workerId: dispatcher.workerId, recovered: 1, released: 1, failed: 0 });
    expect(names).toContain("worker:start");
    expect(names.indexOf("worker:start")).toBeLessThan(names.indexOf("job:success"));
    expect(names.at(-1)).toBe("worker:stop");
  });

  it("tells a failed run of a job with retries left by job:retry (when, after which backoff, which try), and only its last failure by job:failure", async () => {
    const clock = fixedClock("2026-05-04T10:00:00Z");
    const flaky = new ModelRegistry().register("ev", {
      boom: () => {
        throw new Error("boom");
      },
      later: () => {
        throw new RetryableJobError("not yet", 5_000);
      },
    });
    const jobs = new JobQueue(db.dataSource, { registry: flaky, now: clock.now });
    const job = await jobs.enqueue("ev.boom", { maxRetries: 1, retryBackoffMs: [60_000] });
    const asked = await jobs.enqueue("ev.later", { maxRetries: 1 });
    const dispatcher = new Dispatcher(db.dataSource, flaky, { logger: memoryLogger(), now: clock.now });
    const seen = record(dispatcher);

    const first = await dispatcher.runDue();
    expect(first.map((r) => [r.jobId, r.outcome, r.retry?.attempt])).toEqual([
      [job.id, "failed", 1],
      [asked.id, "failed", 1],
    ]);
    const end = new Date("2026-05-04T10:00:00Z").getTime();
    expect(seen.map(([name]) => name)).toEqual([
      "job:start",
      "job:start",
      "job:end",
      "job:retry",
      "job:end",
      "job:retry",
      "batch:end",
    ]);
    expect(seen[3][1]).toMatchObject({
      jobId: job.id,
      outcome: "failed",
      queue: "default",
      error: "boom",
      retry: { attempt: 1, at: new Date(end + 60_000), delayMs: 60_000 },
    });
    // A RetryableJobError's own delay decides the backoff.
    expect(seen[5][1]).toMatchObject({
      jobId: asked.id,
      retry: { attempt: 1, at: new Date(end + 5_000), delayMs: 5_000 },
    });

    seen.length = 0;
    clock.advance(60_000);
    const second = await dispatcher.runDue();
    // (The job due first, after its 5 s, runs first.)
    expect(second.map((r) => [r.jobId, r.outcome, r.retry])).toEqual([
      [asked.id, "failed", undefined],
      [job.id, "failed", undefined],
    ]);
    expect(seen.filter(([name]) => name.startsWith("job:") && name !== "job:start").map(([name]) => name)).toEqual([
      "job:end",
      "job:failure",
      "job:end",
      "job:failure",
    ]);
    expect(seen.filter(([name]) => name === "job:failure").map(([, e]) => [e.jobId, e.error])).toEqual([
      [asked.id, "not yet"],
      [job.id, "boom"],
    ]);
  });

  it("tells a job failed by recovery at its crash limit by job:failure, and counts it in claims:recovered", async () => {
    const workers = { fragile: { maxCrashes: 1 } };
    const jobs = new JobQueue(db.dataSource, { registry, workers });
    const job = await jobs.enqueue("ev.ok", { args: [1], queue: "fragile" });
    // Its worker (registered, so the death can be pinned on its lone run) died during that run.
    const backend = backendFor(db.dataSource);
    const old = backend.toDbDate(new Date(Date.now() - 3_600_000));
    const ghost = "ghost-host:4242:dead01";
    await backend.transaction(async (m) => {
      await backend.execute(
        m,
        `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at) VALUES (?, 'ghost-host', 4242, ?, ?)`,
        [ghost, old, old],
      );
      await backend.execute(
        m,
        `UPDATE hrp_cron_job SET state = 'running', running_worker = ?, running_since = ?, suspect = TRUE, suspect_started = TRUE WHERE id = ?`,
        [ghost, old, job.id],
      );
    });
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), workers });
    const seen = record(dispatcher);
    expect(await dispatcher.runDue()).toEqual([]);
    expect(seen.map(([name]) => name)).toEqual(["job:failure", "claims:recovered"]);
    expect(seen[0][1]).toMatchObject({
      workerId: dispatcher.workerId,
      jobId: job.id,
      queue: "fragile",
      outcome: "failed",
      durationMs: 0,
      error: expect.stringMatching(/The worker died 1 time while running this job/),
    });
    expect(seen[1][1]).toEqual({ workerId: dispatcher.workerId, recovered: 1, released: 0, failed: 1 });
  });
});
