import { DataSource } from "typeorm";
import { HrpCronJobService, JobQueue, MIGRATIONS, ModelRegistry, Scheduler } from "../../src";
import { BACKENDS, count, countClaims, openTestDb, type TestDb } from "../helpers";
import { eventually, spawnWorker, stopAll, type WorkerProcess } from "../processes";

/**
 * Real worker processes against one database: exactly-once draining, a
 * worker killed or frozen mid-job, connections killed under the workers,
 * and many processes migrating an empty database at once.
 */
const registry = new ModelRegistry().register("test.model", { effect() {} });

async function enqueue(db: TestDb, keys: string[], sleepMs = 0): Promise<void> {
  const service = new HrpCronJobService(db.dataSource, { registry });
  for (let i = 0; i < keys.length; i += 500) {
    await db.dataSource.transaction(async (manager) => {
      for (const key of keys.slice(i, i + 500))
        await service.runByCron(`job ${key}`, "test.model", "effect", [key, sleepMs], 10, 1, undefined, { manager });
    });
  }
}

async function summary(db: TestDb, workers: readonly WorkerProcess[] = []): Promise<string> {
  const states = await db.dataSource.query(`SELECT state, COUNT(*) AS n FROM hrp_cron_job GROUP BY state`);
  const runs = await db.dataSource.query(`SELECT state, COUNT(*) AS n FROM hrp_cron_runs GROUP BY state`);
  const failures = await db.dataSource.query(`SELECT error FROM hrp_cron_run_log WHERE state = 'failed'`);
  const tails = workers
    .map(
      (w, i) =>
        `--- worker ${i} ---\n${w
          .output()
          .replace(/^started .*\n/gm, "")
          .slice(-1500)}`,
    )
    .join("\n");
  return `jobs ${JSON.stringify(states)} runs ${JSON.stringify(runs)} effects ${await count(db, "test_effect")} failures ${JSON.stringify(failures).slice(0, 1500)}\n${tails}`;
}

async function expectExactlyOnce(db: TestDb, n: number): Promise<void> {
  expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(n);
  expect(await count(db, "test_effect")).toBe(n); // effect_key is unique: a second commit would have failed
  expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(n);
  expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(0);
  expect(await countClaims(db)).toBe(0);
}

