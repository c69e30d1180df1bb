import Database from "better-sqlite3";
import { Dispatcher, HrpCronJobService, InvalidStateError, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { HrpCronJob, type IrCron } from "../../src/schema/entities";
import { backendFor } from "../../src/backend";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * The life of a job at its edges: errors a job throws that look like the
 * database's, what `attempts` counts, operator decisions that are final, and
 * Odoo's cron semantics (numbercall on failure, triggers that keep the
 * schedule, a cron re-triggering itself, retries from scratch).
 */
describe.each(BACKENDS)("job lifecycle on %s", (kind) => {
  let db: TestDb;
  let clock: ReturnType<typeof fixedClock>;
  let registry: ModelRegistry;
  let service: HrpCronJobService;
  let jobs: JobQueue;
  let calls: string[];
  const logger = memoryLogger();
  const dispatcher = (options: ConstructorParameters<typeof Dispatcher>[2] = {}) =>
    new Dispatcher(db.dataSource, registry, { now: clock.now, logger, ...options });
  const sql = (text: string, params: unknown[] = []) =>
    backendFor(db.dataSource).execute(db.dataSource.manager, text, params);

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = fixedClock("2026-03-02T12:00:00Z");
    calls = [];
    registry = new ModelRegistry().register("test.model", {
      async record(env: JobEnv, tag: string) {
        calls.push(tag);
        await env.manager.insert(TestEffect, { key: `${tag}:${env.cronId}:${calls.length}`, uid: env.uid, note: null });
      },
      async explode(env: JobEnv, tag: string) {
        calls.push(tag);
        throw new Error(`boom ${tag}`);
      },
    });
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    jobs = new JobQueue(db.dataSource, { now: clock.now, registry });
  });
  afterEach(async () => {
    await db.close();
  });

  describe("errors a job throws", () => {
    it("a transient database error thrown by the job's own work counts against the job after a few immediate retries; the other jobs run", async () => {
      await db.dataSource.manager.insert(TestEffect, { key: "locked", uid: 1, note: null });
      const locker = db.dataSource.createQueryRunner();
      registry.register("test.model", {
        // A real driver error from the job's own work: PostgreSQL lock_not_available (55P03) on a row
        // another transaction holds; SQLite SQLITE_BUSY from a second connection while the run holds the lock.
        async busy(env: JobEnv) {
          calls.push("busy");
          await env.manager.insert(TestEffect, { key: `busy:${calls.length}`, uid: env.uid, note: null }); // rolled back each time
          if (kind === "postgres")
            await env.manager.query(`SELECT id FROM test_effect WHERE effect_key = 'locked' FOR UPDATE NOWAIT`);
          else {
            const other = new Database(db.location.sqliteFile!, { timeout: 0 });
            try {
              other.prepare(`INSERT INTO test_effect (effect_key, uid) VALUES ('other', 1)`).run();
            } finally {
              other.close();
            }
          }
        },
        // The same code on an error the method made up (a driver error it rethrows, say).
        async coded() {
          calls.push("coded");
          throw Object.assign(new Error("deadlock detected"), { code: kind === "postgres" ? "40P01" : "SQLITE_BUSY" });
        },
      });
      const busy = await service.runByCron("Busy", "test.model", "busy", [], 1);
      const coded = (await jobs.enqueue("test.model.coded", {
        priority: 2,
        maxRetries: 1,
        retryBackoffMs: [60_000],
      })) as HrpCronJob;
      const good = await service.runByCron("Good", "test.model", "record", ["good"], 3);
      if (kind === "postgres") {
        await locker.connect();
        await locker.startTransaction();
        await locker.query(`SELECT id FROM test_effect WHERE effect_key = 'locked' FOR UPDATE`);
      }
      let results;
      try {
        results = await dispatcher().runDue();
      } finally {
        if (kind === "postgres") await locker.rollbackTransaction();
        await locker.release();
      }
      expect(results.map((r) => [r.jobId, r.outcome])).toEqual([
        [busy.id, "failed"],
        [coded.id, "failed"],
        [good.id, "done"],
      ]);
      // 1 run + 2 immediate retries each (jobTransientRetries), then the failure is the job's.
      expect(calls.filter((c) => c === "busy")).toHaveLength(3);
      expect(calls.filter((c) => c === "coded")).toHaveLength(3);
      const failed = await service.getJob(busy.id);
      expect([failed.state, failed.attempts]).toEqual(["failed", 1]);
      expect(failed.excInfo).toMatch(kind === "postgres" ? /could not obtain lock/ : /SQLITE_BUSY|database is locked/);
      // maxRetries and backoff apply as for any error.
      const retrying = await service.getJob(coded.id);
      expect([retrying.state, retrying.attempts]).toEqual(["pending", 1]);
      expect((await service.getJob(coded.id)).nextcall!.getTime()).toBe(clock.now().getTime() + 60_000);
      expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(2);
      expect(await count(db, "test_effect", "effect_key LIKE 'busy:%'")).toBe(0);
      expect((await service.getJob(good.id)).state).toBe("done");
    });
  });

  describe("attempts", () => {
    it("count runs that started, not claims: claims handed back unstarted at stop are not attempts", async () => {
      let started!: () => void;
      const startedP = new Promise<void>((r) => (started = r));
      registry.register("test.model", {
        async honours(env: JobEnv) {
          started();
          await new Promise((_, reject) => env.signal.addEventListener("abort", () => reject(env.signal.reason)));
        },
      });
      const all: HrpCronJob[] = [];
      for (let i = 0; i < 6; i++) all.push(await service.runByCron(`B${i}`, "test.model", "honours", []));
      // Two slots: two claims run (on SQLite one at a time), two more are claimed ahead.
      const worker = new Dispatcher(db.dataSource, registry, { gracefulStopMs: 50, concurrency: 2, logger });
      await worker.start();
      try {
        await startedP;
        for (let i = 0; i < 100 && (await countClaims(db)) < 4; i++) await new Promise((r) => setTimeout(r, 10));
        expect(await countClaims(db)).toBe(4);
      } finally {
        await worker.stop();
      }
      const attempts = async () => (await Promise.all(all.map((j) => service.getJob(j.id)))).map((j) => j.attempts);
      const interrupted = await count(db, "hrp_cron_run_log", "state = 'interrupted'");
      expect(interrupted).toBeGreaterThanOrEqual(1);
      expect(interrupted).toBeLessThan(4); // some claims never started
      // Each run that started (and was interrupted by the stop) counts once; unstarted claims do not.
      expect((await attempts()).reduce((a, b) => a + b, 0)).toBe(interrupted);
      expect(await count(db, "hrp_cron_job", "state = 'pending'")).toBe(6);
      const before = await attempts();
      registry.register("test.model", { async honours() {} });
      await dispatcher().runDue();
      expect(await attempts()).toEqual(before.map((n) => n + 1));
    });
  });

  describe("operator decisions are final", () => {
    it("runNow, trigger and setActive(true) refuse the cron of a done, failed or cancelled job and write nothing; retryJob is the way back", async () => {
      const done = await service.runByCron("Done", "test.model", "record", ["done"]);
      const failed = await service.runByCron("Failed", "test.model", "explode", ["failed"]);
      const cancelled = await service.runByCron(
        "Cancelled",
        "test.model",
        "record",
        ["cancelled"],
        10,
        undefined,
        new Date("2026-03-03T00:00:00Z"),
      );
      await dispatcher().runDue();
      await service.cancelJob(cancelled.id);
      const runsBefore = await count(db, "hrp_cron_runs");
      for (const [job, state] of [
        [done, "done"],
        [failed, "failed"],
        [cancelled, "cancelled"],
      ] as const) {
        const cron = await service.getJobCron(job.id);
        await expect(dispatcher().runNow(cron.id)).rejects.toThrow(InvalidStateError);
        await expect(service.trigger(cron.id)).rejects.toThrow(new RegExp(`job ${job.id}, which is ${state}`));
        await expect(service.setActive(cron.id, true)).rejects.toThrow(InvalidStateError);
        expect(await service.getJob(job.id)).toMatchObject({ state, attempts: state === "cancelled" ? 0 : 1 });
        expect(await service.getJobCron(job.id)).toMatchObject({ active: false, runningWorker: null });
      }
      expect(await dispatcher().runDue()).toEqual([]);
      expect(await count(db, "hrp_cron_runs")).toBe(runsBefore);
      expect(calls).toEqual(["done", "failed"]);
      // Deactivating stays allowed, and so does the way back.
      expect((await service.setActive((await service.getJobCron(done.id)).id, false)).active).toBe(false);
      await service.retryJob(cancelled.id);
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
    });

    it("completion never marks a job done that is no longer running", async () => {
      registry.register("test.model", {
        async cancelsItself(env: JobEnv) {
          await env.manager.update(HrpCronJob, { id: env.jobId! }, { state: "cancelled" });
        },
      });
      const job = await service.runByCron("Odd", "test.model", "cancelsItself", []);
      const results = await dispatcher().runDue();
      expect(results.map((r) => r.outcome)).not.toContain("done");
      expect((await service.getJob(job.id)).state).not.toBe("done");
      expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(0);
      expect(await countClaims(db)).toBe(0);
    });
  });

  describe("Odoo semantics", () => {
    it("a failed run uses up a call: numbercall 2 leaves 1, numbercall 1 leaves the cron inactive", async () => {
      const two = await service.createCron({
        name: "Two",
        model: "test.model",
        function: "explode",
        args: ["two"],
        intervalType: "hours",
        numbercall: 2,
        nextcall: clock.now(),
      });
      const one = await service.createCron({
        name: "One",
        model: "test.model",
        function: "explode",
        args: ["one"],
        intervalType: "hours",
        numbercall: 1,
        nextcall: clock.now(),
      });
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["failed", "failed"]);
      expect(await service.getCron(two.id)).toMatchObject({ numbercall: 1, active: true, failureCount: 1 });
      expect(await service.getCron(one.id)).toMatchObject({ numbercall: 0, active: false, failureCount: 1 });
    });

    it("trigger runs an interval cron once now without moving its planned next call", async () => {
      const at22 = new Date("2026-03-02T22:00:00Z");
      const cron = await service.createCron({
        name: "Nightly",
        model: "test.model",
        function: "record",
        args: ["n"],
        intervalType: "days",
        nextcall: at22,
      });
      await service.trigger(cron.id); // at 12:00
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
      let after: IrCron = await service.getCron(cron.id);
      expect([after.nextcall.toISOString(), after.plannedNextcall, after.lastcall?.toISOString()]).toEqual([
        at22.toISOString(),
        null,
        "2026-03-02T12:00:00.000Z",
      ]);
      clock.set(at22);
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
      after = await service.getCron(cron.id);
      expect(after.nextcall.toISOString()).toBe("2026-03-03T22:00:00.000Z");
    });

    it("a cron may trigger itself from its own run: it is due again at once, and its schedule is kept", async () => {
      let remaining = 3;
      registry.register("test.model", {
        async chunk(env: JobEnv) {
          remaining--;
          calls.push(`chunk ${remaining}`);
          if (remaining > 0) await service.trigger(env.cronId); // more work remains: run me again
        },
      });
      const cron = await service.createCron({
        name: "Chunks",
        model: "test.model",
        function: "chunk",
        intervalType: "days",
        nextcall: clock.now(),
      });
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done", "done", "done"]);
      expect(calls).toEqual(["chunk 2", "chunk 1", "chunk 0"]);
      const after = await service.getCron(cron.id);
      expect([after.nextcall.toISOString(), after.plannedNextcall, after.retrigger]).toEqual([
        "2026-03-03T12:00:00.000Z",
        null,
        false,
      ]);
      // A one-shot job runs once: it cannot re-trigger itself.
      registry.register("test.model", {
        async again(env: JobEnv) {
          await service.trigger(env.cronId);
        },
      });
      const job = await service.runByCron("Again", "test.model", "again", []);
      expect((await dispatcher().runDue())[0]).toMatchObject({
        outcome: "failed",
        error: expect.stringMatching(/enqueue a follow-up job/),
      });
      expect((await service.getJob(job.id)).state).toBe("failed");
    });

    it("retryJob resets attempts so a requeued job gets its full retries again", async () => {
      const job = (await jobs.enqueue("test.model.explode", {
        args: ["r"],
        maxRetries: 1,
        retryBackoffMs: [0],
      })) as HrpCronJob;
      await dispatcher().runDue(); // fails, retried at once, fails again: final
      expect(await service.getJob(job.id)).toMatchObject({ state: "failed", attempts: 2 });
      expect((await service.retryJob(job.id)).attempts).toBe(0);
      await dispatcher().runDue();
      // Its first failure after the retry has a retry left again (then the second is final).
      expect(calls).toEqual(["r", "r", "r", "r"]);
      expect(await service.getJob(job.id)).toMatchObject({ state: "failed", attempts: 2 });
      expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(4);
    });
  });

  describe("worker deaths (simulated: claims of a worker that stopped heartbeating)", () => {
    const ghost = "ghost-host:4242:dead01";
    /**
     * Claims a recurring cron (`cronId`) or a job (`jobId`: the job row is what is claimed) as the ghost worker, as
     * if its lone run (`lone`) or its batch had been running when it died.
     */
    const claimAsGhost = async (claimed: { cronId: number } | { jobId: number }, lone: boolean) => {
      const old = backendFor(db.dataSource).toDbDate(new Date(Date.now() - 3_600_000));
      if ("cronId" in claimed)
        await sql(
          `UPDATE ir_cron SET running_worker = ?, running_since = ?, suspect = ?, suspect_started = ? WHERE id = ?`,
          [ghost, old, lone, lone, claimed.cronId],
        );
      else
        await sql(
          `UPDATE hrp_cron_job SET state = 'running', running_worker = ?, running_since = ?, suspect = ?, suspect_started = ? WHERE id = ?`,
          [ghost, old, lone, lone, claimed.jobId],
        );
    };
    beforeEach(async () => {
      const old = backendFor(db.dataSource).toDbDate(new Date(Date.now() - 3_600_000));
      await sql(
        `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at) VALUES (?, 'ghost-host', 4242, ?, ?)`,
        [ghost, old, old],
      );
    });

    it("an unattributed death makes the claim suspect: it runs alone once and completes, nothing counted", async () => {
      const job = await service.runByCron("Innocent", "test.model", "record", ["innocent"]);
      await claimAsGhost({ jobId: job.id }, false);
      expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
      expect(await service.getJob(job.id)).toMatchObject({
        state: "done",
        attempts: 1,
        suspect: false,
        suspectStarted: false,
        crashCount: 0,
        runningWorker: null,
      });
      expect(await service.getJobCron(job.id)).toMatchObject({ active: false, numbercall: 0, runningWorker: null });
      const [interrupted] = await service
        .listRuns({ jobId: job.id, limit: 10 })
        .then((rows) => rows.filter((r) => r.state === "interrupted"));
      expect(interrupted.error).toMatch(/released to run again \(alone/);
    });

    it("at the queue's maxCrashes a job is failed with a clear error; retryJob resets the crash count; a recurring cron counts it as one failed run", async () => {
      const workers = { fragile: { maxCrashes: 1 } };
      registry.register("test.hooks", {
        async crashed(_env: JobEnv, info: { error: string }) {
          calls.push(`onFailure: ${info.error}`);
        },
      });
      const fragile = (await new JobQueue(db.dataSource, { now: clock.now, registry, workers }).enqueue(
        "test.model.record",
        { queue: "fragile", args: ["f"], onFailure: "test.hooks.crashed" },
      )) as HrpCronJob;
      await claimAsGhost({ jobId: fragile.id }, true);
      const recurring = await service.createCron({
        name: "Hourly",
        model: "test.model",
        function: "record",
        args: ["h"],
        intervalType: "hours",
        nextcall: clock.now(),
      });
      await sql(`UPDATE ir_cron SET crash_count = 2 WHERE id = ?`, [recurring.id]);
      await claimAsGhost({ cronId: recurring.id }, true);

      await dispatcher({ workers }).runDue();
      const failed = await service.getJob(fragile.id);
      expect([failed.state, failed.attempts]).toEqual(["failed", 1]);
      expect(failed.excInfo).toMatch(
        /WorkerCrashedError: The worker died 1 time while running this job \(last: worker ghost-host:4242:dead01 stopped heartbeating/,
      );
      const [log] = await service.listRuns({ jobId: fragile.id });
      expect(log).toMatchObject({ state: "failed", workerId: ghost });
      expect(calls).toEqual([expect.stringMatching(/^onFailure: The worker died 1 time while running this job/)]); // neither ran again
      const cron = await service.getCron(recurring.id);
      expect(cron).toMatchObject({ active: true, failureCount: 1, crashCount: 0, suspect: false, runningWorker: null });
      expect(cron.nextcall.toISOString()).toBe("2026-03-02T13:00:00.000Z");

      const retried = await service.retryJob(fragile.id);
      expect(retried.attempts).toBe(0);
      expect(retried).toMatchObject({ crashCount: 0, suspect: false, state: "pending", runningWorker: null });
      expect((await dispatcher({ workers }).runDue()).map((r) => r.outcome)).toEqual(["done"]);
    });
  });
});
