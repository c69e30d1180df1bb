import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { Dashboard } from "../../src/dashboard";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/**
 * Every page answers while a job runs in the same process (as with
 * `npm start`, which serves the dashboard from the worker's process): on
 * SQLite a read inside a transaction would wait for the write lock the
 * running job's batch holds until the job ends.
 */
describe.each(BACKENDS)("dashboard pages while a job runs on %s", (kind) => {
  let db: TestDb;
  let release: () => void = () => undefined;
  let dispatcher: Dispatcher | null = null;
  const registry = new ModelRegistry().register("hrp.lab", {
    async slow(env: JobEnv) {
      await new Promise<void>((resolve) => {
        release = resolve;
        env.signal?.addEventListener("abort", () => resolve());
      });
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    release();
    await dispatcher?.stop();
    dispatcher = null;
    await db.close();
  });

  it("answers every page within seconds, not when the job ends", async () => {
    const job = await new JobQueue(db.dataSource, { registry }).enqueue("hrp.lab.slow", {});
    dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
    await dispatcher.start();
    const admin = new JobAdmin(db.dataSource);
    for (let i = 0; i < 200 && (await admin.getJob(job.id)).state !== "running"; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect((await admin.getJob(job.id)).state).toBe("running");
    const client = new DashboardClient(
      new Dashboard({ dataSource: db.dataSource, resolveUser: () => ({ login: "li.na" }), resolveAccess: () => "all" }),
    );
    const answered: Array<[string, number | string]> = [];
    for (const path of [
      "/",
      "/jobs",
      `/jobs/${job.id}`,
      "/crons",
      "/queues",
      "/queues/default",
      "/workers",
      "/actions",
    ]) {
      const status = await Promise.race([
        client.get(path).then((p) => p.status),
        new Promise<string>((resolve) => setTimeout(() => resolve("no answer in 5 s"), 5_000)),
      ]);
      answered.push([path, status]);
    }
    expect(answered).toEqual(answered.map(([path]) => [path, 200]));
  });
});
