// One adapter per job system. Each: setup(), enqueue(n) (bulk), drain(n, workers) -> ms until n jobs ran, latency(k), idle(ms), teardown().
"use strict";
const path = require("node:path");
const { DataSource } = require("typeorm");
const lib = require(path.join(__dirname, "..", "dist", "src"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** hrp-cron queue jobs (`enqueue`) or automated tasks (`runByCron`), on SQLite or PostgreSQL. */
function hrpCron({ dialect, kind, pgUrl, sqliteFile }) {
  let ds;
  let jobs;
  let service;
  let dispatcher;
  let ran = 0;
  let started = [];
  const registry = new lib.ModelRegistry().register("bench", {
    noop() {
      ran++;
    },
    stamp(env, kw) {
      started.push([kw.i, process.hrtime.bigint()]);
    },
  });
  const options = dialect === "postgres"
    ? { type: "postgres", url: pgUrl, entities: lib.ENTITIES, poolSize: 20 }
    : { type: "better-sqlite3", database: sqliteFile, entities: lib.ENTITIES, enableWAL: true, timeout: 10000 };
  return {
    name: `hrp-cron ${kind} (${dialect})`,
    async setup() {
      ds = new DataSource(options);
      await ds.initialize();
      await lib.migrate(ds);
      jobs = new lib.JobQueue(ds, { registry });
      service = new lib.HrpCronJobService(ds, { registry });
    },
    async enqueue(n, method = "bench.noop", argsOf = () => ({})) {
      for (let i = 0; i < n; i += 1000) {
        await ds.transaction(async (manager) => {
          for (let j = i; j < Math.min(n, i + 1000); j++) {
            if (kind === "queue") await jobs.enqueue(method, { kwargs: argsOf(j), manager });
            else await service.runByCron("bench", method.split(".")[0], method.split(".")[1], [argsOf(j)], 10, 1, undefined, { manager });
          }
        });
      }
    },
    async drain(n, workers) {
      ran = 0;
      const t0 = performance.now();
      dispatcher = new lib.Dispatcher(ds, registry, { concurrency: workers, pollIntervalMs: 1000, logger: lib.consoleLogger("error") });
      await dispatcher.start();
      await waitFor(async () => ran >= n, 600_000, "drain");
      const ms = performance.now() - t0;
      await dispatcher.stop();
      return ms;
    },
    async latency(k) {
      started = [];
      dispatcher = new lib.Dispatcher(ds, registry, { concurrency: 1, pollIntervalMs: 5000, logger: lib.consoleLogger("error") });
      await dispatcher.start();
      await sleep(200);
      const samples = [];
      for (let i = 0; i < k; i++) {
        let committedAt;
        await ds.transaction(async (manager) => {
          await jobs.enqueue("bench.stamp", { kwargs: { i }, manager });
        });
        committedAt = process.hrtime.bigint();
        await waitFor(async () => started.length > i, 10_000, "job start");
        samples.push(Number(started[i][1] - committedAt) / 1e6);
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

/** graphile-worker, unbatched (defaults) or batched (local queue + batched completion). */
function graphileWorker({ pgUrl, batched }) {
  const gw = require("graphile-worker");
  let utils;
  let ran = 0;
  return {
    name: `graphile-worker${batched ? " batched" : ""} (postgres)`,
    async setup() {
      utils = await gw.makeWorkerUtils({ connectionString: pgUrl });
      await utils.migrate();
    },
    async enqueue(n) {
      // 0.16 has no bulk addJobs: 50 concurrent addJob calls at a time.
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => utils.addJob("noop", {})));
      }
    },
    async drain(n, workers) {
      ran = 0;
      const t0 = performance.now();
      const preset = batched ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } : undefined;
      const runner = await gw.run({
        connectionString: pgUrl, concurrency: workers, noHandleSignals: true, pollInterval: 1000, preset,
        taskList: { noop: async () => { ran++; } },
        logger: new gw.Logger(() => () => undefined),
      });
      await waitFor(async () => ran >= n, 600_000, "drain");
      const ms = performance.now() - t0;
      await runner.stop();
      return ms;
    },
    async teardown() {
      await utils?.release();
    },
  };
}

/** pg-boss (v10). */
function pgBoss({ pgUrl }) {
  const PgBoss = require("pg-boss");
  let boss;
  let ran = 0;
  return {
    name: "pg-boss (postgres)",
    async setup() {
      boss = new PgBoss({ connectionString: pgUrl, schema: "pgboss_bench", supervise: false, schedule: false });
      boss.on("error", () => undefined);
      await boss.start();
      await boss.createQueue("noop");
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) await boss.insert(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: "noop", data: {} })));
    },
    async drain(n, workers) {
      ran = 0;
      const t0 = performance.now();
      const ids = [];
      for (let w = 0; w < workers; w++) {
        ids.push(await boss.work("noop", { batchSize: 1, pollingIntervalSeconds: 0.5 }, async (batch) => { ran += batch.length; }));
      }
      await waitFor(async () => ran >= n, 600_000, "drain");
      const ms = performance.now() - t0;
      for (const id of ids) await boss.offWork({ id }).catch(() => boss.offWork("noop"));
      return ms;
    },
    async teardown() {
      await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    },
  };
}

/** BullMQ on Redis. */
function bullmq({ redisUrl }) {
  const { Queue, Worker } = require("bullmq");
  const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
  let queue;
  let ran = 0;
  return {
    name: "BullMQ (redis)",
    async setup() {
      queue = new Queue("hrp-bench-noop", { connection });
      await queue.obliterate({ force: true }).catch(() => undefined);
    },
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: "noop", data: {}, opts: { removeOnComplete: true } })));
    },
    async drain(n, workers) {
      ran = 0;
      const t0 = performance.now();
      const worker = new Worker("hrp-bench-noop", async () => { ran++; }, { connection, concurrency: workers });
      await waitFor(async () => ran >= n, 600_000, "drain");
      const ms = performance.now() - t0;
      await worker.close();
      return ms;
    },
    async teardown() {
      await queue?.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
    },
  };
}

module.exports = { hrpCron, graphileWorker, pgBoss, bullmq, sleep };
