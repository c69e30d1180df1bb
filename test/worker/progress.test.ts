import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { statementsDuring } from "../statementCount";

/** `env.progress`: written outside the job's transaction, rate-limited, kept when the run rolls back. */
describe.each(BACKENDS)("job progress on %s", (kind) => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  /** Resolves once `check` holds, looking every 20 ms (never a fixed sleep). */
  async function until<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
    for (let i = 0; ; i++) {
      const value = await read();
      if (check(value) || i > 500) return value;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("is visible while the job runs (PostgreSQL) and stays, marked by the job's state, when its run rolls back", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const registry = new ModelRegistry().register("app.close", {
      async month(env: JobEnv) {
        env.progress(1, 3, "ward 1 closed");
        await gate;
        throw new Error("ward 2 does not balance");
      },
    });
    const job = (await new JobQueue(db.dataSource, { registry }).enqueue("app.close.month")) as HrpCronJob;
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
    const admin = new JobAdmin(db.dataSource);
    const running = dispatcher.runDue();
    if (kind === "postgres") {
      // Another connection sees it while the job's transaction is still open.
      const seen = await until(
        () => admin.getJob(job.id),
        (j) => j.progressDone === 1,
      );
      expect([seen.state, seen.progressDone, seen.progressTotal, seen.progressMessage]).toEqual([
        "running",
        1,
        3,
        "ward 1 closed",
      ]);
    }
    release();
    const [result] = await running;
    expect(result.outcome).toBe("failed");
    const after = await until(
      () => admin.getJob(job.id),
      (j) => j.progressDone === 1,
    );
    expect([after.state, after.progressDone, after.progressTotal, after.progressMessage]).toEqual([
      "failed",
      1,
      3,
      "ward 1 closed",
    ]);
    expect(after.progressAt).toBeInstanceOf(Date);
  });

  it("writes a tight loop's progress at most once per progressIntervalMs, its last value at the end, and tells each call", async () => {
    const registry = new ModelRegistry().register("app.import", {
      async rows(env: JobEnv) {
        for (let i = 1; i <= 500; i++) env.progress(i, 500);
        return "imported";
      },
    });
    const job = (await new JobQueue(db.dataSource, { registry }).enqueue("app.import.rows")) as HrpCronJob;
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), progressIntervalMs: 600_000 });
    const told: number[] = [];
    dispatcher.events.on("job:progress", (e) => told.push(e.done));
    const admin = new JobAdmin(db.dataSource);
    const writes = await statementsDuring(db, /progress_done = /, async () => {
      await dispatcher.runDue();
      await until(
        () => admin.getJob(job.id),
        (j) => j.progressDone === 500,
      );
    });
    expect(writes.length).toBe(2); // the first call at once, the latest at the run's end
    expect(told).toHaveLength(500);
    const done = await admin.getJob(job.id);
    expect([done.state, done.progressDone, done.progressTotal]).toEqual(["done", 500, 500]);
  });

  it("refuses bad counts and messages with a ValidationError that fails the run, writing no progress", async () => {
    const bad: Array<[string, (env: JobEnv) => void]> = [
      ["negative", (env) => env.progress(-1)],
      ["fraction", (env) => env.progress(1.5, 3)],
      ["over total", (env) => env.progress(4, 3)],
      ["not a number", (env) => env.progress("3" as never)],
      ["long message", (env) => env.progress(1, 2, "x".repeat(501))],
    ];
    const registry = new ModelRegistry().register(
      "app.bad",
      Object.fromEntries(bad.map(([, call], i) => [`m${i}`, async (env: JobEnv) => call(env)])) as never,
    );
    const queue = new JobQueue(db.dataSource, { registry });
    for (let i = 0; i < bad.length; i++) await queue.enqueue(`app.bad.m${i}`);
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => [r.outcome, r.error?.split("\n")[0]])).toEqual(
      bad.map(() => ["failed", expect.stringMatching(/^Invalid progress\.(done|total|message): /)]),
    );
    const jobs = await new JobAdmin(db.dataSource).listJobs();
    expect(jobs.map((j) => j.progressDone)).toEqual(bad.map(() => null));
  });
});
