// One adapter per job system, for one workload (bench/workloads.js: no-op jobs, or jobs that write). Each has:
//   name, config (one line for the report), bulkEnqueue (whether enqueue(n) uses a bulk API), pgUrl (the PostgreSQL
//   database the drain uses, for its transaction count: the system's jobs, or, for BullMQ on Redis, the application tables),
//   setup(), enqueue(n), drain(n, workers), latency(k), teardown(), remaining() (jobs not completed in the system's
//   store) and check(n) (the exactly-once check of a writing workload; undefined for no-op jobs).
// drain(n, workers) starts the system's worker with the n jobs already queued and returns
//   { ms, msWithStartup, handlerMs }: ms from the FIRST handler invocation to the end of the drain (what the tables
//   report): all n jobs completed in the system's store and, for writing workloads, all n rows committed and visible
//   to another connection (measure.js, tracker.result); msWithStartup from just before the worker is
//   constructed/started (worker start-up, migration checks, pool warm-up and the first fetch included); handlerMs to
//   the n-th handler return.
// latency(k) enqueues k jobs one at a time to an idle worker (concurrency 1) and returns, per job, ms from the moment the
//   enqueue call returned (its transaction committed) to the start of the handler.
"use strict";
const path = require("node:path");
const pg = require("pg");
const { DataSource } = require("typeorm");
const lib = require(path.join(__dirname, "..", "dist", "src"));
const { sleep, waitFor, tracker, stamps } = require("./measure");
const workloads = require("./workloads");

const NOOP = workloads.workload("noop");
/** Pool size of the peers' application pools: at least the concurrency of every measured mode (8 workers). */
const APP_POOL_MAX = 10;

/** A node-postgres pool for a peer's job code, with its connections opened before the drain is timed. */
async function appPool(url, warm) {
  const pool = new pg.Pool({ connectionString: url, max: APP_POOL_MAX });
  pool.on("error", () => undefined);
  await Promise.all(Array.from({ length: warm }, () => pool.query("SELECT 1")));
  return pool;
}

const writesVia = (w, how) => (w.job ? `; job code writes ${how}` : "");

/**
 * hrp-cron queue jobs (`enqueue`) or automated tasks (`runByCron`), on SQLite or PostgreSQL. Writing jobs write
 * through the job's env.manager: their statements commit in the job's batch transaction, with its completion.
 */
