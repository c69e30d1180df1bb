// Renders bench results as docs/BENCHMARKS.md (tables with ratios) and docs/bench-throughput.svg (bar chart).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const OURS = "hrp-cron queue (postgres)";
// The peers every system is compared with (a column each), by exact system name.
const PEERS = [
  ["graphile-worker (postgres)", "graphile-worker"],
  ["graphile-worker batched (postgres)", "graphile-worker batched"],
  ["pg-boss (postgres)", "pg-boss"],
  ["BullMQ (redis)", "BullMQ redis"],
  ["BullMQ (postgres)", "BullMQ postgres"],
];
// What each system guarantees in the mode measured here.
const GUARANTEES = {
  "hrp-cron":
    "hrp-cron commits each job's own writes, its completion, its run-log row and its claim release together: jobs run in batches of up to 50 per transaction, each job in its own savepoint, so a failing job rolls back alone and is recorded as failed in the same transaction. It runs each job as its stored user, keeps every audit row (job state, run log), and commits each claim before running (visible to auditors, fenced by a compare-and-set at completion).",
  "graphile-worker":
    "graphile-worker (both modes) commits a job's completion (deleting the row) in its own statement after the handler returns, separately from anything the handler wrote; a crash between the two re-runs the job (at-least-once). Batched mode also keeps up to 500 jobs locked in one process's local queue and holds completed jobs locked until their batched completion commits, so a crash re-runs more of them.",
  "pg-boss":
    "pg-boss commits completion of a fetched batch in its own statement after the handler returns, and does not wait for it before sleeping until the next poll; the handler's own writes are separate (at-least-once). Completed jobs stay in its job table until maintenance archives them (disabled here: `supervise: false`).",
  "BullMQ redis":
    "BullMQ on Redis keeps jobs and their state in Redis: there is no transaction with your database, so a job's writes and its completion can diverge either way (at-least-once, with stalled-job recovery).",
  "BullMQ postgres":
    "BullMQ's PostgreSQL backend keeps jobs in PostgreSQL tables, but completion is its own statement after the handler returns, separately from the handler's writes (at-least-once), as with the Redis backend.",
};

const row = (cells) => `| ${cells.join(" | ")} |`;
const fmt = (x) =>
  x === undefined || x === null || Number.isNaN(x)
    ? "-"
    : x >= 100
      ? String(Math.round(x))
      : x >= 10
        ? x.toFixed(1)
        : x.toFixed(2);

