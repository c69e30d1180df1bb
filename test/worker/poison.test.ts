import { HrpCronJobService, ModelRegistry } from "../../src";
import { BACKENDS, count, countClaims, openTestDb, type TestDb } from "../helpers";
import { spawnWorker, stopAll, type WorkerProcess } from "../processes";

/**
 * A poison job — its method kills its worker process — with real worker
 * processes, restarted as a supervisor (systemd, Kubernetes) would: it must
 * be failed after `maxCrashes` deaths attributed to it, and the jobs claimed
 * with it must complete, each once.
 */
const registry = new ModelRegistry().register("test.model", { effect() {}, die() {} });

describe.each(BACKENDS)("poison jobs on %s", (kind) => {
  let db: TestDb;
  let workers: WorkerProcess[] = [];
  beforeEach(async () => {
    db = await openTestDb(kind);
    workers = [];
  });
  afterEach(async () => {
    await stopAll(workers);
    await db.close();
  });

  jest.setTimeout(180_000);

  it("a job that kills its worker is failed after maxCrashes deaths attributed to it; the jobs claimed with it complete once", async () => {
    const service = new HrpCronJobService(db.dataSource, { registry });
    const innocent = ["a", "b", "c", "d", "e"];
    // Claimed together (two slots and a round ahead): innocents before and after the poison.
    for (const key of innocent.slice(0, 2)) await service.runByCron(`job ${key}`, "test.model", "effect", [key, 0]);
    const poison = await service.runByCron("poison", "test.model", "die", ["p"]);
    for (const key of innocent.slice(2)) await service.runByCron(`job ${key}`, "test.model", "effect", [key, 0]);

    const settled = async () =>
      (await count(db, "hrp_cron_job", "state = 'failed'")) === 1 &&
      (await count(db, "hrp_cron_job", "state = 'done'")) === innocent.length;
    let deaths = 0;
    const deadline = Date.now() + 120_000;
    // A supervisor: restart the worker whenever it dies, until everything is settled (or clearly never will be).
    while (!(await settled()) && deaths <= 8 && Date.now() < deadline) {
      const worker = spawnWorker(db, { HRP_TEST_CONCURRENCY: "2" });
      workers.push(worker);
      while (
        worker.child.exitCode === null &&
        worker.child.signalCode === null &&
        !(await settled()) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (worker.child.signalCode === "SIGKILL") deaths++;
      await stopAll([worker]);
    }

    // The first death is not attributable (the poison ran among other claims); then three lone runs.
    expect(deaths).toBe(4);
    const failed = await service.getJob(poison.id);
    expect(failed).toMatchObject({ state: "failed", attempts: 3 });
    expect(failed.excInfo).toMatch(/The worker died 3 times while running this job/);
    const poisonRuns = await service.listRuns({ jobId: poison.id });
    expect(poisonRuns.filter((r) => r.state === "failed")).toHaveLength(1);
    expect(poisonRuns.filter((r) => r.state === "interrupted")).toHaveLength(3);
    // The innocents: each done, its effect committed once, no failure.
    expect(await count(db, "test_effect")).toBe(innocent.length);
    expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(innocent.length);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(1);
    expect(await countClaims(db, "running_worker IS NOT NULL OR suspect = TRUE")).toBe(0);
  });
});
