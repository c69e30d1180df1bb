#!/usr/bin/env node
// hrp-cron benchmarks against its peers, on this machine, in one run.
// Usage: npm run bench [-- --quick] [-- --n=100000] [-- --reps=3] [-- --pgboss-batch=100] [-- --only=graphile,pg-boss]
//   [-- --sections=throughput,latency] [-- --workloads=noop,write1,write5]
// The throughput section runs every workload of bench/workloads.js (no-op jobs; jobs writing one row; jobs running 5
// statements) on every system; after each drain of a writing workload it checks exactly-once effects (N rows, N
// distinct keys) and a run where any system lost or duplicated a row exits with status 1 after writing its results.
// A full run writes bench/results/latest.json, docs/BENCHMARKS.md and docs/bench-throughput.svg; a run restricted with
// --only, --sections or --workloads writes bench/results/partial.json and leaves the docs alone.
"use strict";
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Client } = require("pg");
const systems = require("./systems");
const { WORKLOADS, workload } = require("./workloads");

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = process.argv.includes("--quick");
const N = Number(arg("n") || (quick ? 10_000 : 20_000));
const REPS = Number(arg("reps") || (quick ? 1 : 3));
const ONLY = arg("only")
  ?.split(",")
  .map((s) => s.toLowerCase());
const SECTIONS = arg("sections")?.split(",") ?? ["throughput", "latency", "backlog", "pgbench", "idle"];
const RUN_WORKLOADS = (arg("workloads")?.split(",") ?? WORKLOADS.map((w) => w.key)).map(workload);
const partial = Boolean(ONLY || arg("sections") || arg("workloads"));
const WORKERS = 8;
const PGBOSS_BATCH = Number(arg("pgboss-batch") || 100);
const LATENCY_K = quick ? 200 : 1_000;
const PGBOSS_LATENCY_K = quick ? 100 : 200; // each sample waits ~0.5 s (random arrival + poll)
const BACKLOGS = quick ? [1_000, 20_000] : [1_000, 100_000, 1_000_000];
const ADMIN_URL = process.env.HRP_CRON_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const dbUrl = (name) => ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const dbName = (url) => new URL(url).pathname.slice(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const wanted = (name) => !ONLY || ONLY.some((o) => name.toLowerCase().includes(o));

/**
 * Prefix of the benchmark's databases (default `hrp_bench`): give each of several runs on one server its own
 * (HRP_BENCH_DB_PREFIX=hrp_bench_a), since every system gets a fresh database by DROP DATABASE ... WITH (FORCE),
 * which would end another run's connections.
 */
const DB_PREFIX = process.env.HRP_BENCH_DB_PREFIX || "hrp_bench";
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(DB_PREFIX))
  throw new Error(`HRP_BENCH_DB_PREFIX must be a lower-case SQL name, got ${DB_PREFIX}`);

async function freshDb(name) {
  name = name.replace(/^hrp_bench/, DB_PREFIX);
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return dbUrl(name);
}

/** Committed + rolled-back transactions of one database so far (pg_stat_database). */
async function pgTransactions(url) {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const r = await admin.query("SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1", [
    dbName(url),
  ]);
  await admin.end();
  return Number(r.rows[0].n);
}
// A backend flushes its transaction counts to pg_stat_database when it has been idle for up to 1 s (PostgreSQL 15+), or exits.
const STATS_SETTLE_MS = 1_200;
const IDLE_SETTLE_MS = 15_000;

