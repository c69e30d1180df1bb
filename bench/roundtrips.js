#!/usr/bin/env node
// Round trips per job of an hrp-cron drain: on PostgreSQL every message the `pg` driver sends on any connection of the
// DataSource is counted (one `Client.query` call = one round trip: node-postgres sends the next query only once the
// previous one was answered); on SQLite every statement prepared through better-sqlite3 (one call into the library).
// Grouped by statement, per job; with the CPU time per job of this process (and of a local PostgreSQL server's
// processes). Needs a built tree (npm run build).
// Usage: node bench/roundtrips.js [--n=5000] [--workers=8] [--workloads=noop,write1,write5] [--kind=queue|runByCron]
//   [--dialect=postgres|sqlite] [--fillfactor=N]: PostgreSQL: ALTER TABLE ir_cron, hrp_cron_job SET (fillfactor = N) before
//   the enqueue; the row updates of the drain (n_tup_upd, of which HOT: n_tup_hot_upd) are reported either way
//   [--profile=DIR]: a V8 CPU profile of each drain alone (DIR/<kind>-<workload>.cpuprofile; open it in Chrome DevTools)
// PostgreSQL: HRP_CRON_PG_URL (default postgres://postgres@127.0.0.1:5432/test); the database hrp_bench_roundtrips is
// dropped and created there.
"use strict";
const fs = require("node:fs");
const inspector = require("node:inspector");
const os = require("node:os");
const path = require("node:path");
const Sqlite = require("better-sqlite3");
const { Client } = require("pg");
const systems = require("./systems");
const { workload } = require("./workloads");

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const N = Number(arg("n") || 5_000);
const WORKERS = Number(arg("workers") || 8);
const KIND = arg("kind") || "queue";
const WORKLOADS = (arg("workloads") || "noop,write1").split(",").map(workload);
const PROFILE_DIR = arg("profile");
const DIALECT = arg("dialect") || "postgres";
const FILLFACTOR = arg("fillfactor");
const UPDATED_TABLES = ["ir_cron", "hrp_cron_job"];

/**
 * pg_stat_statements of the database at `url`, when the server preloads it (else null): `reset` clears it, `read`
 * returns the statements run since, busiest first ({ query, calls, ms: total execution time }).
 */
async function statementStats(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await c.query("SELECT pg_stat_statements_reset()");
  } catch {
    await c.end();
    return null;
  }
  return {
    async read() {
      const r = await c.query(
        `SELECT query, calls::int, total_exec_time + total_plan_time AS ms FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
          ORDER BY ms DESC`,
      );
      await c.end();
      return r.rows;
    },
  };
}

/** Row updates so far of the tables a job's run updates (pg_stat_user_tables), by table. */
async function rowUpdates(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  const r = await c.query(
    "SELECT relname, n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = ANY($1) ORDER BY relname",
    [UPDATED_TABLES],
  );
  await c.end();
  return r.rows;
}
const ADMIN_URL = process.env.HRP_CRON_PG_URL || "postgres://postgres@127.0.0.1:5432/test";

/** What a statement is, for grouping: its first words, numbers and placeholders folded. */
function classify(config) {
  const text = typeof config === "string" ? config : (config?.text ?? "");
  return text
    .replace(/\s+/g, " ")
    .replace(/\$\d+|\b\d+\b|(?<=hrp_job_)\d+/g, "N")
    .trim()
    .slice(0, 70);
}

const counts = new Map();
let counting = false;
const count = (config) => {
  if (!counting) return;
  const key = classify(config);
  counts.set(key, (counts.get(key) ?? 0) + 1);
};
const original = Client.prototype.query;
Client.prototype.query = function (config, ...rest) {
  count(config);
  return original.call(this, config, ...rest);
};
const prepare = Sqlite.prototype.prepare;
Sqlite.prototype.prepare = function (source, ...rest) {
  count(source);
  return prepare.call(this, source, ...rest);
};

async function freshDb(name) {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
}

/**
 * CPU time (user + system, ms) used so far by the PostgreSQL server's processes, when the server runs on this machine
 * and /proc is readable (else null): every child of the postmaster, found from our own backend's parent pid. A process
 * that exits meanwhile takes its time with it; the DataSource's pooled connections live through a drain.
 */