describe.each(BACKENDS)("worker processes on %s", (kind) => {
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

  it("several processes x dispatchers drain every job exactly once", async () => {
    const n = kind === "postgres" ? 2000 : 600;
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    workers = [1, 2, 3].map((i) => spawnWorker(db, { HRP_TEST_DISPATCHERS: "2", HRP_TEST_APP_NAME: `w${i}` }));
    await Promise.all(workers.map((w) => w.waitFor(/ready/)));
    await enqueue(db, keys); // all six dispatchers compete for every batch
    await eventually(
      async () => (await count(db, "hrp_cron_job", "state = 'done'")) === n,
      120_000,
      () => summary(db, workers),
    );
    await stopAll(workers);
    for (const w of workers) expect(await w.exited).toBe(0);
    await expectExactlyOnce(db, n);
  });

  it("a worker killed with SIGKILL mid-job: its job is recovered and runs once", async () => {
    await enqueue(db, ["slow1", "slow2", "slow3"], 1500);
    const victim = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000" });
    workers.push(victim);
    await victim.waitFor(/started slow1/);
    victim.child.kill("SIGKILL");
    await victim.exited;
    // The dead worker's claims (it claims a batch, so possibly all three).
    const claimed = await countClaims(db);
    expect(claimed).toBeGreaterThanOrEqual(1);

    const rescuer = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000" });
    workers.push(rescuer);
    await eventually(
      async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 3,
      60_000,
      () => summary(db, workers),
    );
    await expectExactlyOnce(db, 3);
    expect(await count(db, "hrp_cron_run_log", "state = 'interrupted'")).toBe(claimed);
  });

  // On SQLite a frozen process holding the file's write lock blocks everyone; this is a PostgreSQL scenario.
  (kind === "postgres" ? it : it.skip)(
    "a frozen worker (SIGSTOP) loses its claim after the heartbeat timeout and cannot commit when it wakes",
    async () => {
      await enqueue(db, ["frozen"], 1000);
      const frozen = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000" });
      workers.push(frozen);
      await frozen.waitFor(/started frozen/);
      frozen.child.kill("SIGSTOP");
      try {
        const rescuer = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000" });
        workers.push(rescuer);
        await eventually(
          async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 1,
          60_000,
          () => summary(db, workers),
        );
        await rescuer.waitFor(/started frozen/);
      } finally {
        frozen.child.kill("SIGCONT");
      }
      // The frozen worker finishes its method, but its compare-and-set on the claim fails: rolled back.
      await frozen.waitFor(/no longer holds job/, 30_000);
      await expectExactlyOnce(db, 1);
      expect(await count(db, "hrp_cron_run_log", "state = 'interrupted'")).toBe(1);
    },
  );

  (kind === "postgres" ? it : it.skip)(
    "a frozen worker that resumes does not start the claims it buffered meanwhile: others ran them",
    async () => {
      await enqueue(db, ["f1", "f2", "f3"], 1000);
      // Two slots and a round ahead: it claims all three, runs two, buffers the third.
      const frozen = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000", HRP_TEST_CONCURRENCY: "2" });
      workers.push(frozen);
      // Both slots' methods must have started before the stop: a start racing the SIGSTOP would print after SIGCONT.
      await frozen.waitFor(/started f1[\s\S]*started f2|started f2[\s\S]*started f1/);
      expect(await countClaims(db)).toBe(3);
      frozen.child.kill("SIGSTOP");
      let before: string;
      try {
        await new Promise((r) => setTimeout(r, 200)); // output written before the stop arrives
        before = frozen.output();
        const rescuer = spawnWorker(db, { HRP_TEST_TIMEOUT_MS: "2000" });
        workers.push(rescuer);
        await eventually(
          async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 3,
          60_000,
          () => summary(db, workers),
        );
      } finally {
        frozen.child.kill("SIGCONT");
      }
      // Its running methods finish but cannot commit; the buffered claim is re-checked and not started.
      await frozen.waitFor(/no longer holds job/, 30_000);
      await frozen.waitFor(/started f3|not started/, 30_000);
      expect(frozen.output().slice(before.length)).not.toMatch(/started f\d/);
      await expectExactlyOnce(db, 3);
    },
  );

  it("per-queue and per-key concurrency limits hold across worker processes; other work is not blocked", async () => {
    const workersConfig = { limited: { maxConcurrency: 2, backgroundWorkers: 4 } };
    const queueRegistry = new ModelRegistry().register("test.model", { timed() {} });
    const jobs = new JobQueue(db.dataSource, { registry: queueRegistry, workers: workersConfig });
    const sleepMs = kind === "postgres" ? 60 : 15;
    const groups: Record<string, { limit: number; options: Record<string, unknown> }> = {
      c1: { limit: 1, options: { concurrencyKey: "company-1" } },
      c2: { limit: 2, options: { concurrencyKey: "company-2", concurrencyLimit: 2 } },
      lim: { limit: 2, options: { queue: "limited" } },
      free: { limit: Infinity, options: {} },
    };
    for (let i = 0; i < 15; i++) {
      for (const [group, { options }] of Object.entries(groups)) {
        await jobs.enqueue("test.model.timed", { kwargs: { key: `${group}:${i}`, sleepMs }, ...options });
      }
    }
    workers = [1, 2, 3].map((i) =>
      spawnWorker(db, {
        HRP_TEST_CONCURRENCY: "4",
        HRP_TEST_WORKERS: JSON.stringify({ ...workersConfig, default: { backgroundWorkers: 4 } }),
        HRP_TEST_APP_NAME: `lim${i}`,
      }),
    );
    await eventually(
      async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 60,
      120_000,
      () => summary(db, workers),
    );
    await expectExactlyOnce(db, 60);

    const effects = await db.dataSource.query(`SELECT effect_key AS k, note FROM test_effect`);
    for (const [group, { limit }] of Object.entries(groups)) {
      const intervals: Array<[number, number]> = effects
        .filter((e: { k: string }) => e.k.startsWith(`${group}:`))
        .map((e: { note: string }) => e.note.split("-").map(Number) as [number, number]);
      expect(intervals).toHaveLength(15);
      // Sweep: +1 at each start, -1 at each end (ends first at equal times).
      const events = intervals
        .flatMap(([a, b]): Array<[number, number]> => [
          [a, 1],
          [b, -1],
        ])
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      let now = 0;
      let peak = 0;
      for (const [, delta] of events) peak = Math.max(peak, (now += delta));
      expect({ group, withinLimit: peak <= limit }).toEqual({ group, withinLimit: true });
    }
  });

  it("two scheduler processes enqueue each due period once; when the leader is killed the other takes over", async () => {
    const scheduler = new Scheduler(db.dataSource, {
      registry: new ModelRegistry().register("test.model", { tick() {} }),
    });
    await scheduler.createType({ method: "test.model.tick", frequency: "Cron", cronFormat: "*/1 * * * * *" }); // every second
    workers = [1, 2].map((i) => spawnWorker(db, { HRP_TEST_SCHEDULER: "1", HRP_TEST_APP_NAME: `sched${i}` }));
    await Promise.all(workers.map((w) => w.waitFor(/ready/)));
    await eventually(
      async () => (await count(db, "scheduled_job_log")) >= 3,
      30_000,
      () => summary(db, workers),
    );
    const leaderId = (await scheduler.status()).leaderId!;
    const leader = workers.find((w) => w.output().includes(`scheduler ${leaderId}`))!;
    expect(leader).toBeDefined();
    leader.child.kill("SIGKILL");
    await leader.exited;
    const before = await count(db, "scheduled_job_log");
    await eventually(
      async () => (await count(db, "scheduled_job_log")) >= before + 3,
      30_000,
      () => summary(db, workers),
    );
    expect((await scheduler.status()).leaderId).not.toBe(leaderId);
    // One run per due period: no scheduled_for appears twice.
    const dupes = await db.dataSource.query(
      `SELECT scheduled_for, COUNT(*) AS n FROM scheduled_job_log GROUP BY scheduled_for HAVING COUNT(*) > 1`,
    );
    expect(dupes).toEqual([]);
  });

  if (kind === "postgres") {
    it("workers survive their connections being killed mid-run; totals stay exact", async () => {
      const n = 400;
      await enqueue(
        db,
        Array.from({ length: n }, (_, i) => `t${i}`),
        5,
      );
      workers = [1, 2].map((i) => spawnWorker(db, { HRP_TEST_DISPATCHERS: "2", HRP_TEST_APP_NAME: `victim${i}` }));
      await Promise.all(workers.map((w) => w.waitFor(/ready/)));
      const admin = new DataSource({ type: "postgres", url: process.env.HRP_CRON_PG_URL });
      await admin.initialize();
      try {
        for (let round = 0; round < 3; round++) {
          await new Promise((r) => setTimeout(r, 300));
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('victim1', 'victim2')`,
          );
        }
      } finally {
        await admin.destroy();
      }
      await eventually(
        async () => (await count(db, "hrp_cron_job", "state = 'done'")) === n,
        60_000,
        () => summary(db, workers),
      );
      await expectExactlyOnce(db, n);
    });

    it("a job enqueued by another process wakes an idle worker through LISTEN/NOTIFY, also after its LISTEN connection was killed", async () => {
      // The worker polls only once a minute: anything sooner is the notification.
      const worker = spawnWorker(db, { HRP_TEST_POLL_MS: "60000", HRP_TEST_APP_NAME: "listener" });
      workers.push(worker);
      await worker.waitFor(/ready/);
      await new Promise((r) => setTimeout(r, 500)); // let its first (empty) poll pass
      await enqueue(db, ["n1"]);
      await eventually(
        async () => (await count(db, "test_effect")) === 1,
        20_000,
        () => summary(db, workers),
      );

      await db.dataSource.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener' AND query LIKE 'LISTEN%'`,
      );
      await eventually(
        async () =>
          Number(
            (
              await db.dataSource.query(
                `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'listener' AND query LIKE 'LISTEN%'`,
              )
            )[0].n,
          ) === 1,
        20_000,
        () => "the worker did not re-open its LISTEN connection",
      );
      await enqueue(db, ["n2"]);
      await eventually(
        async () => (await count(db, "test_effect")) === 2,
        20_000,
        () => summary(db, workers),
      );
      await expectExactlyOnce(db, 2);
    });

    it("five processes starting at once against an empty database migrate it once", async () => {
      // A fresh schema with no tables at all.
      const schema = `${db.location.pgSchema}_empty`;
      await db.dataSource.query(`CREATE SCHEMA ${schema}`);
      try {
        const location = { pgUrl: db.location.pgUrl, pgSchema: schema };
        const migrators = Array.from({ length: 5 }, () => spawnWorker({ location }, { HRP_TEST_MODE: "migrate" }));
        workers.push(...migrators);
        const codes = await Promise.all(migrators.map((m) => m.exited));
        expect(codes).toEqual([0, 0, 0, 0, 0]);
        const applied = await db.dataSource.query(`SELECT name FROM ${schema}.hrp_cron_migrations`);
        expect(applied.map((r: { name: string }) => r.name).sort()).toEqual(MIGRATIONS.map((mig) => mig.name));
        const admins = await db.dataSource.query(`SELECT COUNT(*) AS n FROM ${schema}.res_users WHERE id = 1`);
        expect(Number(admins[0].n)).toBe(1);
      } finally {
        await db.dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
      }
    });
  }
});