function hrpCron({ dialect, kind, pgUrl, sqliteFile, workload = NOOP }) {
  let ds;
  let jobs;
  let service;
  let dispatcher;
  const track = tracker();
  let lat = stamps();
  const app = workloads.appSide(workload, { pgUrl, sqliteFile });
  const registry = new lib.ModelRegistry().register("bench", {
    noop() {
      track.start();
      track.finish(1);
    },
    async write(env, kw) {
      track.start();
      await workload.job(workloads.managerDb(env.manager, dialect), kw.k);
      track.finish(1);
    },
    stamp(env, kw) {
      lat.stamp(kw.i);
    },
  });
  const options =
    dialect === "postgres"
      ? { type: "postgres", url: pgUrl, entities: lib.ENTITIES, poolSize: 20 }
      : { type: "better-sqlite3", database: sqliteFile, entities: lib.ENTITIES, enableWAL: true, timeout: 10000 };
  const method = workload.job ? "bench.write" : "bench.noop";
  const argsOf = workload.job ? (j) => ({ k: j }) : () => ({});
  /**
   * Jobs not completed yet. PostgreSQL: pending and running hrp_cron_job rows (listJobs; not JobQueue.stats(), which
   * counts every active ir_cron row, the backlog section's future-dated crons included). SQLite: JobQueue.stats(),
   * which runs in a transaction of hrp-cron's own and so waits for a batch transaction still open on the shared
   * connection; a plain read there would see that batch's uncommitted rows.
   */
  async function remaining() {
    if (dialect === "sqlite") return (await jobs.stats()).reduce((a, s) => a + s.running + s.waiting + s.scheduled, 0);
    let left = 0;
    for (const state of ["pending", "running"])
      left += (await service.listJobs({ state, model: "bench", limit: 100_000 })).length;
    return left;
  }
  return {
    name: `hrp-cron ${kind} (${dialect})`,
    pgUrl: dialect === "postgres" ? pgUrl : undefined,
    bulkEnqueue: true,
    config:
      "Dispatcher concurrency = workers (defaults otherwise: batchSize 50 on PostgreSQL, 100 on SQLite; batchMaxMs 100), pollIntervalMs 1000; " +
      (kind === "queue"
        ? "JobQueue.enqueueBulk, 1,000 jobs per call"
        : "HrpCronJobService.runByCronBulk, 1,000 calls per call") +
      writesVia(
        workload,
        "through the job's env.manager (manager.query), inside the job's savepoint of its batch transaction",
      ),
    async setup() {
      ds = new DataSource(options);
      await ds.initialize();
      await lib.migrate(ds);
      jobs = new lib.JobQueue(ds, { registry });
      service = new lib.HrpCronJobService(ds, { registry });
      await app.open();
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k);
        // The bulk forms, like the peers' bulk calls: enqueueBulk for queue jobs, runByCronBulk for automated tasks.
        if (kind === "queue") await jobs.enqueueBulk(chunk.map((j) => ({ method, options: { kwargs: argsOf(j) } })));
        else {
          const [model, fn] = method.split(".");
          await service.runByCronBulk(
            chunk.map((j) => ({ name: "bench", model, function: fn, args: [argsOf(j)], priority: 10, userId: 1 })),
          );
        }
      }
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      dispatcher = new lib.Dispatcher(ds, registry, {
        concurrency: workers,
        pollIntervalMs: 1000,
        logger: lib.consoleLogger("error"),
      });
      await dispatcher.start();
      try {
        await track.done;
        return await track.result(t0, { remaining, visible: app.visible });
      } finally {
        await dispatcher.stop();
      }
    },
    remaining,
    check: app.check,
    harnessQueries: app.queries,
    async latency(k) {
      lat = stamps();
      dispatcher = new lib.Dispatcher(ds, registry, {
        concurrency: 1,
        pollIntervalMs: 5000,
        logger: lib.consoleLogger("error"),
      });
      await dispatcher.start();
      await sleep(200);
      const samples = [];
      for (let i = 0; i < k; i++) {
        await ds.transaction(async (manager) => {
          await jobs.enqueue("bench.stamp", { kwargs: { i }, manager });
        });
        samples.push(await lat.after(i, process.hrtime.bigint()));
      }
      await dispatcher.stop();
      return samples;
    },
    async teardown() {
      await app.close();
      await ds?.destroy();
    },
  };
}

/**
 * graphile-worker 0.17. Unbatched: its defaults (one get_job and one complete_job round trip per job).
 * Batched: what its performance docs use (https://worker.graphile.org/docs/performance): preset.worker.localQueue.size 500,
 * completeJobBatchDelay 0, failJobBatchDelay 0 (0.17.3 reads these in dist/main.js from resolvedPreset.worker).
 */
function graphileWorker({ pgUrl, batched, workload = NOOP }) {
  const gw = require("graphile-worker");
  let utils;
  const track = tracker();
  let lat = stamps();
  const app = workloads.appSide(workload, { pgUrl });
  const logger = new gw.Logger(() => () => undefined);
  const preset = batched
    ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }
    : undefined;
  const runOptions = (concurrency, taskList) => ({
    connectionString: pgUrl,
    concurrency,
    noHandleSignals: true,
    preset,
    taskList,
    logger,
  });
  const task = workload.job ? "write" : "noop";
  async function remaining() {
    return utils.withPgClient(async (c) =>
      Number((await c.query("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0].n),
    );
  }
  return {
    name: `graphile-worker${batched ? " batched" : ""} (postgres)`,
    pgUrl,
    bulkEnqueue: true,
    config:
      `graphile-worker ${require("graphile-worker/package.json").version}: run({ concurrency: workers${batched ? ", preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } })" : " }) (defaults: maxPoolSize 10, no local queue, no completion batching)"}; enqueue with WorkerUtils.addJobs, 1,000 jobs per call` +
      writesVia(
        workload,
        "through its task helpers (helpers.query; helpers.withPgClient for a transaction), on its own pool",
      ),
    async setup() {
      utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
      await utils.migrate();
      await app.open();
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        await utils.addJobs(
          Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
            identifier: task,
            payload: workload.job ? { k: i + j } : {},
          })),
        );
      }
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      const runner = await gw.run(
        runOptions(workers, {
          noop: async () => {
            track.start();
            track.finish(1);
          },
          write: async (payload, helpers) => {
            track.start();
            await workload.job(workloads.graphileDb(helpers), payload.k);
            track.finish(1);
          },
        }),
      );
      try {
        await track.done;
        return await track.result(t0, { remaining, visible: app.visible });
      } finally {
        await runner.stop();
      }
    },
    remaining,
    check: app.check,
    harnessQueries: app.queries,
    async latency(k) {
      lat = stamps();
      const runner = await gw.run(runOptions(1, { stamp: async (payload) => lat.stamp(payload.i) }));
      await sleep(200);
      const samples = [];
      for (let i = 0; i < k; i++) {
        await utils.addJob("stamp", { i });
        samples.push(await lat.after(i, process.hrtime.bigint()));
      }
      await runner.stop();
      return samples;
    },
    async teardown() {
      await app.close();
      await utils?.release();
    },
  };
}