function write(results, docsDir) {
  const t = results.throughput;
  const find = (name) => t.find((r) => r.system === name);
  const ours = find(OURS);
  const peers = PEERS.filter(([name]) => find(name));
  const ratio = (r, peerName) => {
    const p = find(peerName);
    return p && p.drainPerSec ? (r.drainPerSec / p.drainPerSec).toFixed(2) : "-";
  };
  const lat = results.latency;
  const oursLat = lat.find((r) => r.system === OURS);
  const v = results.versions || {};
  const pgboss = find("pg-boss (postgres)");
  const batch = results.pgBossBatchSize || 100;

  const lines = [
    "# Benchmarks",
    "",
    `Measured ${results.date} on ${results.machine}; mode **${results.mode}**: N = ${results.N} no-op jobs, ${results.workers} concurrent workers, ` +
      `${results.reps} run(s) per system (median; repetitions run round-robin over the systems). Load average at start: ${(results.loadAtStart || []).join(", ")}.`,
    `Peers: graphile-worker ${v["graphile-worker"]}, pg-boss ${v["pg-boss"]}, bullmq ${v.bullmq} (ioredis ${v.ioredis}) — the newest releases that run on Node 20 ` +
      "(graphile-worker 0.18 and pg-boss 11 require Node 22).",
    "All systems ran on this machine in the same `npm run bench` invocation, against the same local PostgreSQL (and Redis for BullMQ on Redis).",
    "",
    "## Throughput (jobs/s)",
    "",
    "**drain/s** is N divided by the time from the *first* handler invocation to the N-th completion, with the N jobs queued before the",
    "worker starts: worker start-up, migration checks and pool warm-up are excluded. The N-th completion is the N-th handler return, or, where",
    "jobs were still not marked completed in the system's store at that moment (completion batched or not awaited), the moment a poll saw them",
    "all completed. **incl. start-up** is the same drain timed from just before the worker is started (what earlier versions of this page reported).",
    "**PG tx/job** is the number of transactions the system's database committed or rolled back during the drain (pg_stat_database), per job.",
    "The ratio columns are this row's drain/s divided by that peer's drain/s.",
    "",
    row(["system", "enqueue/s", "drain/s", "incl. start-up", "PG tx/job", ...peers.map(([, label]) => `vs ${label}`)]),
    row(["---", ...Array(4 + peers.length).fill("---:")]),
    ...t.map((r) =>
      row([
        r.system,
        r.enqueuePerSec,
        `**${r.drainPerSec}**`,
        r.drainWithStartupPerSec ?? "-",
        r.pgTransactionsPerJob ?? "-",
        ...peers.map(([name]) => ratio(r, name)),
      ]),
    ),
    "",
    ...(ours
      ? [
          `hrp-cron queue jobs on PostgreSQL drain at ${peers.map(([name, label]) => `**${ratio(ours, name)}x** ${label}`).join(", ")}.`,
          "",
        ]
      : []),
    `For scale: \`pgbench -N\` (${results.workers} clients) on the same server committed **${results.pgbenchTps ?? "-"}** transactions/s` +
      (ours && results.pgbenchTps
        ? `; hrp-cron's drain is ${(ours.drainPerSec / results.pgbenchTps).toFixed(2)} jobs per pgbench transaction.`
        : "."),
    "",
    "### Configurations",
    "",
    ...t.map((r) => `- **${r.system}**: ${r.config}.`),
    "",
    `pg-boss 10's worker sleeps out the rest of its polling interval after every fetch, even a full one, and has no LISTEN/NOTIFY wake-up, so its drain is bounded by workers x batchSize / 0.5 s = ${results.workers} x ${batch} / 0.5 s = ${Math.round((results.workers * batch) / 0.5)} jobs/s here` +
      (pgboss ? ` (measured ${pgboss.drainPerSec}/s).` : ".") +
      " A larger batchSize raises that bound (`npm run bench -- --pgboss-batch=300`); in one-off runs on this machine 300 reached about 5,000 jobs/s and 400-1,000 were slower again, as its un-awaited completions piled up behind the fetches.",
    "graphile-worker batched is what graphile-worker's performance page configures (`localQueue: { size: 500 }`, `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`), with the same concurrency as every other system; its PG tx/job column shows the batching in effect (about 2 transactions per job unbatched: get_job and complete_job).",
    "",
    "### What each system guarantees in the measured mode",
    "",
    `- ${GUARANTEES["hrp-cron"]}`,
    ...["graphile-worker", "pg-boss", "BullMQ redis", "BullMQ postgres"]
      .filter((k) => peers.some(([, label]) => label.startsWith(k)))
      .map((k) => `- ${GUARANTEES[k]}`),
    "",
    "## Latency: commit of the enqueue -> start of the handler (one job at a time, idle worker with concurrency 1)",
    "",
    "Each job is enqueued only after the previous one started. pg-boss has no push wake-up: its worker polls every 0.5 s (its minimum), so its",
    "latency is bounded below by the polling interval; each pg-boss job is sent at a random point of that cycle (uniform 0-0.5 s wait expected).",
    "",
    `| system | k | p50 ms | p95 ms | p99 ms | max ms | p50 vs ${OURS} |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...lat.map(
      (r) =>
        `| ${r.system} | ${r.k ?? "-"} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.maxMs ?? "-"} | ${oursLat && oursLat.p50Ms ? fmt(r.p50Ms / oursLat.p50Ms) : "-"} |`,
    ),
    "",
    `The last column is this system's p50 divided by hrp-cron's (PostgreSQL) p50: below 1 is faster than hrp-cron.`,
    "",
    "## Backlog scaling (hrp-cron, PostgreSQL): drain rate with future-dated rows in `ir_cron`",
    "",
    "| rows in backlog | drain/s | ratio to the smallest |",
    "|---:|---:|---:|",
    ...results.backlog.map(
      (r) => `| ${r.backlog} | ${r.drainPerSec} | ${(r.drainPerSec / results.backlog[0].drainPerSec).toFixed(2)} |`,
    ),
    "",
    ...(results.idle
      ? [
          "## Idle worker (hrp-cron, PostgreSQL)",
          "",
          `RSS ${results.idle.rssMb} MB; ${results.idle.transactionsPerSec} database transactions/s while idle (pg_stat_database; default 5 s poll, 5 s heartbeat, LISTEN for wake-ups).`,
          "",
        ]
      : []),
    ...(results.errors.length ? ["## Systems that failed to run", "", ...results.errors.map((e) => `- ${e}`), ""] : []),
    "![drain throughput](bench-throughput.svg)",
    "",
  ];
  fs.writeFileSync(path.join(docsDir, "BENCHMARKS.md"), lines.join("\n"));
  fs.writeFileSync(path.join(docsDir, "bench-throughput.svg"), svg(t, results));
}

function svg(rows, results) {
  const max = Math.max(1, ...rows.map((r) => r.drainPerSec));
  const barH = 22;
  const gap = 8;
  const left = 260;
  const width = 760;
  const height = rows.length * (barH + gap) + 70;
  const bars = rows.map((r, i) => {
    const y = 30 + i * (barH + gap);
    const w = Math.max(1, ((width - left - 80) * r.drainPerSec) / max);
    const color = r.system.startsWith("hrp-cron") ? "#2b6cb0" : "#a0aec0";
    return (
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${r.system}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>` +
      `<text x="${left + w + 6}" y="${y + 15}" font-size="12">${r.drainPerSec}/s</text>`
    );
  });
  const foot = `N = ${results.N}, ${results.workers} workers, first handler start to N-th completion; ${results.machine}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<text x="10" y="18" font-size="14" font-weight="bold">Drain throughput, no-op jobs (higher is better)</text>${bars.join("")}` +
    `<text x="10" y="${height - 12}" font-size="11" fill="#4a5568">${foot}</text></svg>\n`
  );
}

module.exports = { write };
