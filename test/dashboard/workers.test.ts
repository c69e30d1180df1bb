import { hostname } from "node:os";
import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { backendFor } from "../../src/backend";
import { Dashboard } from "../../src/dashboard";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/**
 * The workers page over a real database: a started dispatcher (registered,
 * heartbeating, holding a job) and a worker whose process died (its
 * registration left behind with an old heartbeat).
 */
describe.each(BACKENDS)("dashboard workers on %s", (kind) => {
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

  const client = (now?: Date) =>
    new DashboardClient(
      new Dashboard({
        dataSource: db.dataSource,
        resolveUser: () => ({ login: "li.na" }),
        timeZone: "UTC",
        ...(now ? { now: () => now } : {}),
      }),
    );

  /**
   * A worker whose process died ten minutes ago (its registration stays,
   * with its last heartbeat), then a started dispatcher holding job `jobId`.
   * The dead registration is written first: on SQLite the running job's
   * batch holds the write lock until the job ends.
   */
  async function given(): Promise<{ jobId: number; workerId: string }> {
    const backend = backendFor(db.dataSource);
    const old = new Date(Date.now() - 600_000);
    await backend.transaction((m) =>
      backend.execute(
        m,
        `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at, methods) VALUES (?, ?, ?, ?, ?, ?)`,
        ["lab-02:4242:dead01", "lab-02", 4242, backend.toDbDate(old), backend.toDbDate(old), '["hrp.lab.slow"]'],
      ),
    );
    const job = await new JobQueue(db.dataSource, { registry }).enqueue("hrp.lab.slow", {});
    dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
    await dispatcher.start();
    const admin = new JobAdmin(db.dataSource);
    for (let i = 0; i < 200 && (await admin.getJob(job.id)).state !== "running"; i++)
      await new Promise((r) => setTimeout(r, 25));
    const running = await admin.getJob(job.id);
    expect(running.state).toBe("running");
    return { jobId: job.id, workerId: running.runningWorker! };
  }

  const row = (text: string, workerId: string) =>
    new RegExp(`<tr data-worker="${workerId}" data-alive="(yes|no)">([\\s\\S]*?)</tr>`).exec(text);

  it("lists every worker with host, pid, methods, heartbeat, alive or dead, and the jobs it holds", async () => {
    const { jobId, workerId } = await given();
    const page = await client().get("/workers");
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/id="workers-list" data-live/);
    const live = row(page.text, workerId)!;
    expect(live[1]).toBe("yes");
    expect(live[2]).toContain(hostname());
    expect(live[2]).toContain(`>${process.pid}<`);
    expect(live[2]).toContain("hrp.lab.slow");
    expect(live[2]).toContain(`href="/jobs/${jobId}"`);
    expect(live[2]).toContain(`job #${jobId}`);
    expect(live[2]).toMatch(/worker-alive">alive</);
    const dead = row(page.text, "lab-02:4242:dead01")!;
    expect(dead[1]).toBe("no");
    expect(dead[2]).toMatch(/worker-dead">dead</);
    expect(dead[2]).toContain("10 min 00 s ago");
    expect(dead[2]).not.toContain("/jobs/");
    expect(page.visibleText).toContain("2 workers are registered: 1 alive, 1 dead.");

    // The overview counts them the same way and links here; it reads while the job runs (on SQLite without
    // waiting for the write lock the running batch holds: a transaction would wait until the job ends).
    const overview = await client().get("/");
    expect(overview.visibleText).toContain("Running now 1");
    expect(overview.visibleText).toContain("1 alive");
    expect(overview.visibleText).toContain("1 look dead");
    expect(overview.text).toContain('href="/workers"');
  });

  it("judges liveness by the dashboard's clock: a minute later, with no heartbeat seen since, both look dead", async () => {
    const { workerId } = await given();
    const later = await client(new Date(Date.now() + 60_000)).get("/workers");
    expect(row(later.text, workerId)![1]).toBe("no");
    expect(later.visibleText).toContain("0 alive, 2 dead");
  });

  it("lists runs held by a worker that is no longer registered", async () => {
    const { jobId, workerId } = await given();
    // As a statement of its own (on SQLite it joins the running batch's transaction, which holds the write lock).
    await backendFor(db.dataSource).execute(db.dataSource.manager, `DELETE FROM hrp_cron_worker WHERE id = ?`, [
      workerId,
    ]);
    const page = await client().get("/workers");
    const orphans = /id="workers-orphans"([\s\S]*?)<\/table>/.exec(page.text)![1];
    expect(orphans).toContain(workerId);
    expect(orphans).toContain(`href="/jobs/${jobId}"`);
  });

  it("renders in Simplified Chinese", async () => {
    await given();
    const page = await client().get("/workers?lang=zh-CN");
    expect(page.text).toContain('<html lang="zh-CN">');
    expect(page.visibleText).toContain("已注册 2 个工作进程：1 个在线，1 个已停止。");
    for (const text of ["处理的方法", "最近心跳", "当前持有", "在线", "已停止"])
      expect(page.visibleText).toContain(text);
    expect(page.visibleText).not.toMatch(/\[workers\./);
  });
});
