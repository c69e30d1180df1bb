// One adapter per job system. Each has:
//   name, config (one line for the report), pgUrl (when it keeps its jobs in PostgreSQL),
//   setup(), enqueue(n) (bulk where the system has a bulk API), drain(n, workers), latency(k), teardown(), and optionally remaining().
// drain(n, workers) starts the system's worker with the n jobs already queued and returns
//   { ms, msWithStartup }: ms from the FIRST handler invocation to the n-th handler return (what the tables report),
//   msWithStartup from just before the worker is constructed/started (worker start-up, migration checks, pool warm-up
//   and the first fetch included; what the previous harness reported).
// latency(k) enqueues k jobs one at a time to an idle worker (concurrency 1) and returns, per job, ms from the moment the
//   enqueue call returned (its transaction committed) to the start of the handler.
"use strict";
const path = require("node:path");
const { DataSource } = require("typeorm");
const lib = require(path.join(__dirname, "..", "dist", "src"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const DRAIN_TIMEOUT_MS = 900_000;

async function waitFor(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Counts handler starts and returns. Handlers call start() first and finish(jobs) last; `done` resolves at the
 * target count, so the harness does not poll while the system drains.
 */
function tracker() {
  const t = {
    reset(target) {
      t.target = target;
      t.finished = 0;
      t.first = null;
      t.last = null;
      t.done = new Promise((resolve, reject) => {
        t.resolve = resolve;
        const timer = setTimeout(
          () => reject(new Error(`drain timed out after ${DRAIN_TIMEOUT_MS} ms (${t.finished}/${target} jobs)`)),
          DRAIN_TIMEOUT_MS,
        );
        timer.unref();
      });
    },
    start() {
      if (t.first === null) t.first = performance.now();
    },
    finish(count = 1) {
      t.finished += count;
      if (t.finished >= t.target && t.last === null) {
        t.last = performance.now();
        t.resolve();
      }
    },
    /**
     * Ends the measurement at the n-th completion. Where the adapter can count unfinished jobs in the store (remaining),
     * and some are still unfinished when the n-th handler returns (pg-boss does not await complete(); graphile-worker
     * batches completions; BullMQ moves a job to completed after its handler), the end is the moment a poll first sees
     * them all completed; otherwise it is the n-th handler return.
     */
    async result(t0, remaining) {
      let end = t.last;
      if (remaining && (await remaining()) > 0) {
        const deadline = Date.now() + 60_000;
        while ((await remaining()) > 0) {
          if (Date.now() > deadline) throw new Error("jobs still not completed 60 s after the last handler returned");
          await sleep(2);
        }
        end = performance.now();
      }
      return { ms: end - t.first, msWithStartup: end - t0, handlerMs: t.last - t.first };
    },
  };
  t.reset(Infinity);
  return t;
}

/** Per-job latency samples: stamp() in the handler, wait(i) in the driver. */
function stamps() {
  const started = new Map();
  const waiters = new Map();
  return {
    stamp(i) {
      started.set(i, process.hrtime.bigint());
      waiters.get(i)?.();
    },
    async after(i, committedAt) {
      if (!started.has(i)) {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`job ${i} did not start within 10 s`)), 10_000);
          waiters.set(i, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      waiters.delete(i);
      return Number(started.get(i) - committedAt) / 1e6;
    },
  };
}

/** hrp-cron queue jobs (`enqueue`) or automated tasks (`runByCron`), on SQLite or PostgreSQL. */
function hrpCron({ dialect, kind, pgUrl, sqliteFile }) {
  let ds;
  let jobs;
  let service;
  let dispatcher;
  const track = tracker();
  let lat = stamps();
  const registry = new lib.ModelRegistry().register("bench", {
    noop() {
      track.start();
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
  return {
    name: `hrp-cron ${kind} (${dialect})`,
    pgUrl: dialect === "postgres" ? pgUrl : undefined,
    config: `Dispatcher concurrency = workers (defaults otherwise: batchSize 50 on PostgreSQL, 100 on SQLite; batchMaxMs 100), pollIntervalMs 1000; ${kind === "queue" ? "JobQueue.enqueueBulk, 1,000 jobs per call" : "HrpCronJobService.runByCron (no bulk form), 1,000 calls per transaction"}`,
    async setup() {
      ds = new DataSource(options);
      await ds.initialize();
      await lib.migrate(ds);
      jobs = new lib.JobQueue(ds, { registry });
      service = new lib.HrpCronJobService(ds, { registry });
    },
    async enqueue(n, method = "bench.noop", argsOf = () => ({})) {
      for (let i = 0; i < n; i += 1000) {
        const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k);
        // Queue jobs: enqueueBulk, like the peers' bulk calls. runByCron has no bulk form: 1,000 calls per transaction.
        if (kind === "queue") await jobs.enqueueBulk(chunk.map((j) => ({ method, options: { kwargs: argsOf(j) } })));
        else {
          await ds.transaction(async (manager) => {
            for (const j of chunk)
              await service.runByCron(
                "bench",
                method.split(".")[0],
                method.split(".")[1],
                [argsOf(j)],
                10,
                1,
                undefined,
                { manager },
              );
          });
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
      await track.done;
      const r = await track.result(t0);
      await dispatcher.stop();
      return r;
    },
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
    async idle(ms) {
      dispatcher = new lib.Dispatcher(ds, registry, { concurrency: 1, logger: lib.consoleLogger("error") });
      await dispatcher.start();
      await sleep(ms);
      await dispatcher.stop();
    },
    async teardown() {
      await ds?.destroy();
    },
  };
}

/**
 * graphile-worker 0.17. Unbatched: its defaults (one get_job and one complete_job round trip per job).
 * Batched: what its performance docs use (https://worker.graphile.org/docs/performance): preset.worker.localQueue.size 500,
 * completeJobBatchDelay 0, failJobBatchDelay 0 (0.17.3 reads these in dist/main.js from resolvedPreset.worker).
 */
function graphileWorker({ pgUrl, batched }) {
  const gw = require("graphile-worker");
  let utils;
  const track = tracker();
  let lat = stamps();
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
  return {
    name: `graphile-worker${batched ? " batched" : ""} (postgres)`,
    pgUrl,
    config: `graphile-worker ${require("graphile-worker/package.json").version}: run({ concurrency: workers${batched ? ", preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } })" : " }) (defaults: maxPoolSize 10, no local queue, no completion batching)"}; enqueue with WorkerUtils.addJobs, 1,000 jobs per call`,
    async setup() {
      utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
      await utils.migrate();
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        await utils.addJobs(Array.from({ length: Math.min(1000, n - i) }, () => ({ identifier: "noop", payload: {} })));
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
        }),
      );
      await track.done;
      const r = await track.result(t0, this.remaining);
      await runner.stop();
      return r;
    },
    async remaining() {
      return utils.withPgClient(async (c) =>
        Number((await c.query("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0].n),
      );
    },
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
function pgBoss({ pgUrl, batchSize = 100 }) {
  const PgBoss = require("pg-boss");
  let boss;
  const track = tracker();
  let lat = stamps();
  return {
    name: "pg-boss (postgres)",
    pgUrl,
    config: `pg-boss ${require("pg-boss/package.json").version}: new PgBoss({ supervise: false, schedule: false }) (default pool max 10); work("noop", { batchSize: ${batchSize}, pollingIntervalSeconds: 0.5 }) called once per worker; enqueue with insert(), 1,000 jobs per call. Latency: one work() with batchSize 1, polling every 0.5 s (the minimum), each job sent at a random point of the polling cycle`,
    async setup() {
      boss = new PgBoss({ connectionString: pgUrl, schema: "pgboss_bench", supervise: false, schedule: false });
      boss.on("error", () => undefined);
      await boss.start();
      await boss.createQueue("noop");
      await boss.createQueue("stamp");
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000)
        await boss.insert(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: "noop", data: {} })));
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      const ids = [];
      for (let w = 0; w < workers; w++) {
        ids.push(
          await boss.work("noop", { batchSize, pollingIntervalSeconds: 0.5 }, async (batch) => {
            track.start();
            track.finish(batch.length);
          }),
        );
      }
      await track.done;
      const r = await track.result(t0, this.remaining);
      for (const id of ids) await boss.offWork({ id });
      return r;
    },
    async remaining() {
      const c = await boss
        .getDb()
        .executeSql("SELECT count(*) AS n FROM pgboss_bench.job WHERE name = 'noop' AND state <> 'completed'");
      return Number(c.rows[0].n);
    },
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
      await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    },
  };
}

/** BullMQ 6 on Redis (its default backend) or on its PostgreSQL backend (createPostgresBackend, bullmq >= 6). */
function bullmq({ pgUrl } = {}) {
  const bull = require("bullmq");
  const onPg = Boolean(pgUrl);
  const { Queue, Worker } = onPg ? bull.withBackend(bull.createPostgresBackend) : bull;
  // Redis: ioredis options. PostgreSQL: a pg pool config; migrate: true creates the bullmq schema on first connect.
  const connection = onPg
    ? { connectionString: pgUrl, migrate: true, max: 10 }
    : { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
  const qname = onPg ? "noop" : "hrp-bench-noop";
  const lname = onPg ? "stamp" : "hrp-bench-stamp";
  let queue;
  let lqueue;
  const track = tracker();
  let lat = stamps();
  return {
    name: `BullMQ (${onPg ? "postgres" : "redis"})`,
    pgUrl,
    config: `bullmq ${require("bullmq/package.json").version} on ${onPg ? "its PostgreSQL backend (withBackend(createPostgresBackend), pg pool max 10)" : "Redis (ioredis)"}: new Worker(name, fn, { concurrency: workers }); jobs added with removeOnComplete: true via addBulk, 1,000 jobs per call`,
    async setup() {
      queue = new Queue(qname, { connection });
      lqueue = new Queue(lname, { connection });
      await queue.waitUntilReady();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await lqueue.obliterate({ force: true }).catch(() => undefined);
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000)
        await queue.addBulk(
          Array.from({ length: Math.min(1000, n - i) }, () => ({
            name: "noop",
            data: {},
            opts: { removeOnComplete: true },
          })),
        );
    },
    async drain(n, workers) {
      track.reset(n);
      const t0 = performance.now();
      const worker = new Worker(
        qname,
        async () => {
          track.start();
          track.finish(1);
        },
        { connection, concurrency: workers },
      );
      worker.on("error", () => undefined);
      await track.done;
      const r = await track.result(t0, this.remaining);
      await worker.close();
      return r;
    },
    async remaining() {
      const c = await queue.getJobCounts("waiting", "active", "delayed", "failed", "prioritized");
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
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
      for (const q of [queue, lqueue]) {
        if (!onPg) await q?.obliterate({ force: true }).catch(() => undefined);
        await q?.close();
      }
    },
  };
}

module.exports = { hrpCron, graphileWorker, pgBoss, bullmq, sleep, waitFor };
