#!/usr/bin/env node
// Where the enqueue -> start time goes, statement by statement: enqueues one job at a time to an idle worker (concurrency
// 1) and prints, for a few samples, every statement hrp-cron sent from the enqueue's transaction to the method's first
// line, with its start (ms, relative to the moment the enqueue's commit returned), its duration and its connection; then
// p50 / p95 over all samples. Run `npm run build` first.
// Usage: node bench/latency-trace.js [--dialect=postgres|sqlite] [--k=400] [--show=2]
// PostgreSQL: a fresh database `hrp_bench_latency` of HRP_CRON_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const ROOT = path.join(__dirname, "..");
/** The project's own copies (bench/node_modules may hold other versions for the peers): the ones hrp-cron uses. */
const fromRoot = (id) => require(require.resolve(id, { paths: [ROOT] }));
const pg = fromRoot("pg");
const { DataSource } = fromRoot("typeorm");
const lib = require("../dist/src");

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const DIALECT = arg("dialect", "postgres");
const K = Number(arg("k", 400));
const SHOW = Number(arg("show", 2));
const ADMIN_URL = process.env.HRP_CRON_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wraps `proto.query` so every statement sent while `sink.trace` is set is recorded with its timing and connection. */
function traceQueries(proto, sink, textOf) {
  const inner = proto.query;
  const ids = new WeakMap();
  let connections = 0;
  proto.query = function (...args) {
    const started = performance.now();
    if (!ids.has(this)) ids.set(this, ++connections);
    const trace = sink.trace;
    const result = inner.apply(this, args);
    if (trace && result && typeof result.then === "function") {
      const record = () =>
        trace.push({ started, ms: performance.now() - started, conn: ids.get(this), sql: textOf(args) });
      result.then(record, record);
    }
    return result;
  };
}

async function open() {
  if (DIALECT === "sqlite") {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hrp-latency-")), "trace.sqlite");
    return new DataSource({ type: "better-sqlite3", database: file, entities: lib.ENTITIES, enableWAL: true });
  }
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query("DROP DATABASE IF EXISTS hrp_bench_latency WITH (FORCE)");
  await admin.query("CREATE DATABASE hrp_bench_latency");
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, "/hrp_bench_latency");
  return new DataSource({ type: "postgres", url, entities: lib.ENTITIES, poolSize: 20 });
}

async function main() {
  const sink = { trace: null };
  const short = (text) => String(text).trim().replace(/\s+/g, " ").slice(0, 70);
  if (DIALECT === "sqlite") {
    const { BetterSqlite3QueryRunner } = fromRoot("typeorm/driver/better-sqlite3/BetterSqlite3QueryRunner");
    traceQueries(BetterSqlite3QueryRunner.prototype, sink, (args) => short(args[0]));
  } else {
    traceQueries(pg.Client.prototype, sink, (args) => short(typeof args[0] === "string" ? args[0] : args[0]?.text));
  }
  const ds = await open();
  await ds.initialize();
  await lib.migrate(ds);
  let startedAt = null;
  const registry = new lib.ModelRegistry().register("trace", {
    start() {
      startedAt = performance.now();
    },
  });
  const jobs = new lib.JobQueue(ds, { registry });
  const worker = new lib.Dispatcher(ds, registry, { concurrency: 1, logger: lib.consoleLogger("error") });
  await worker.start();
  await sleep(300);
  const samples = [];
  const shown = new Set(Array.from({ length: SHOW }, (_, i) => Math.floor((K * (i + 1)) / (SHOW + 1))));
  for (let i = 0; i < K; i++) {
    startedAt = null;
    const trace = [];
    sink.trace = trace;
    await ds.transaction((manager) => jobs.enqueue("trace.start", { kwargs: { i }, manager }));
    const committed = performance.now();
    while (startedAt === null) await new Promise((r) => setImmediate(r));
    samples.push(startedAt - committed);
    await sleep(5); // the batch's bookkeeping, after the method
    sink.trace = null;
    if (!shown.has(i)) continue;
    console.log(
      `sample ${i}: the method started ${(startedAt - committed).toFixed(2)} ms after the enqueue's commit returned`,
    );
    console.log("  start ms   took ms  conn  statement");
    for (const s of trace.sort((a, b) => a.started - b.started))
      console.log(
        `  ${(s.started - committed).toFixed(2).padStart(8)} ${s.ms.toFixed(2).padStart(9)} ${String(s.conn).padStart(5)}  ${s.sql}`,
      );
  }
  samples.sort((a, b) => a - b);
  const at = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))].toFixed(2);
  console.log(`${DIALECT}: k=${K}, enqueue commit -> method start p50 ${at(0.5)} ms, p95 ${at(0.95)} ms`);
  await worker.stop();
  await ds.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
