import { HrpCronJob } from "../../src/schema/entities/HrpCronJob";
import { backendFor, Dispatcher, HrpCronJobService, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { eventually } from "../processes";

/**
 * Item 2 of issue 12: a live, heartbeating worker can hold a claim it does
 * not run — its batch or the release after it failed while the database was
 * down, or the reply to its claim's COMMIT was lost. Dead-worker recovery
 * never looks at it; the worker itself must let it go: at its next
 * recovery tick, and at the latest when it stops gracefully.
 */
describe.each(BACKENDS)("claims a live worker holds without running them, on %s", (kind) => {
  let db: TestDb;
  let jobs: JobQueue;
  let registry: ModelRegistry;
  let dispatcher: Dispatcher | null = null;

  beforeEach(async () => {
    db = await openTestDb(kind);
    registry = new ModelRegistry().register("own", {
      async effect(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
    });
    jobs = new JobQueue(db.dataSource, { registry });
  });

  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
    await db.close();
  });

  /** Gives `job` to `workerId` in the database only, as a claim whose batch or release failed leaves it. */
  async function orphan(job: HrpCronJob, workerId: string): Promise<void> {
    const backend = backendFor(db.dataSource);
    await backend.transaction((m) =>
      backend.execute(
        m,
        `UPDATE hrp_cron_job SET state = 'running', running_worker = ?, running_since = ? WHERE id = ?`,
        [workerId, backend.toDbDate(new Date(Date.now() - 1000)), job.id],
      ),
    );
  }

  const runLogs = (job: HrpCronJob, state: string) =>
    count(db, "hrp_cron_runs", "hrp_cron_job_id = ? AND state = ?", [job.id, state]);

  it("are released at the worker's next recovery tick (logged interrupted), and the job then runs once", async () => {
    const job = (await jobs.enqueue("own.effect", { kwargs: { key: "orphan" } })) as HrpCronJob;
    dispatcher = new Dispatcher(db.dataSource, registry, {
      logger: memoryLogger(),
      heartbeatIntervalMs: 100,
      recoveryIntervalMs: 100,
      workerTimeoutMs: 60_000,
      pollIntervalMs: 50,
    });
    await orphan(job, dispatcher.workerId);
    await dispatcher.start();
    await eventually(
      async () => (await count(db, "test_effect", "effect_key = ?", ["orphan"])) === 1,
      15_000,
      async () =>
        JSON.stringify(await db.dataSource.query(`SELECT id, running_worker, running_since FROM hrp_cron_job`)),
    );
    await eventually(
      async () => (await runLogs(job, "done")) === 1,
      5_000,
      () => "no done run-log row",
    );
    expect(await runLogs(job, "interrupted")).toBe(1);
    const [row] = await db.dataSource.query(
      `SELECT error, worker_id FROM hrp_cron_run_log WHERE state = 'interrupted'`,
    );
    expect(row.error).toMatch(/held this claim without running it/);
    expect(row.worker_id).toBe(dispatcher.workerId);
    expect((await db.dataSource.manager.findOneByOrFail(HrpCronJob, { id: job.id })).state).toBe("done");
  });

  it("are released by a graceful stop", async () => {
    // Due in an hour: the dispatcher itself never claims it; recovery ticks are far apart.
    const job = await new HrpCronJobService(db.dataSource, { registry }).runByCron(
      "later",
      "own",
      "effect",
      [{ key: "at-stop" }],
      10,
      undefined,
      new Date(Date.now() + 3_600_000),
    );
    dispatcher = new Dispatcher(db.dataSource, registry, {
      logger: memoryLogger(),
      heartbeatIntervalMs: 100,
      recoveryIntervalMs: 3_600_000,
      workerTimeoutMs: 3_600_001,
      pollIntervalMs: 50,
    });
    await dispatcher.start();
    await orphan(job, dispatcher.workerId);
    await dispatcher.stop();
    dispatcher = null;
    expect(await countClaims(db)).toBe(0);
    expect((await db.dataSource.manager.findOneByOrFail(HrpCronJob, { id: job.id })).state).toBe("pending");
    expect(await runLogs(job, "interrupted")).toBe(1);
  });
});