// The systems, each with a stable key so that repetitions can run round-robin (rep 1 of every system, then rep 2, ...),
// which spreads any background noise over all systems instead of concentrating it on one.
const sqliteFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hrp-bench-")), "bench.sqlite");
// Each maker takes the workload (default: no-op jobs) and returns the adapter, on a fresh database / SQLite file.
const CANDIDATES = [
  [
    "hrp-cron queue (sqlite)",
    (workload) => systems.hrpCron({ dialect: "sqlite", kind: "queue", sqliteFile: sqliteFile(), workload }),
  ],
  [
    "hrp-cron runByCron (sqlite)",
    (workload) => systems.hrpCron({ dialect: "sqlite", kind: "runByCron", sqliteFile: sqliteFile(), workload }),
  ],
  [
    "hrp-cron queue (postgres)",
    async (workload) =>
      systems.hrpCron({ dialect: "postgres", kind: "queue", pgUrl: await freshDb("hrp_bench_hrp"), workload }),
  ],
  [
    "hrp-cron runByCron (postgres)",
    async (workload) =>
      systems.hrpCron({ dialect: "postgres", kind: "runByCron", pgUrl: await freshDb("hrp_bench_hrp"), workload }),
  ],
  [
    "graphile-worker (postgres)",
    async (workload) => systems.graphileWorker({ pgUrl: await freshDb("hrp_bench_gw"), workload }),
  ],
  [
    "graphile-worker batched (postgres)",
    async (workload) => systems.graphileWorker({ pgUrl: await freshDb("hrp_bench_gw"), batched: true, workload }),
  ],
  [
    "pg-boss (postgres)",
    async (workload) => systems.pgBoss({ pgUrl: await freshDb("hrp_bench_pgboss"), batchSize: PGBOSS_BATCH, workload }),
  ],
  [
    "BullMQ (redis)",
    async (workload) =>
      systems.bullmq({ appUrl: workload?.job ? await freshDb("hrp_bench_bullmq_app") : undefined, workload }),
  ],
  ["BullMQ (postgres)", async (workload) => systems.bullmq({ pgUrl: await freshDb("hrp_bench_bullmq"), workload })],
].filter(([name]) => wanted(name));

async function oneRep(make, w) {
  const sys = await make(w);
  let r;
  await sys.setup();
  try {
    const t0 = performance.now();
    await sys.enqueue(N);
    const enqueueMs = performance.now() - t0;
    if (sys.pgUrl) {
      await systems.sleep(STATS_SETTLE_MS);
      r = { before: await pgTransactions(sys.pgUrl) };
    }
    const load1 = os.loadavg()[0];
    let d;
    try {
      d = await sys.drain(N, WORKERS);
    } catch (error) {
      // A drain that never saw all N rows: say what the application table holds (lost or duplicated rows).
      const check = await sys.check(N).catch(() => undefined);
      if (check && !check.ok) error.message += `; exactly-once check: ${check.problem}`;
      error.check = check;
      throw error;
    }
    const check = await sys.check(N);
    const leftover = await sys.remaining();
    r = {
      ...r,
      name: sys.name,
      config: sys.config,
      bulkEnqueue: sys.bulkEnqueue,
      enqueueMs,
      drainMs: d.ms,
      drainWithStartupMs: d.msWithStartup,
      handlerMs: d.handlerMs,
      leftover,
      load1,
      check,
      harnessQueries: sys.harnessQueries(),
    };
  } finally {
    await sys.teardown();
  }
  if (sys.pgUrl) {
    // Counted after the teardown closed every connection of the system (and the harness's own to the application
    // tables): a backend that was busy until the end of the drain holds back up to a second of counts for 10 s
    // (PGSTAT_IDLE_INTERVAL) while it idles, but sends them when it exits. The harness's own statements on its
    // application connection (end-of-drain polls, the check) are left out; its polls of the system's queue are not.
    await systems.sleep(STATS_SETTLE_MS);
    r.xactsPerJob = ((await pgTransactions(sys.pgUrl)) - r.before - r.harnessQueries) / N;
  }
  return r;
}

