import {
  Dispatcher,
  HrpCronJob,
  HrpCronJobService,
  MIGRATIONS,
  ModelRegistry,
  migrate,
  type JobEnv,
  type RunResult,
} from "../../src";
import { backendFor } from "../../src/backend";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** The migrations a database created before issue 14's data path has (0001 to 0011). */
const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name === "0011-nextcall-wall") + 1);

/**
 * A database created by the migrations before the new data path (0012 and
 * 0014: a job's success recorded by its row, one row per job), holding jobs
 * in every state as the engine of that time wrote them — each job an
 * `hrp_cron_job` row with its one-shot `ir_cron` twin, every run in
 * `hrp_cron_run_log` — is migrated: no audit history is lost, pending jobs
 * run exactly once, the claims of a dead worker are recovered, failed and
 * cancelled jobs can be retried.
 */
describe.each(BACKENDS)("upgrading a database of the old data path on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-05-04T10:00:00Z");
  const at = (offsetMs: number) => new Date(clock.now().getTime() + offsetMs);
  const HOUR = 3_600_000;
  const ghost = "ghost-host:4242:dead01";

  beforeEach(async () => {
    clock.set("2026-05-04T10:00:00Z");
    db = await openTestDb(kind, [], BEFORE);
  });
  afterEach(() => db.close());

  const backend = () => backendFor(db.dataSource);
  const sql = (text: string, params: unknown[] = []) => backend().query(db.dataSource.manager, text, params);
  const d = (date: Date | null) => (date === null ? null : backend().toDbDate(date));

  /** What the old engine wrote for one job: the job row and its one-shot twin, in the shape of the old insertJobs. */
  async function oldJob(spec: {
    key: string;
    kind: "cron" | "queue";
    state: string;
    due: Date;
    attempts?: number;
    maxRetries?: number;
    excInfo?: string | null;
    started?: Date | null;
    done?: Date | null;
    workerId?: string | null;
    cron?: Partial<{
      active: boolean;
      numbercall: number;
      lastcall: Date | null;
      failureCount: number;
      firstFailure: Date | null;
      runningWorker: string | null;
      runningSince: Date | null;
      crashCount: number;
      suspect: boolean;
      suspectStarted: boolean;
      stopRequested: boolean;
      unservedSince: Date | null;
    }>;
    concurrencyKey?: string;
  }): Promise<{ jobId: number; cronId: number }> {
    const c = spec.cron ?? {};
    const [job] = await sql(
      `INSERT INTO hrp_cron_job (name, model, function, args, priority, user_id, date_created, state, date_started, date_done,
                                 exc_info, create_uid, create_date, kind, job_key, max_retries, attempts, retry_backoff_ms, worker_id,
                                 on_success, on_failure, queue, timeout_ms, concurrency_key, concurrency_limit, user_key)
       VALUES (?, 'app.up', 'effect', ?, 10, 1, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?, ?, '[0]', ?, NULL, NULL, 'default', NULL, ?, ?, 'admin')
       RETURNING id`,
      [
        `job ${spec.key}`,
        JSON.stringify([spec.key]),
        d(spec.due),
        spec.state,
        d(spec.started ?? null),
        d(spec.done ?? null),
        spec.excInfo ?? null,
        d(spec.due),
        spec.kind,
        spec.maxRetries ?? 0,
        spec.attempts ?? 0,
        spec.workerId ?? null,
        spec.concurrencyKey ?? null,
        spec.concurrencyKey ? 1 : null,
      ],
    );
    const jobId = Number(job.id);
    const [cron] = await sql(
      `INSERT INTO ir_cron (name, active, user_id, priority, interval_number, interval_type, nextcall, lastcall, numbercall, doall,
                            model, function, args, hrp_cron_job_id, failure_count, first_failure_date, running_worker, running_since,
                            create_uid, create_date, write_date, stop_requested, queue, concurrency_key, concurrency_limit, user_key,
                            crash_count, suspect, suspect_started, unserved_since)
       VALUES (?, ?, 1, 10, 1, 'minutes', ?, ?, ?, ?, 'app.up', 'effect', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 'default', ?, ?, 'admin', ?, ?, ?, ?)
       RETURNING id`,
      [
        `job ${spec.key}`,
        c.active ?? true,
        d(spec.due),
        d(c.lastcall ?? null),
        c.numbercall ?? 1,
        spec.kind === "cron",
        JSON.stringify([spec.key]),
        jobId,
        c.failureCount ?? 0,
        d(c.firstFailure ?? null),
        c.runningWorker ?? null,
        d(c.runningSince ?? null),
        d(spec.due),
        d(spec.due),
        c.stopRequested ?? false,
        spec.concurrencyKey ?? null,
        spec.concurrencyKey ? 1 : null,
        c.crashCount ?? 0,
        c.suspect ?? false,
        c.suspectStarted ?? false,
        d(c.unservedSince ?? null),
      ],
    );
    return { jobId, cronId: Number(cron.id) };
  }

  /** A run-log row as the old engine wrote it. */
  async function oldRun(cronId: number, jobId: number | null, state: string, start: Date, error: string | null = null) {
    await sql(
      `INSERT INTO hrp_cron_run_log (cron_id, hrp_cron_job_id, name, model, function, user_id, worker_id, scheduled_at, date_start,
                                     date_end, duration_ms, calls, state, error)
       VALUES (?, ?, 'old run', 'app.up', 'effect', 1, 'old-host:1:aaaaaa', ?, ?, ?, 5, ?, ?, ?)`,
      [cronId, jobId, d(start), d(start), d(new Date(start.getTime() + 5)), state === "done" ? 1 : 0, state, error],
    );
  }

  it("keeps every run, job and decision, and runs what was pending exactly once", async () => {
    // Jobs in every state, as the old engine left them.
    const due = await oldJob({ key: "due", kind: "queue", state: "pending", due: at(-HOUR) });
    const later = await oldJob({ key: "later", kind: "cron", state: "pending", due: at(HOUR) });
    const retrying = await oldJob({
      key: "retrying",
      kind: "queue",
      state: "pending",
      due: at(-2 * HOUR),
      attempts: 1,
      maxRetries: 2,
      excInfo: "Error: first try failed",
      cron: { failureCount: 1, firstFailure: at(-2 * HOUR) },
    });
    await oldRun(retrying.cronId, retrying.jobId, "failed", at(-2 * HOUR), "Error: first try failed");
    const keyed = await oldJob({ key: "keyed", kind: "queue", state: "pending", due: at(-HOUR), concurrencyKey: "k1" });
    // A runByCron job whose batch died with its (unregistered) worker: suspect, nothing counted.
    const batchRun = await oldJob({
      key: "batch-run",
      kind: "cron",
      state: "running",
      due: at(-HOUR),
      started: at(-HOUR),
      workerId: "gone-host:1:zzzzzz",
      cron: { runningWorker: "gone-host:1:zzzzzz", runningSince: at(-HOUR) },
    });
    // A queue job whose lone run killed its registered worker: one crash counted.
    const loneRun = await oldJob({
      key: "lone-run",
      kind: "queue",
      state: "running",
      due: at(-HOUR),
      started: at(-HOUR),
      workerId: ghost,
      cron: { runningWorker: ghost, runningSince: at(-HOUR), suspect: true, suspectStarted: true },
    });
    const doneQueue = await oldJob({
      key: "done-queue",
      kind: "queue",
      state: "done",
      due: at(-3 * HOUR),
      attempts: 1,
      started: at(-3 * HOUR),
      done: at(-3 * HOUR + 5),
      workerId: "old-host:1:aaaaaa",
      cron: { active: false, numbercall: 0, lastcall: at(-3 * HOUR) },
    });
    await oldRun(doneQueue.cronId, doneQueue.jobId, "done", at(-3 * HOUR));
    const doneCron = await oldJob({
      key: "done-cron",
      kind: "cron",
      state: "done",
      due: at(-3 * HOUR),
      attempts: 2,
      started: at(-3 * HOUR),
      done: at(-3 * HOUR + 5),
      workerId: "old-host:1:aaaaaa",
      cron: { active: false, numbercall: 0, lastcall: at(-3 * HOUR) },
    });
    await oldRun(
      doneCron.cronId,
      doneCron.jobId,
      "interrupted",
      at(-4 * HOUR),
      "Worker old-host stopped during the run",
    );
    await oldRun(doneCron.cronId, doneCron.jobId, "done", at(-3 * HOUR));
    const failed = await oldJob({
      key: "failed",
      kind: "cron",
      state: "failed",
      due: at(-3 * HOUR),
      attempts: 1,
      started: at(-3 * HOUR),
      done: at(-3 * HOUR + 5),
      excInfo: "Error: no retries left",
      cron: { active: false, failureCount: 1, firstFailure: at(-3 * HOUR) },
    });
    await oldRun(failed.cronId, failed.jobId, "failed", at(-3 * HOUR), "Error: no retries left");
    const cancelled = await oldJob({
      key: "cancelled",
      kind: "queue",
      state: "cancelled",
      due: at(-3 * HOUR),
      done: at(-3 * HOUR),
      cron: { active: false },
    });
    const stopped = await oldJob({
      key: "stopped",
      kind: "queue",
      state: "stopped",
      due: at(-3 * HOUR),
      attempts: 1,
      done: at(-3 * HOUR + 5),
      excInfo: "Job stopped by an operator",
      cron: { active: false },
    });
    await oldRun(stopped.cronId, stopped.jobId, "stopped", at(-3 * HOUR), "Job stopped by an operator");
    // A pending job whose cron an operator deactivated: it could not run.
    const paused = await oldJob({
      key: "paused",
      kind: "cron",
      state: "pending",
      due: at(-HOUR),
      cron: { active: false },
    });
    // A recurring cron with run history.
    const [recurring] = await sql(
      `INSERT INTO ir_cron (name, active, user_id, priority, interval_number, interval_type, nextcall, numbercall, doall, model, function,
                            args, create_date, write_date, user_key)
       VALUES ('hourly', TRUE, 1, 5, 1, 'hours', ?, -1, FALSE, 'app.up', 'effect', '["hourly"]', ?, ?, 'admin') RETURNING id`,
      [d(at(-60_000)), d(at(-5 * HOUR)), d(at(-5 * HOUR))],
    );
    const recurringId = Number(recurring.id);
    await oldRun(recurringId, null, "done", at(-2 * HOUR));
    await oldRun(recurringId, null, "failed", at(-HOUR), "Error: the hourly run failed");
    await sql(
      `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at) VALUES (?, 'ghost-host', 4242, ?, ?)`,
      [ghost, d(at(-2 * HOUR)), d(at(-2 * HOUR))],
    );

    const logBefore = await sql(`SELECT * FROM hrp_cron_run_log ORDER BY id`);
    const jobsBefore = await sql(
      `SELECT id, name, state, attempts, exc_info, date_created, date_started, date_done, worker_id, kind FROM hrp_cron_job ORDER BY id`,
    );
    expect(logBefore).toHaveLength(8);

    // Upgrade.
    expect(await migrate(db.dataSource)).toEqual(MIGRATIONS.slice(BEFORE.length).map((m) => m.name));

    // Nothing of the audit history is lost: every run-log row as it was, every run once in the view.
    expect(await sql(`SELECT * FROM hrp_cron_run_log ORDER BY id`)).toEqual(logBefore);
    expect(await count(db, "hrp_cron_runs")).toBe(logBefore.length);
    expect(await count(db, "hrp_cron_runs", "run_log_id IS NULL")).toBe(0);
    const service = new HrpCronJobService(db.dataSource, { now: clock.now });
    expect((await service.listRuns({ jobId: doneCron.jobId })).map((r) => r.state)).toEqual(["done", "interrupted"]);
    expect((await service.listRuns({ cronId: recurringId })).map((r) => r.state)).toEqual(["failed", "done"]);
    // Every job with its record; the one decision the twin held (paused) is now the job's own.
    const jobsAfter = await sql(
      `SELECT id, name, state, attempts, exc_info, date_created, date_started, date_done, worker_id, kind FROM hrp_cron_job ORDER BY id`,
    );
    expect(jobsAfter.map((j) => j.id)).toEqual(jobsBefore.map((j) => j.id));
    for (const [i, job] of jobsAfter.entries()) {
      if (Number(job.id) === paused.jobId) continue;
      const was = jobsBefore[i];
      // A running job keeps its state: its claim moved to the job row.
      expect(job).toEqual(was);
    }
    const pausedJob = await service.getJob(paused.jobId);
    expect(pausedJob.state).toBe("cancelled");
    expect(pausedJob.excInfo).toMatch(/Cancelled by migration 0014: its ir_cron row was inactive/);
    // The claims moved to the job rows; the twins of queue jobs are gone, runByCron's stay as records.
    expect(await count(db, "hrp_cron_job", "running_worker IS NOT NULL")).toBe(2);
    expect(await count(db, "ir_cron", "running_worker IS NOT NULL")).toBe(0);
    expect(await count(db, "ir_cron", "hrp_cron_job_id IS NOT NULL")).toBe(5); // later, batch-run, done-cron, failed, paused
    expect(await service.getJob(loneRun.jobId)).toMatchObject({ suspect: true, suspectStarted: true, crashCount: 0 });
    expect(await service.getJob(retrying.jobId)).toMatchObject({ failureCount: 1, nextcall: at(-2 * HOUR) });

    // Pending jobs run once; the dead worker's claims are recovered and run (alone), once.
    const effects: string[] = [];
    const registry = new ModelRegistry().register("app.up", {
      async effect(env: JobEnv, key: string) {
        effects.push(key);
        // A job's effect once (unique key); the recurring cron's once per run.
        const unique = env.jobId === null ? `${key}@${env.now.toISOString()}` : key;
        await env.manager.insert(TestEffect, { key: unique, uid: env.uid, note: null });
      },
    });
    const dispatcher = () => new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });
    const outcomes = (results: RunResult[]) => results.map((r) => `${r.name}:${r.outcome}`).sort();
    expect(outcomes(await dispatcher().runDue())).toEqual([
      "hourly:done",
      "job batch-run:done",
      "job due:done",
      "job keyed:done",
      "job lone-run:done",
      "job retrying:done",
    ]);
    // The lone run's death was its own (one crash, one attempt), then it ran alone and succeeded (count reset).
    expect(await service.getJob(loneRun.jobId)).toMatchObject({ state: "done", attempts: 2, crashCount: 0 });
    expect(await service.getJob(batchRun.jobId)).toMatchObject({ state: "done", attempts: 1 });
    for (const job of [due, keyed])
      expect(await service.getJob(job.jobId)).toMatchObject({ state: "done", attempts: 1 });
    expect(await service.getJob(retrying.jobId)).toMatchObject({ state: "done", attempts: 2 });
    // Their recoveries are in the run log, next to the old history.
    expect(
      await count(db, "hrp_cron_run_log", "state = 'interrupted' AND hrp_cron_job_id IN (?, ?)", [
        batchRun.jobId,
        loneRun.jobId,
      ]),
    ).toBe(2);
    expect(await dispatcher().runDue()).toEqual([]);
    clock.advance(2 * HOUR);
    expect(outcomes(await dispatcher().runDue())).toEqual(["hourly:done", "job later:done"]);
    // The runByCron job's record is finished with it.
    expect(await service.getJobCron(later.jobId)).toMatchObject({ active: false, numbercall: 0, runningWorker: null });

    // Failed and cancelled jobs (the paused one too) can be retried, and then run once.
    for (const job of [failed, cancelled, paused]) await service.retryJob(job.jobId);
    expect(outcomes(await dispatcher().runDue())).toEqual(["job cancelled:done", "job failed:done", "job paused:done"]);
    expect(await dispatcher().runDue()).toEqual([]);
    expect((await service.getJob(stopped.jobId)).state).toBe("stopped");
    expect((await service.getJob(doneQueue.jobId)).state).toBe("done");

    // Exactly once: one effect per job (the table's unique key refuses a second), two for the hourly cron.
    expect(effects.filter((e) => e !== "hourly").sort()).toEqual(
      ["batch-run", "cancelled", "due", "failed", "keyed", "later", "lone-run", "paused", "retrying"].sort(),
    );
    expect(await count(db, "test_effect")).toBe(9 + 2);
    expect(await countClaims(db)).toBe(0);
    // The view: the old history, the new runs' failures and interruptions, and each job's done row once.
    expect(await count(db, "hrp_cron_runs", "state = 'done' AND hrp_cron_job_id = ?", [doneQueue.jobId])).toBe(1);
    const jobs = await db.dataSource.manager.find(HrpCronJob);
    for (const job of jobs.filter((j) => j.state === "done"))
      expect(await count(db, "hrp_cron_runs", "state = 'done' AND hrp_cron_job_id = ?", [job.id])).toBe(1);
  });
});
