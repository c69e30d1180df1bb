#!/usr/bin/env node
// How long a page of the dashboard's job list takes on a table of a million jobs: the first page, a deep keyset page,
// state tabs, a queue filter, and the two searches that cannot use an index (an argument's value, error text).
// Usage: npm run build && node bench/dashboard-paging.js [--rows=1000000] [--pg=postgres://…]
// Each URL is answered by Dashboard.handle in this process (query + rendering, no socket), 7 times; the median is shown.
"use strict";
const os = require("node:os");
const fs = require("node:fs");
const path = require("node:path");
const { DataSource } = require("typeorm");
const { ENTITIES, migrate, backendFor } = require("../dist/src");
const { Dashboard } = require("../dist/src/dashboard");

const arg = (name) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split("=")
    .slice(1)
    .join("=");
const ROWS = Number(arg("rows") || 1_000_000);
const PG = arg("pg") ?? process.env.HRP_CRON_PG_URL;

async function fill(ds) {
  const backend = backendFor(ds);
  const t0 = Date.now();
  // 90% done, 5% failed, 4% cancelled, 1% pending; 4 queues; 50,000 patients.
  const select = `SELECT 'hrp.asset.receive', 'hrp.asset', 'receive',
      '[{"patient_id":' || (i % 50000) || '}]', 1 + (i % 20),
      ?, CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 25 = 1 THEN 'cancelled' WHEN i % 100 = 2 THEN 'pending' ELSE 'done' END,
      CASE i % 4 WHEN 0 THEN 'default' WHEN 1 THEN 'reports' WHEN 2 THEN 'short' ELSE 'long' END,
      CASE WHEN i % 20 = 0 THEN 'Error: ledger LOCKED for batch ' || (i % 997) ELSE NULL END, 1, 'queue'`;
  const cols = "(name, model, function, args, user_id, date_created, state, queue, exc_info, attempts, kind)";
  await backend.transaction((m) =>
    backend.execute(
      m,
      backend.dialect === "postgres"
        ? `INSERT INTO hrp_cron_job ${cols} ${select.replace(/\|\| \(i % 50000\) \|\|/, "|| (i % 50000)::text ||")} FROM generate_series(1, ?) AS g(i)`
        : `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO hrp_cron_job ${cols} ${select} FROM n`,
      backend.dialect === "postgres" ? [backend.toDbDate(new Date()), ROWS] : [ROWS, backend.toDbDate(new Date())],
    ),
  );
  if (backend.dialect === "postgres") await ds.query("ANALYZE hrp_cron_job");
  else await ds.query("ANALYZE");
  return Date.now() - t0;
}

async function measure(label, options) {
  const ds = new DataSource({ ...options, entities: ENTITIES });
  await ds.initialize();
  await migrate(ds);
  const fillMs = await fill(ds);
  const dashboard = new Dashboard({
    dataSource: ds,
    resolveUser: () => ({ login: "bench" }),
    resolveAccess: () => "all",
  });
  const headers = { host: "bench", "accept-language": "en" };
  const urls = [
    "/jobs",
    `/jobs?before=${Math.floor(ROWS / 2)}`,
    "/jobs?before=60",
    "/jobs?state=failed",
    `/jobs?state=failed&before=${Math.floor(ROWS / 2)}`,
    "/jobs?state=pending",
    "/jobs?queue=reports",
    "/jobs?q=args.patient_id%3A4242",
    "/jobs?error=batch+996",
  ];
  const rows = [];
  for (const url of urls) {
    const times = [];
    let status;
    for (let i = 0; i < 7; i++) {
      const t = process.hrtime.bigint();
      const r = await dashboard.handle({ method: "GET", url, headers });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      status = r.status;
    }
    times.sort((a, b) => a - b);
    rows.push({ url, status, medianMs: Number(times[3].toFixed(1)) });
  }
  await ds.destroy();
  return { label, rows: ROWS, fillMs, pages: rows };
}

(async () => {
  const results = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hrp-cron-paging-"));
  results.push(
    await measure("SQLite", { type: "better-sqlite3", database: path.join(dir, "jobs.sqlite"), enableWAL: true }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  if (PG) {
    const admin = new DataSource({ type: "postgres", url: PG });
    await admin.initialize();
    const schema = `bench_paging_${process.pid}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    try {
      results.push(
        await measure("PostgreSQL", {
          type: "postgres",
          url: PG,
          schema,
          extra: { options: `-c search_path=${schema}` },
        }),
      );
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.destroy();
    }
  }
  for (const r of results) {
    console.log(
      `\n${r.label}: ${r.rows.toLocaleString("en")} jobs (filled in ${(r.fillMs / 1000).toFixed(1)} s); median of 7 per page`,
    );
    console.log("| page | status | ms |\n|---|---|---|");
    for (const p of r.pages) console.log(`| \`${p.url}\` | ${p.status} | ${p.medianMs} |`);
  }
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, "results", "dashboard-paging.json"),
    JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