/** Medians over the repetitions of one system on one workload: a row of the JSON (and of a report table). */
function summarise(key, w, rs) {
  const perSec = (ms) => Math.round((N / ms) * 1000);
  const checks = rs.map((r) => r.check).filter(Boolean);
  return {
    system: key,
    workload: w.key,
    config: rs[0].config,
    bulkEnqueue: rs[0].bulkEnqueue,
    enqueuePerSec: perSec(median(rs.map((r) => r.enqueueMs))),
    drainPerSec: perSec(median(rs.map((r) => r.drainMs))),
    drainWithStartupPerSec: perSec(median(rs.map((r) => r.drainWithStartupMs))),
    drainToLastHandlerPerSec: perSec(median(rs.map((r) => r.handlerMs))),
    pgTransactionsPerJob:
      rs[0].xactsPerJob === undefined ? undefined : +median(rs.map((r) => r.xactsPerJob)).toFixed(3),
    leftover: Math.max(0, ...rs.map((r) => r.leftover ?? 0)),
    ...(checks.length ? { exactlyOnce: { ok: checks.every((c) => c.ok), runs: checks } } : {}),
    runs: rs.length,
    drainPerSecRuns: rs.map((r) => perSec(r.drainMs)),
    load1: rs.map((r) => +r.load1.toFixed(2)),
  };
}

/**
 * Every workload on every system, REPS times, round-robin (rep 1 of every workload and system, then rep 2, ...).
 * No-op rows go to results.throughput (the shape earlier runs wrote); writing workloads to results.writes, one entry
 * per workload with its rows. A failed exactly-once check is logged loudly and listed in results.exactlyOnceViolations.
 */
async function throughput(results) {
  const reps = new Map(RUN_WORKLOADS.flatMap((w) => CANDIDATES.map(([key]) => [`${w.key}/${key}`, []])));
  for (let rep = 0; rep < REPS; rep++) {
    for (const w of RUN_WORKLOADS) {
      for (const [key, make] of CANDIDATES) {
        const label = `${key} [${w.key}]`;
        try {
          const r = await oneRep(make, w);
          reps.get(`${w.key}/${key}`).push(r);
          log(
            `${label} rep ${rep + 1}/${REPS}: enqueue ${Math.round((N / r.enqueueMs) * 1000)}/s, drain ${Math.round((N / r.drainMs) * 1000)}/s ` +
              `(incl. start-up ${Math.round((N / r.drainWithStartupMs) * 1000)}/s, to last handler return ${Math.round((N / r.handlerMs) * 1000)}/s)` +
              (r.xactsPerJob !== undefined ? `, ${r.xactsPerJob.toFixed(3)} PG transactions/job` : "") +
              (r.leftover ? `, ${r.leftover} jobs NOT completed` : "") +
              (r.check
                ? r.check.ok
                  ? `, exactly-once OK (${r.check.rows} rows, ${r.check.keys} distinct keys)`
                  : ""
                : "") +
              `, load ${r.load1.toFixed(2)}`,
          );
          if (r.check && !r.check.ok) violation(results, label, rep, r.check);
        } catch (error) {
          log(`${label} failed: ${error.message}`);
          results.errors.push(
            `${label}: ${String(error.stack || error)
              .split("\n")
              .slice(0, 3)
              .join(" | ")}`,
          );
          if (error.check && !error.check.ok) violation(results, label, rep, error.check);
        }
      }
    }
  }
  for (const w of RUN_WORKLOADS) {
    const rows = CANDIDATES.map(([key]) => [key, reps.get(`${w.key}/${key}`)])
      .filter(([, rs]) => rs.length)
      .map(([key, rs]) => summarise(key, w, rs));
    if (w.key === "noop") results.throughput.push(...rows);
    else
      results.writes.push({
        workload: w.key,
        label: w.label,
        statementsPerJob: w.statementsPerJob,
        description: w.description,
        rows,
      });
  }
}

function violation(results, label, rep, check) {
  const line = `${label} rep ${rep + 1}: ${check.problem} (${check.rows} rows, ${check.keys} distinct keys, N = ${N})`;
  results.exactlyOnceViolations.push(line);
  console.error(`\n[bench] !!! EXACTLY-ONCE VIOLATED: ${line}\n`);
}

