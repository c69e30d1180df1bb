#!/usr/bin/env node
// hrp-cron benchmarks against its peers, on this machine, in one run.
// Usage: npm run bench [-- --quick]. Writes bench/results/latest.json, docs/BENCHMARKS.md and docs/bench-throughput.svg.
"use strict";
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Client } = require("pg");
const systems = require("./systems");

const quick = process.argv.includes("--quick");
const N = quick ? 2_000 : 20_000;
const REPS = quick ? 1 : 3;
const WORKERS = 8;
const LATENCY_K = quick ? 200 : 1_000;
const BACKLOGS = quick ? [1_000, 20_000] : [1_000, 100_000, 1_000_000];
const ADMIN_URL = process.env.HRP_CRON_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const dbUrl = (name) => ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const log = (...a) => console.log("[bench]", ...a);

async function freshDb(name) {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return dbUrl(name);
}

async function throughput(make) {
  const enq = [];
  const drn = [];
  let name = "?";
  for (let rep = 0; rep < REPS; rep++) {
    const sys = await make();
    name = sys.name;
    await sys.setup();
    let t0 = performance.now();
    await sys.enqueue(N);
    enq.push((N / (performance.now() - t0)) * 1000);
    drn.push((N / (await sys.drain(N, WORKERS))) * 1000);
    await sys.teardown();
  }
  return { system: name, enqueuePerSec: Math.round(median(enq)), drainPerSec: Math.round(median(drn)), runs: REPS };
}

function pgbench() {
  const url = dbUrl("hrp_bench_pgbench");
  execFileSync("pgbench", ["-i", "-q", "-s", "1", url], { stdio: "ignore" });
  const out = execFileSync("pgbench", ["-N", "-c", String(WORKERS), "-j", "2", "-T", quick ? "3" : "10", url]).toString();
  return Number(/tps = ([\d.]+)/.exec(out)[1]);
}

async function backlog(size) {
  const url = await freshDb("hrp_bench_backlog");
  const sys = systems.hrpCron({ dialect: "postgres", kind: "queue", pgUrl: url });
  await sys.setup();
  const c = new Client({ connectionString: url });
  await c.connect();
  // Future-dated recurring crons: never due during the run, but in the table.
  await c.query(`INSERT INTO ir_cron (name, user_id, nextcall, numbercall, model, function, queue)
                 SELECT 'future ' || g, 1, now() + interval '1 year', -1, 'bench', 'noop', 'default' FROM generate_series(1, $1) g`, [size]);
  await c.query("ANALYZE ir_cron");
  await c.end();
  const n = quick ? 1_000 : 5_000;
  await sys.enqueue(n);
  const ms = await sys.drain(n, WORKERS);
  await sys.teardown();
  return { backlog: size, drainPerSec: Math.round((n / ms) * 1000) };
}

async function idleCost() {
  const url = await freshDb("hrp_bench_idle");
  const child = spawn(process.execPath, [path.join(__dirname, "idle-worker.js")], { env: { ...process.env, BENCH_PG_URL: url } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  while (!out.includes("ready")) await systems.sleep(50);
  await systems.sleep(3000);
  const stat = async () => {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    const r = await c.query(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = 'hrp_bench_idle'`);
    await c.end();
    return Number(r.rows[0].n);
  };
  const seconds = quick ? 10 : 30;
  const before = await stat();
  await systems.sleep(seconds * 1000);
  const after = await stat();
  child.stdin.write("rss\n");
  while (!/rss \d+/.test(out)) await systems.sleep(50);
  const rss = Number(/rss (\d+)/.exec(out)[1]);
  child.kill("SIGTERM");
  // Each of our statements runs in a transaction, so committed transactions/s bounds queries/s from below; the stats collector adds a little.
  return { rssMb: Math.round(rss / 1e6), transactionsPerSec: Number(((after - before) / seconds).toFixed(2)) };
}

async function main() {
  const started = new Date();
  const machine = `${os.cpus().length} x ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  log(`mode ${quick ? "quick" : "full"}: N=${N}, workers=${WORKERS}, reps=${REPS}; ${machine}`);
  const results = { date: started.toISOString(), machine, mode: quick ? "quick" : "full", N, workers: WORKERS, throughput: [], latency: [], backlog: [], errors: [] };
  const sqliteFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hrp-bench-")), "bench.sqlite");
  const candidates = [
    () => systems.hrpCron({ dialect: "sqlite", kind: "queue", sqliteFile: sqliteFile() }),
    () => systems.hrpCron({ dialect: "sqlite", kind: "runByCron", sqliteFile: sqliteFile() }),
    async () => systems.hrpCron({ dialect: "postgres", kind: "queue", pgUrl: await freshDb("hrp_bench_hrp") }),
    async () => systems.hrpCron({ dialect: "postgres", kind: "runByCron", pgUrl: await freshDb("hrp_bench_hrp") }),
    async () => systems.graphileWorker({ pgUrl: await freshDb("hrp_bench_gw") }),
    async () => systems.graphileWorker({ pgUrl: await freshDb("hrp_bench_gw"), batched: true }),
    async () => systems.pgBoss({ pgUrl: await freshDb("hrp_bench_pgboss") }),
    async () => systems.bullmq({}),
  ];
  for (const make of candidates) {
    try {
      const r = await throughput(make);
      log(`${r.system}: enqueue ${r.enqueuePerSec}/s, drain ${r.drainPerSec}/s`);
      results.throughput.push(r);
    } catch (error) {
      log(`failed: ${error.message}`);
      results.errors.push(String(error.stack || error).split("\n").slice(0, 3).join(" | "));
    }
  }
  for (const [label, make] of [
    ["hrp-cron queue (sqlite)", () => systems.hrpCron({ dialect: "sqlite", kind: "queue", sqliteFile: sqliteFile() })],
    ["hrp-cron queue (postgres)", async () => systems.hrpCron({ dialect: "postgres", kind: "queue", pgUrl: await freshDb("hrp_bench_lat") })],
  ]) {
    const sys = await make();
    await sys.setup();
    const samples = await sys.latency(LATENCY_K);
    await sys.teardown();
    const r = { system: label, p50Ms: +pct(samples, 50).toFixed(2), p95Ms: +pct(samples, 95).toFixed(2), p99Ms: +pct(samples, 99).toFixed(2) };
    log(`latency ${label}: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms`);
    results.latency.push(r);
  }
  for (const size of BACKLOGS) {
    const r = await backlog(size);
    log(`backlog ${size}: drain ${r.drainPerSec}/s`);
    results.backlog.push(r);
  }
  await freshDb("hrp_bench_pgbench");
  results.pgbenchTps = Math.round(pgbench());
  log(`pgbench -N: ${results.pgbenchTps} tps`);
  results.idle = await idleCost();
  log(`idle: ${results.idle.rssMb} MB RSS, ${results.idle.transactionsPerSec} transactions/s`);

  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "latest.json"), JSON.stringify(results, null, 2));
  require("./report").write(results, path.join(__dirname, "..", "docs"));
  log("wrote bench/results/latest.json, docs/BENCHMARKS.md, docs/bench-throughput.svg");
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