/**
 * pg-boss 10, configured for throughput: `workers` calls of work() (one polling loop each), each fetching up to
 * BATCH jobs per poll at the shortest polling interval pg-boss allows (0.5 s); the handler receives the array.
 * A pg-boss worker sleeps out the rest of its polling interval after every fetch, even a full one (src/worker.js),
 * so its drain is bounded by workers * BATCH / 0.5 s. pg-boss 10 does not LISTEN for new jobs: latency is bounded below
 * by the polling interval.
 */
function pgBoss({ pgUrl, batchSize = 100, workload = NOOP }) {
  const PgBoss = require("pg-boss");
  let boss;
  let pool;
  const track = tracker();
  let lat = stamps();
  const app = workloads.appSide(workload, { pgUrl });
  const qname = workload.job ? "write" : "noop";
  async function remaining() {
    const c = await boss
      .getDb()
      .executeSql("SELECT count(*) AS n FROM pgboss_bench.job WHERE name = $1 AND state <> 'completed'", [qname]);
    return Number(c.rows[0].n);
  }
  return {
    name: "pg-boss (postgres)",
    pgUrl,
    bulkEnqueue: true,
    config:
      `pg-boss ${require("pg-boss/package.json").version}: new PgBoss({ supervise: false, schedule: false }) (default pool max 10); work("${qname}", { batchSize: ${batchSize}, pollingIntervalSeconds: 0.5 }) called once per worker; enqueue with insert(), 1,000 jobs per call. Latency: one work() with batchSize 1, polling every 0.5 s (the minimum), each job sent at a random point of the polling cycle` +
      writesVia(
        workload,
        `through a pg.Pool (max ${APP_POOL_MAX}; pg-boss's own executeSql has no transactions), the jobs of a fetched batch one after another`,
      ),
    async setup() {
      boss = new PgBoss({ connectionString: pgUrl, schema: "pgboss_bench", supervise: false, schedule: false });
      boss.on("error", () => undefined);
      await boss.start();
      await boss.createQueue(qname);
      await boss.createQueue("stamp");
      await app.open();
      if (workload.job) pool = await appPool(pgUrl, 8);
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        await boss.insert(
          Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
            name: qname,
            data: workload.job ? { k: i + j } : {},
          })),
        );
      }
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      const db = pool && workloads.poolDb(pool);
      const ids = [];
      for (let w = 0; w < workers; w++) {
        ids.push(
          await boss.work(qname, { batchSize, pollingIntervalSeconds: 0.5 }, async (batch) => {
            track.start();
            if (workload.job) for (const job of batch) await workload.job(db, job.data.k);
            track.finish(batch.length);
          }),
        );
      }
      try {
        await track.done;
        return await track.result(t0, { remaining, visible: app.visible });
      } finally {
        for (const id of ids) await boss.offWork({ id });
      }
    },
    remaining,
    check: app.check,
    harnessQueries: app.queries,
    async latency(k) {
      lat = stamps();
      const id = await boss.work("stamp", { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) =>
        lat.stamp(job.data.i),
      );
      await sleep(200);
      const samples = [];
      for (let i = 0; i < k; i++) {
        // Arrive at a random point of the polling cycle: enqueuing right after the previous job started would always land
        // just after a poll and measure the full 0.5 s interval.
        await sleep(Math.random() * 500);
        await boss.send("stamp", { i });
        samples.push(await lat.after(i, process.hrtime.bigint()));
      }
      await boss.offWork({ id });
      return samples;
    },
    async teardown() {
      await app.close();
      await pool?.end();
      await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    },
  };
}

