import { DataSource } from "typeorm";
import { backendFor, Dispatcher, HrpCronJobService, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * Which dispatchers are alive in this process is known per DataSource (no
 * process-wide set). A claim held by a live dispatcher of ANOTHER DataSource
 * on the same database, in the same process, must not look "stopped" to a
 * dispatcher of this one: it is judged by its heartbeat, like another
 * process's claim, and left alone while that dispatcher heartbeats.
 */
describe.each(BACKENDS)("claims of a live dispatcher on another DataSource of this process, on %s", (kind) => {
  let db: TestDb;
  let other: DataSource;
  let registry: ModelRegistry;
  let holder: Dispatcher | null = null;

  beforeEach(async () => {
    db = await openTestDb(kind);
    other = new DataSource(db.options);
    await other.initialize();
    registry = new ModelRegistry().register("live", {
      async effect(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
      },
    });
  });
  afterEach(async () => {
    await holder?.stop();
    holder = null;
    if (other.isInitialized) await other.destroy();
    await db.close();
  });

  it("are not recovered by a dispatcher of this DataSource while their dispatcher heartbeats", async () => {
    const options = {
      logger: memoryLogger(),
      heartbeatIntervalMs: 100,
      workerTimeoutMs: 60_000,
      recoveryIntervalMs: 3_600_000,
      pollIntervalMs: 60_000,
    };
    holder = new Dispatcher(other, registry, options);
    await holder.start();
    // Due in an hour, so nobody claims it by itself; then held by `holder`, as a claim whose run is in progress is.
    const job: HrpCronJob = await new HrpCronJobService(db.dataSource, { registry }).runByCron(
      "held",
      "live",
      "effect",
      ["held"],
      10,
      undefined,
      new Date(Date.now() + 3_600_000),
    );
    const backend = backendFor(db.dataSource);
    await backend.transaction((m) =>
      backend.execute(
        m,
        `UPDATE hrp_cron_job SET state = 'running', running_worker = ?, running_since = ? WHERE id = ?`,
        [holder!.workerId, backend.toDbDate(new Date()), job.id],
      ),
    );

    // A dispatcher of the test's own DataSource recovers dead workers' claims before it runs what is due.
    const results = await new Dispatcher(db.dataSource, registry, { ...options, logger: memoryLogger() }).runDue();

    expect(results).toEqual([]);
    expect(await countClaims(db, "running_worker = ?", [holder.workerId])).toBe(1);
    expect(await count(db, "hrp_cron_run_log", "state = 'interrupted'")).toBe(0);
    expect(await count(db, "hrp_cron_job", "state = 'running'")).toBe(1);
  });
});