async function latency(results) {
  for (const [key, make] of CANDIDATES) {
    if (key.includes("runByCron")) continue;
    const k = key.startsWith("pg-boss") ? Math.min(LATENCY_K, PGBOSS_LATENCY_K) : LATENCY_K;
    try {
      const sys = await make();
      await sys.setup();
      let samples;
      try {
        samples = await sys.latency(k);
      } finally {
        await sys.teardown();
      }
      const r = {
        system: key,
        k,
        p50Ms: +pct(samples, 50).toFixed(2),
        p95Ms: +pct(samples, 95).toFixed(2),
        p99Ms: +pct(samples, 99).toFixed(2),
        maxMs: +Math.max(...samples).toFixed(2),
      };
      log(`latency ${key}: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms (k=${k})`);
      results.latency.push(r);
    } catch (error) {
      log(`latency ${key} failed: ${error.message}`);
      results.errors.push(
        `latency ${key}: ${String(error.stack || error)
          .split("\n")
          .slice(0, 3)
          .join(" | ")}`,
      );
    }
  }
}

function pgbench() {
  const url = dbUrl(`${DB_PREFIX}_pgbench`);
  execFileSync("pgbench", ["-i", "-q", "-s", "1", url], { stdio: "ignore" });
  const out = execFileSync("pgbench", [
    "-N",
    "-c",
    String(WORKERS),
    "-j",
    "2",
    "-T",
    quick ? "5" : "10",
    url,
  ]).toString();
  return Number(/tps = ([\d.]+)/.exec(out)[1]);
}

async function backlog(size) {
  const url = await freshDb("hrp_bench_backlog");
  const sys = systems.hrpCron({ dialect: "postgres", kind: "queue", pgUrl: url });
  await sys.setup();
  const c = new Client({ connectionString: url });
  await c.connect();
  // Future-dated recurring crons: never due during the run, but in ir_cron.
  await c.query(
    `INSERT INTO ir_cron (name, user_id, nextcall, numbercall, model, function, queue)
                 SELECT 'future ' || g, 1, now() + interval '1 year', -1, 'bench', 'noop', 'default' FROM generate_series(1, $1) g`,
    [size],
  );
  // Future-dated queue jobs (a retry's backoff, a delayed job): copies of one job due in a year, in hrp_cron_job,
  // the table the queue jobs below are claimed from (model 'future', so the drain's end does not wait for them).
  await sys.enqueue(1);
  const { rows } = await c.query(
    `SELECT string_agg(quote_ident(column_name), ', ') AS cols FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'hrp_cron_job' AND column_name NOT IN ('id', 'nextcall', 'model')`,
  );
  await c.query(
    `INSERT INTO hrp_cron_job (${rows[0].cols}, nextcall, model)
       SELECT ${rows[0].cols}, now() + interval '1 year', 'future' FROM hrp_cron_job, generate_series(1, $1) g`,
    [size],
  );
  await c.query("DELETE FROM hrp_cron_job WHERE nextcall < now() + interval '1 day'");
  await c.query("ANALYZE ir_cron");
  await c.query("ANALYZE hrp_cron_job");
  await c.end();
  const n = quick ? 1_000 : 5_000;
  await sys.enqueue(n);
  const d = await sys.drain(n, WORKERS);
  await sys.teardown();
  return { backlog: size, drainPerSec: Math.round((n / d.ms) * 1000) };
}