/**
 * BullMQ 6 on Redis (its default backend) or on its PostgreSQL backend (createPostgresBackend, bullmq >= 6). Writing
 * jobs write through a pg.Pool to the application tables: in the queue's database on PostgreSQL, in appUrl's on Redis.
 */
function bullmq({ pgUrl, appUrl, workload = NOOP } = {}) {
  const bull = require("bullmq");
  const onPg = Boolean(pgUrl);
  const { Queue, Worker } = onPg ? bull.withBackend(bull.createPostgresBackend) : bull;
  // Redis: ioredis options. PostgreSQL: a pg pool config; migrate: true creates the bullmq schema on first connect.
  const connection = onPg
    ? { connectionString: pgUrl, migrate: true, max: 10 }
    : { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
  const qname = `${onPg ? "" : "hrp-bench-"}${workload.job ? "write" : "noop"}`;
  const lname = onPg ? "stamp" : "hrp-bench-stamp";
  const appDbUrl = onPg ? pgUrl : appUrl;
  if (workload.job && !appDbUrl)
    throw new Error("BullMQ on Redis with a writing workload needs appUrl, the database of the application tables");
  let queue;
  let lqueue;
  let pool;
  const track = tracker();
  let lat = stamps();
  const app = workloads.appSide(workload, { pgUrl: appDbUrl });
  async function remaining() {
    const c = await queue.getJobCounts("waiting", "active", "delayed", "failed", "prioritized");
    return Object.values(c).reduce((a, b) => a + b, 0);
  }
  return {
    name: `BullMQ (${onPg ? "postgres" : "redis"})`,
    pgUrl: workload.job ? appDbUrl : pgUrl,
    bulkEnqueue: true,
    config:
      `bullmq ${require("bullmq/package.json").version} on ${onPg ? "its PostgreSQL backend (withBackend(createPostgresBackend), pg pool max 10)" : "Redis (ioredis)"}: new Worker(name, fn, { concurrency: workers }); jobs added with removeOnComplete: true via addBulk, 1,000 jobs per call` +
      writesVia(
        workload,
        `through a pg.Pool (max ${APP_POOL_MAX})${onPg ? " of its own (the backend's pool is internal)" : " to PostgreSQL"}`,
      ),
    async setup() {
      queue = new Queue(qname, { connection });
      lqueue = new Queue(lname, { connection });
      await queue.waitUntilReady();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await lqueue.obliterate({ force: true }).catch(() => undefined);
      await app.open();
      if (workload.job) pool = await appPool(appDbUrl, 8);
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        await queue.addBulk(
          Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
            name: workload.job ? "write" : "noop",
            data: workload.job ? { k: i + j } : {},
            opts: { removeOnComplete: true },
          })),
        );
      }
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      const db = pool && workloads.poolDb(pool);
      const worker = new Worker(
        qname,
        async (job) => {
          track.start();
          if (workload.job) await workload.job(db, job.data.k);
          track.finish(1);
        },
        { connection, concurrency: workers },
      );
      worker.on("error", () => undefined);
      try {
        await track.done;
        return await track.result(t0, { remaining, visible: app.visible });
      } finally {
        await worker.close();
      }
    },
    remaining,
    check: app.check,
    harnessQueries: app.queries,
    async latency(k) {
      lat = stamps();
      const worker = new Worker(lname, async (job) => lat.stamp(job.data.i), { connection, concurrency: 1 });
      worker.on("error", () => undefined);
      await worker.waitUntilReady();
      await sleep(200);
      const samples = [];
      for (let i = 0; i < k; i++) {
        await lqueue.add("stamp", { i }, { removeOnComplete: true });
        samples.push(await lat.after(i, process.hrtime.bigint()));
      }
      await worker.close();
      return samples;
    },
    async teardown() {
      await app.close();
      await pool?.end();
      for (const q of [queue, lqueue]) {
        if (!onPg) await q?.obliterate({ force: true }).catch(() => undefined);
        await q?.close();
      }
    },
  };
}

module.exports = { hrpCron, graphileWorker, pgBoss, bullmq, sleep, waitFor };
