#!/usr/bin/env node
// Proves that the benchmark's exactly-once check and the writing drain's end-condition can fail: on SQLite and on
// PostgreSQL, the check passes for N rows with N distinct keys and flags a duplicated row, a lost row and a lost
// move line; end to end, an hrp-cron drain whose job code writes one key twice is flagged, and one whose job code
// skips a key fails the drain (the rows never all become visible) with the check saying which key count is short.
// Usage: node bench/selftest.js (after npm run build and node bench/deps.js). Exits 1 on the first failed assertion.
"use strict";
process.env.HRP_BENCH_SETTLE_TIMEOUT_MS = "1500";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Client } = require("pg");
const systems = require("./systems");
const workloads = require("./workloads");

const ADMIN_URL = process.env.HRP_CRON_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const DB = "hrp_bench_selftest";
const N = 60;
const sqliteFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hrp-bench-selftest-")), "app.sqlite");

async function freshDb() {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  return ADMIN_URL.replace(/\/[^/]*$/, `/${DB}`);
}

/** The check itself, on tables the test fills and then damages. */
async function checkCatchesDamage(where) {
  const store = await workloads.openAppStore(where);
  await workloads.createSchema(store);
  const db = { query: store.query, transaction: (fn) => fn(db) };
  const write1 = workloads.workload("write1");
  const write5 = workloads.workload("write5");
  for (let k = 0; k < N; k++) await write5.job(db, k);
  let c = await workloads.checkExactlyOnce(store, write5, N);
  assert.equal(c.ok, true, `complete run: ${c.problem}`);
  assert.deepEqual([c.rows, c.keys, c.lines, c.posted], [N, N, 2 * N, N]);

  await store.query("DELETE FROM bench_move_line WHERE id = (SELECT min(id) FROM bench_move_line)");
  c = await workloads.checkExactlyOnce(store, write5, N);
  assert.equal(c.ok, false);
  assert.match(c.problem, new RegExp(`${2 * N - 1} move lines, expected ${2 * N}`));

  await write1.job(db, 7);
  c = await workloads.checkExactlyOnce(store, write1, N);
  assert.equal(c.ok, false);
  assert.match(c.problem, /^1 duplicated row\(s\)$/);

  await store.query("DELETE FROM bench_move WHERE job_key = $1", [7]);
  c = await workloads.checkExactlyOnce(store, write1, N);
  assert.equal(c.ok, false);
  assert.match(c.problem, /1 key\(s\) lost \(59 distinct of 60\)/);

  // The highest key missing and another key duplicated: the row count is right, the keys are not.
  await store.query("DELETE FROM bench_move WHERE job_key = $1", [N - 1]);
  await write1.job(db, 3);
  await write1.job(db, 7);
  c = await workloads.checkExactlyOnce(store, write1, N);
  assert.equal(c.ok, false);
  assert.match(c.problem, /1 duplicated row\(s\); 1 key\(s\) lost/);
  await store.close();
  console.log(
    `[selftest] ${where.sqliteFile ? "sqlite" : "postgres"}: the check flags a lost line, a duplicate, a lost key`,
  );
}

/** A writing workload whose job code does something wrong for one key. */
const faulty = (fault) => {
  const w = workloads.workload("write1");
  return {
    ...w,
    async job(db, k) {
      if (fault === "lose" && k === 5) return;
      await w.job(db, k);
      if (fault === "duplicate" && k === 5) await w.job(db, k);
    },
  };
};

async function endToEnd(where, fault) {
  const sys = systems.hrpCron({ ...where, kind: "queue", workload: faulty(fault) });
  await sys.setup();
  try {
    await sys.enqueue(N);
    let drained = null;
    let error = null;
    try {
      drained = await sys.drain(N, 4);
    } catch (e) {
      error = e;
    }
    const c = await sys.check(N);
    assert.equal(c.ok, false, `${fault}: the check passed`);
    if (fault === "duplicate") {
      assert.ok(drained, `duplicate: the drain should end (N + 1 rows visible): ${error?.message}`);
      assert.match(c.problem, /1 duplicated row\(s\)/);
    } else {
      assert.ok(error, "lose: the drain should fail, 59 of 60 rows never reach 60");
      assert.match(error.message, /59 of 60 rows were visible/);
      assert.match(c.problem, /1 key\(s\) lost/);
    }
    console.log(
      `[selftest] ${where.dialect} end to end, job code that ${fault === "lose" ? "skips" : "repeats"} a write: ${error ? `drain failed (${error.message}); ` : ""}check: ${c.problem}`,
    );
  } finally {
    await sys.teardown();
  }
}

(async () => {
  await checkCatchesDamage({ sqliteFile: sqliteFile() });
  await checkCatchesDamage({ pgUrl: await freshDb() });
  for (const fault of ["duplicate", "lose"]) {
    await endToEnd({ dialect: "sqlite", sqliteFile: sqliteFile() }, fault);
    await endToEnd({ dialect: "postgres", pgUrl: await freshDb() }, fault);
  }
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
  console.log("[selftest] ok");
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
