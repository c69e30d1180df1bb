import { DataSource } from "typeorm";
import {
  DatabaseBusyError,
  DatabaseUnavailableError,
  Dispatcher,
  JobQueue,
  ModelRegistry,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** The busy timeout of both DataSources (SQLite); the event loop must never stall for anything near it. */
const BUSY_TIMEOUT_MS = 10_000;

/** Records the longest gap between ticks of a 10 ms interval: how long the event loop was blocked. */
function loopMonitor() {
  let last = Date.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 10);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(maxGapMs, Date.now() - last);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An application's DataSource and an embedded worker's DataSource on one
 * database, in one process (item 12 of issue 12). On SQLite better-sqlite3
 * waits for the file's write lock synchronously: a BEGIN that waited inside
 * SQLite's busy handler froze the whole process — including the transaction
 * holding the lock, which could then never finish — for the busy timeout.
 */
describe.each(BACKENDS)("two DataSources on one database in one process (%s)", (kind) => {
  let db: TestDb;
  let worker: DataSource;
  let registry: ModelRegistry;
  let jobStarted: () => void;
  let started: Promise<void>;

  beforeEach(async () => {
    db = await openTestDb(kind);
    worker = new DataSource({
      ...db.options,
      ...(kind === "sqlite" ? { timeout: BUSY_TIMEOUT_MS } : {}),
    } as typeof db.options);
    await worker.initialize();
    started = new Promise((resolve) => (jobStarted = resolve));
    registry = new ModelRegistry().register("app.work", {
      async note(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
      },
      async slow(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
        jobStarted();
        for (let i = 0; i < 6; i++) await sleep(50); // holds the batch's write transaction across awaits
      },
    });
  });
  afterEach(async () => {
    if (worker.isInitialized) await worker.destroy();
    await db.close();
  });

  it("the application holds a write transaction across awaits while a worker on another DataSource enqueues and runs jobs", async () => {
    const jobs = new JobQueue(worker, { registry });
    const dispatcher = new Dispatcher(worker, registry, { logger: memoryLogger() });
    const monitor = loopMonitor();
    let holding!: () => void;
    const locked = new Promise<void>((resolve) => (holding = resolve));
    const app = db.dataSource.transaction(async (m) => {
      await m.insert(TestEffect, { key: "app-1", uid: 1, note: null });
      holding();
      for (let i = 0; i < 6; i++) await sleep(50);
      await m.insert(TestEffect, { key: "app-2", uid: 1, note: null });
    });
    await locked;
    const enqueued = Promise.all([1, 2, 3].map((i) => jobs.enqueue("app.work.note", { args: [`job-${i}`] })));
    await Promise.all([app, enqueued]);
    const results = await dispatcher.runDue();
    const maxGapMs = monitor.stop();

    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    expect(await count(db, "test_effect")).toBe(5);
    expect(maxGapMs).toBeLessThan(BUSY_TIMEOUT_MS / 4);
  });

  it("a worker's job holds the write transaction across awaits while the application writes through another DataSource", async () => {
    await new JobQueue(worker, { registry }).enqueue("app.work.slow", { args: ["slow"] });
    const dispatcher = new Dispatcher(worker, registry, { logger: memoryLogger() });
    const monitor = loopMonitor();
    const running = dispatcher.runDue();
    await started;
    // The application's own transaction, and an enqueue from the application's DataSource.
    const app = db.dataSource.transaction((m) => m.insert(TestEffect, { key: "app", uid: 1, note: null }));
    const enqueued = new JobQueue(db.dataSource, { registry }).enqueue("app.work.note", { args: ["from-app"] });
    const [results] = await Promise.all([running, app, enqueued]);
    const later = await dispatcher.runDue();
    const maxGapMs = monitor.stop();

    expect([...results, ...later].filter((r) => r.outcome === "done")).toHaveLength(2);
    expect(await count(db, "test_effect")).toBe(3);
    expect(maxGapMs).toBeLessThan(BUSY_TIMEOUT_MS / 4);
  });

  (kind === "sqlite" ? it : it.skip)(
    "a write lock held longer than the busy timeout gives DatabaseBusyError (inside DatabaseUnavailableError once the retry budget is spent), without blocking meanwhile",
    async () => {
      const impatient = new DataSource({ ...db.options, timeout: 300 } as typeof db.options);
      await impatient.initialize();
      try {
        const jobs = new JobQueue(impatient, { registry, transientRetryBudgetMs: 0 });
        const monitor = loopMonitor();
        let outcome: unknown;
        await db.dataSource.transaction(async (m) => {
          await m.insert(TestEffect, { key: "app", uid: 1, note: null });
          outcome = await jobs.enqueue("app.work.note", { args: ["late"] }).catch((error: unknown) => error);
        });
        expect(monitor.stop()).toBeLessThan(BUSY_TIMEOUT_MS / 4);
        expect(outcome).toBeInstanceOf(DatabaseUnavailableError);
        expect((outcome as DatabaseUnavailableError).written).toBe("nothing");
        expect((outcome as DatabaseUnavailableError).cause).toBeInstanceOf(DatabaseBusyError);
        expect(String((outcome as DatabaseUnavailableError).cause)).toMatch(
          /stayed locked by another connection for \d+ ms .*nothing was written/,
        );
        expect(await count(db, "hrp_cron_job")).toBe(0);
        // The lock is free again: the same DataSource works.
        await jobs.enqueue("app.work.note", { args: ["now"] });
        expect(await count(db, "hrp_cron_job")).toBe(1);
      } finally {
        await impatient.destroy();
      }
    },
  );
});
