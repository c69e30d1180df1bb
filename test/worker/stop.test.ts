import { Dispatcher, HrpCronJobService, ModelRegistry, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Graceful stop: running jobs get a grace period, then are released — never failed, never lost. */
describe.each(BACKENDS)("Dispatcher.stop on %s", (kind) => {
  let db: TestDb;
  let started: () => void;
  let startedP: Promise<void>;
  let finishIgnoring: () => void;
  let registry: ModelRegistry;
  let service: HrpCronJobService;

  beforeEach(async () => {
    db = await openTestDb(kind);
    startedP = new Promise((r) => (started = r));
    const ignoring = new Promise<void>((r) => (finishIgnoring = r));
    registry = new ModelRegistry().register("test.model", {
      async honours(env: JobEnv, key: string) {
        started();
        // Waits for work that never comes, but gives up when the worker stops.
        await new Promise((_, reject) => env.signal.addEventListener("abort", () => reject(env.signal.reason)));
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: "honours" });
      },
      async quick(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: "quick" });
      },
      async ignores(env: JobEnv, key: string) {
        started();
        await ignoring; // deaf to env.signal
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: env.workerId });
      },
    });
    service = new HrpCronJobService(db.dataSource, { registry });
  });
  afterEach(async () => {
    finishIgnoring();
    await db.close();
  });

  it("a job still running after the grace period is rolled back and released, not failed, and runs later", async () => {
    const job = await service.runByCron("Long", "test.model", "honours", ["h1"]);
    const worker = new Dispatcher(db.dataSource, registry, {
      gracefulStopMs: 100,
      pollIntervalMs: 50,
      logger: memoryLogger(),
    });
    await worker.start();
    await startedP;
    await worker.stop();

    expect((await service.getJob(job.id)).state).toBe("pending");
    expect(await countClaims(db)).toBe(0);
    expect(await count(db, "hrp_cron_run_log", "state = 'interrupted'")).toBe(1);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(0);
    expect(await count(db, "test_effect")).toBe(0);

    // Another worker takes it at once (no heartbeat timeout to wait for).
    registry.register("test.model", {
      async honours(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: "rerun" });
      },
    });
    const next = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
    expect((await next.runDue()).map((r) => r.outcome)).toEqual(["done"]);
    expect((await service.getJob(job.id)).state).toBe("done");
  });

  it("unstarted claims are handed back when stopping", async () => {
    for (let i = 0; i < 3; i++)
      await service.runByCron(`Q${i}`, "test.model", i === 0 ? "honours" : "quick", [`q${i}`]);
    const worker = new Dispatcher(db.dataSource, registry, {
      gracefulStopMs: 50,
      batchSize: 10,
      logger: memoryLogger(),
    });
    await worker.start();
    await startedP;
    await worker.stop();
    expect(await countClaims(db)).toBe(0);
    expect(await count(db, "hrp_cron_job", "state = 'pending'")).toBe(3);
  });

  it("with several slots, claims taken ahead are handed back on stop too", async () => {
    for (let i = 0; i < 6; i++) await service.runByCron(`B${i}`, "test.model", "honours", [`b${i}`]);
    const worker = new Dispatcher(db.dataSource, registry, {
      gracefulStopMs: 50,
      concurrency: 2,
      logger: memoryLogger(),
    });
    await worker.start();
    try {
      await startedP;
      for (let i = 0; i < 100 && (await countClaims(db)) < 4; i++) await new Promise((r) => setTimeout(r, 10));
      // No job has finished yet, so the worker sizes claims for slow jobs: one per slot and one
      // round ahead: two running + two claimed ahead.
      expect(await countClaims(db)).toBe(4);
    } finally {
      await worker.stop();
    }
    expect(await countClaims(db)).toBe(0);
    expect(await count(db, "hrp_cron_job", "state = 'pending'")).toBe(6);
    expect(await count(db, "hrp_cron_run_log", "state = 'interrupted'")).toBeGreaterThanOrEqual(1); // the started ones (SQLite runs them one at a time)
  });

  if (kind === "postgres") {
    it("a method that ignores the stop signal is abandoned: stop() returns, another worker recovers it, the zombie cannot commit", async () => {
      const job = await service.runByCron("Deaf", "test.model", "ignores", ["deaf"]);
      const worker = new Dispatcher(db.dataSource, registry, {
        gracefulStopMs: 50,
        abandonAfterAbortMs: 100,
        logger: memoryLogger(),
      });
      await worker.start();
      await startedP;
      await worker.stop(); // resolves although the method is still running
      expect(await count(db, "hrp_cron_worker")).toBe(0);

      // Another worker sees the claim of an unregistered worker and recovers it at once.
      registry.register("test.model", {
        async ignores(env: JobEnv, key: string) {
          await env.manager.insert(TestEffect, { key, uid: env.uid, note: "rescuer" });
        },
      });
      const rescuer = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
      expect((await rescuer.runDue()).map((r) => r.outcome)).toEqual(["done"]);

      finishIgnoring(); // the zombie now tries to insert the same key and commit
      await new Promise((r) => setTimeout(r, 300));
      expect(await db.dataSource.manager.find(TestEffect)).toMatchObject([{ key: "deaf", note: "rescuer" }]);
      expect((await service.getJob(job.id)).state).toBe("done");
      expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(1);
    });
  }
});