async function serverCpuMs() {
  try {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const stat = (p) =>
      fs
        .readFileSync(`/proc/${p}/stat`, "utf8")
        .replace(/^.*\) /, "")
        .split(" ");
    const postmaster = stat(pid)[1];
    await c.end();
    const tick = 10; // ms per clock tick (USER_HZ 100)
    let ms = 0;
    for (const p of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const f = stat(p);
        if (f[1] === postmaster || p === postmaster) ms += (Number(f[11]) + Number(f[12])) * tick;
      } catch {
        // gone meanwhile
      }
    }
    return ms;
  } catch {
    return null;
  }
}

/** Starts the V8 profiler of this process; the returned function stops it and writes the profile to `file`. */
async function profile(file) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 100 });
  await post("Profiler.start");
  return async () => {
    const { profile: p } = await post("Profiler.stop");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(p));
    session.disconnect();
  };
}

async function main() {
  for (const w of WORKLOADS) {
    const where =
      DIALECT === "sqlite"
        ? { sqliteFile: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hrp-roundtrips-")), "bench.sqlite") }
        : { pgUrl: await freshDb("hrp_bench_roundtrips") };
    const system = systems.hrpCron({ dialect: DIALECT, kind: KIND, ...where, workload: w });
    await system.setup();
    if (FILLFACTOR && where.pgUrl) {
      const c = new Client({ connectionString: where.pgUrl });
      await c.connect();
      for (const t of UPDATED_TABLES) await c.query(`ALTER TABLE ${t} SET (fillfactor = ${Number(FILLFACTOR)})`);
      await c.end();
    }
    await system.enqueue(N);
    await new Promise((r) => setTimeout(r, 1_200)); // backends report their statistics when idle for up to 1 s
    const updates0 = where.pgUrl ? await rowUpdates(where.pgUrl) : null;
    const stats = where.pgUrl ? await statementStats(where.pgUrl) : null;
    counts.clear();
    const server0 = DIALECT === "postgres" ? await serverCpuMs() : null;
    const stopProfile = PROFILE_DIR
      ? await profile(path.join(PROFILE_DIR, `${DIALECT}-${KIND}-${w.key}.cpuprofile`))
      : null;
    const cpu0 = process.cpuUsage();
    counting = true;
    const t0 = performance.now();
    await system.drain(N, WORKERS);
    const ms = performance.now() - t0;
    counting = false;
    const cpu = process.cpuUsage(cpu0);
    await stopProfile?.();
    const server1 = DIALECT === "postgres" ? await serverCpuMs() : null;
    const nodeUs = ((cpu.user + cpu.system) / N).toFixed(0);
    const serverUs = server0 === null || server1 === null ? "n/a" : (((server1 - server0) * 1000) / N).toFixed(0);
    await system.teardown();
    await new Promise((r) => setTimeout(r, where.pgUrl ? 1_200 : 0));
    const updates1 = where.pgUrl ? await rowUpdates(where.pgUrl) : null;
    const statements = stats ? await stats.read() : null;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `\n${DIALECT} ${KIND} [${w.key}] ${N} jobs, ${WORKERS} workers: ${(total / N).toFixed(3)} ${DIALECT === "sqlite" ? "statements" : "round trips"} per job (${total} in all), ${Math.round((N / ms) * 1000)} jobs/s; CPU per job: node ${nodeUs} µs, PostgreSQL ${serverUs} µs`,
    );
    if (updates0 && updates1)
      console.log(
        `  row updates per job${FILLFACTOR ? ` (fillfactor ${FILLFACTOR})` : ""}: ` +
          updates1
            .map((u, i) => {
              const upd = u.upd - updates0[i].upd;
              return `${u.relname} ${(upd / N).toFixed(2)} (HOT ${((u.hot - updates0[i].hot) / N).toFixed(2)})`;
            })
            .join(", "),
      );
    for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1]))
      console.log(`  ${(n / N).toFixed(3).padStart(7)}  ${String(n).padStart(6)}  ${key}`);
    if (statements) {
      const serverMs = statements.reduce((a, r) => a + r.ms, 0);
      console.log(
        `  pg_stat_statements: ${((serverMs * 1000) / N).toFixed(1)} µs of execution (incl. planning) per job; per statement:`,
      );
      for (const r of statements.slice(0, 15))
        console.log(
          `  ${(r.calls / N).toFixed(3).padStart(7)} calls/job ${((r.ms * 1000) / N).toFixed(1).padStart(6)} µs/job ${((r.ms * 1000) / r.calls).toFixed(1).padStart(7)} µs/call  ${classify(r.query)}`,
        );
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
