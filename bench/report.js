// Renders bench results as docs/BENCHMARKS.md (tables with ratios) and docs/bench-throughput.svg (bar chart).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

function ratioTable(rows, key, reference) {
  const ref = rows.find((r) => r.system.startsWith(reference));
  return ref ? (r) => (r[key] / ref[key]).toFixed(2) : () => "-";
}

function write(results, docsDir) {
  const t = results.throughput;
  const ours = t.find((r) => r.system === "hrp-cron queue (postgres)");
  const vs = (peer) => {
    const p = t.find((r) => r.system.startsWith(peer));
    return ours && p ? `${(ours.drainPerSec / p.drainPerSec).toFixed(2)}x` : "n/a";
  };
  const lines = [
    "# Benchmarks",
    "",
    `Measured ${results.date} on ${results.machine}; mode **${results.mode}** (N = ${results.N} no-op jobs, ${results.workers} concurrent workers, median of the runs).`,
    "All systems ran on this machine in the same `npm run bench` invocation, against the same local PostgreSQL (and Redis for BullMQ).",
    "",
    "## Throughput (jobs/s)",
    "",
    "| system | enqueue/s | drain/s | drain vs graphile-worker | drain vs pg-boss |",
    "|---|---:|---:|---:|---:|",
    ...t.map((r) => `| ${r.system} | ${r.enqueuePerSec} | ${r.drainPerSec} | ${ratioTable(t, "drainPerSec", "graphile-worker (")(r)} | ${ratioTable(t, "drainPerSec", "pg-boss")(r)} |`),
    "",
    "Enqueue: hrp-cron in transactions of 1,000 jobs; pg-boss `insert` and BullMQ `addBulk` in batches of 1,000; graphile-worker 0.16 has no bulk add, so 50 concurrent `addJob` calls.",
    "pg-boss polls every 0.5 s (its minimum) with one job per fetch per worker, which dominates its drain rate here.",
    "",
    `hrp-cron queue jobs on PostgreSQL drain at ${vs("graphile-worker (")} graphile-worker (unbatched), ${vs("graphile-worker batched")} graphile-worker batched and ${vs("pg-boss")} pg-boss.`,
    `For scale: \`pgbench -N\` on the same server committed **${results.pgbenchTps}** transactions/s` +
      (ours ? `; hrp-cron's drain is ${(ours.drainPerSec / results.pgbenchTps).toFixed(2)} jobs per pgbench transaction.` : "."),
    "",
    "What each system guarantees in this mode: hrp-cron commits each job's own writes, its completion, its run-log row and its",
    "claim release in one transaction per job (two transactions per job: claim, run), runs it as its stored user, and keeps",
    "the audit rows. graphile-worker and pg-boss commit completion separately from anything the handler writes; BullMQ keeps",
    "state in Redis (no transaction with your database).",
    "",
    "## Latency: commit of the enqueue -> start of the method (one at a time, idle worker)",
    "",
    "| system | p50 ms | p95 ms | p99 ms |",
    "|---|---:|---:|---:|",
    ...results.latency.map((r) => `| ${r.system} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} |`),
    "",
    "## Backlog scaling (hrp-cron, PostgreSQL): drain rate with future-dated rows in `ir_cron`",
    "",
    "| rows in backlog | drain/s | ratio to the smallest |",
    "|---:|---:|---:|",
    ...results.backlog.map((r) => `| ${r.backlog} | ${r.drainPerSec} | ${(r.drainPerSec / results.backlog[0].drainPerSec).toFixed(2)} |`),
    "",
    "## Idle worker (PostgreSQL)",
    "",
    `RSS ${results.idle.rssMb} MB; ${results.idle.transactionsPerSec} database transactions/s while idle (pg_stat_database; default 5 s poll, 5 s heartbeat, LISTEN for wake-ups).`,
    "",
    ...(results.errors.length ? ["## Systems that failed to run", "", ...results.errors.map((e) => `- ${e}`), ""] : []),
    "![drain throughput](bench-throughput.svg)",
    "",
  ];
  fs.writeFileSync(path.join(docsDir, "BENCHMARKS.md"), lines.join("\n"));
  fs.writeFileSync(path.join(docsDir, "bench-throughput.svg"), svg(t));
}

function svg(rows) {
  const max = Math.max(1, ...rows.map((r) => r.drainPerSec));
  const barH = 22;
  const gap = 8;
  const left = 260;
  const width = 760;
  const height = rows.length * (barH + gap) + 50;
  const bars = rows.map((r, i) => {
    const y = 30 + i * (barH + gap);
    const w = Math.max(1, ((width - left - 80) * r.drainPerSec) / max);
    const color = r.system.startsWith("hrp-cron") ? "#2b6cb0" : "#a0aec0";
    return `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${r.system}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>` +
      `<text x="${left + w + 6}" y="${y + 15}" font-size="12">${r.drainPerSec}/s</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<text x="10" y="18" font-size="14" font-weight="bold">Drain throughput, no-op jobs (higher is better)</text>${bars.join("")}</svg>\n`;
}

module.exports = { write };