async function idleCost() {
  const url = await freshDb("hrp_bench_idle");
  const child = spawn(process.execPath, [path.join(__dirname, "idle-worker.js")], {
    env: { ...process.env, BENCH_PG_URL: url },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  while (!out.includes("ready")) await systems.sleep(50);
  // Let the start-up's own transactions (migrations, registration) reach pg_stat_database first: traced on
  // PostgreSQL 15, they kept arriving for ~8 s after "ready" and made a 3 s wait count ~20 of them as idle traffic.
  await systems.sleep(IDLE_SETTLE_MS);
  const seconds = quick ? 10 : 30;
  const before = await pgTransactions(url);
  await systems.sleep(seconds * 1000);
  const after = await pgTransactions(url);
  child.stdin.write("rss\n");
  while (!/rss \d+/.test(out)) await systems.sleep(50);
  const rss = Number(/rss (\d+)/.exec(out)[1]);
  child.kill("SIGTERM");
  // Each of our statements runs in a transaction, so committed transactions/s bounds queries/s from below; the stats collector adds a little.
  return { rssMb: Math.round(rss / 1e6), transactionsPerSec: Number(((after - before) / seconds).toFixed(2)) };
}

function peerVersions() {
  const v = {};
  for (const p of ["graphile-worker", "pg-boss", "bullmq", "ioredis", "pg"]) {
    try {
      v[p] = require(`${p}/package.json`).version;
    } catch {
      v[p] = "not installed";
    }
  }
  return v;
}

async function main() {
  const started = new Date();
  const machine = `${os.cpus().length} x ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const versions = peerVersions();
  log(
    `mode ${quick ? "quick" : "full"}: N=${N}, workers=${WORKERS}, reps=${REPS}, workloads=${RUN_WORKLOADS.map((w) => w.key).join(",")}; ${machine}; ${JSON.stringify(versions)}`,
  );
  const results = {
    date: started.toISOString(),
    machine,
    mode: quick ? "quick" : "full",
    N,
    workers: WORKERS,
    reps: REPS,
    pgBossBatchSize: PGBOSS_BATCH,
    versions,
    loadAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    workloads: RUN_WORKLOADS.map((w) => w.key),
    throughput: [],
    writes: [],
    latency: [],
    backlog: [],
    errors: [],
    exactlyOnceViolations: [],
  };
  if (SECTIONS.includes("throughput")) await throughput(results);
  if (SECTIONS.includes("latency")) await latency(results);
  if (SECTIONS.includes("backlog") && !ONLY) {
    for (const size of BACKLOGS) {
      const r = await backlog(size);
      log(`backlog ${size}: drain ${r.drainPerSec}/s`);
      results.backlog.push(r);
    }
  }
  if (SECTIONS.includes("pgbench")) {
    await freshDb("hrp_bench_pgbench");
    results.pgbenchTps = Math.round(pgbench());
    log(`pgbench -N: ${results.pgbenchTps} tps`);
  }
  if (SECTIONS.includes("idle") && !ONLY) {
    results.idle = await idleCost();
    log(`idle: ${results.idle.rssMb} MB RSS, ${results.idle.transactionsPerSec} transactions/s`);
  }
  results.durationSec = Math.round((Date.now() - started.getTime()) / 1000);

  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  if (partial) {
    fs.writeFileSync(path.join(__dirname, "results", "partial.json"), JSON.stringify(results, null, 2));
    log("partial run: wrote bench/results/partial.json only");
  } else {
    fs.writeFileSync(path.join(__dirname, "results", "latest.json"), JSON.stringify(results, null, 2));
    require("./report").write(results, path.join(__dirname, "..", "docs"));
    log("wrote bench/results/latest.json, docs/BENCHMARKS.md, docs/bench-throughput.svg");
  }
  return results;
}

// Each system gets a fresh database (DROP DATABASE ... WITH (FORCE)). A peer whose pool still holds an idle
// connection to a database being dropped gets "terminating connection due to administrator command" (57P01) on
// it, and some peers' pools have no 'error' listener; that must not end the whole run.
process.on("uncaughtException", (error) => {
  if (error && error.code === "57P01")
    return log(`ignored a dropped idle connection of a finished system: ${error.message}`);
  console.error(error);
  process.exit(1);
});

main().then(
  (results) => {
    const bad = results.exactlyOnceViolations;
    if (bad.length)
      console.error(
        `\n[bench] !!! ${bad.length} drain(s) LOST OR DUPLICATED application rows (exactly-once violated):\n${bad.map((b) => `  - ${b}`).join("\n")}`,
      );
    process.exit(bad.length ? 1 : 0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
