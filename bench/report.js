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
    "hrp-cron commits each job's own writes, its completion (its audit record) and its claim release together: jobs run in batches of up to 50 per transaction, each job in its own savepoint, so a failing job rolls back alone and is recorded as failed in the same transaction. It runs each job as its stored user, keeps every audit row (job state; the run log of recurring crons and failed attempts), and commits each claim before running (visible to auditors, fenced by a compare-and-set at completion).",
  "graphile-worker":
    "graphile-worker (both modes) commits a job's completion (deleting the row) in its own statement after the handler returns, separately from anything the handler wrote; a crash between the two re-runs the job (at-least-once). Batched mode also keeps up to 500 jobs locked in one process's local queue and holds completed jobs locked until their batched completion commits, so a crash re-runs more of them.",
  "pg-boss":
    "pg-boss commits completion of a fetched batch in its own statement after the handler returns, and does not wait for it before sleeping until the next poll; the handler's own writes are separate (at-least-once). Completed jobs stay in its job table until maintenance archives them (disabled here: `supervise: false`).",
  "BullMQ redis":
    "BullMQ on Redis keeps jobs and their state in Redis: there is no transaction with your database, so a job's writes and its completion can diverge either way (at-least-once, with stalled-job recovery).",
  "BullMQ postgres":
    "BullMQ's PostgreSQL backend keeps jobs in PostgreSQL tables, but completion is its own statement after the handler returns, separately from the handler's writes (at-least-once), as with the Redis backend.",
};
/** Whether a system's design makes a job's effects happen exactly once (its writes and its completion commit together). */
const effectsByDesign = (system) => (system.startsWith("hrp-cron") ? "exactly-once" : "at-least-once");

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
    `Measured ${results.date} on ${results.machine}; mode **${results.mode}**: N = ${results.N} jobs per drain, ${results.workers} concurrent workers, ` +
      `${results.reps} run(s) per system (median; repetitions run round-robin over the systems). Load average at start: ${(results.loadAtStart || []).join(", ")}.`,
    `Peers: graphile-worker ${v["graphile-worker"]}, pg-boss ${v["pg-boss"]}, bullmq ${v.bullmq} (ioredis ${v.ioredis}) — the newest releases that run on Node 20 ` +
      "(graphile-worker 0.18 and pg-boss 11 require Node 22).",
    "All systems ran on this machine in the same `npm run bench` invocation, against the same local PostgreSQL (and Redis for BullMQ on Redis).",
    "",
    ...((results.exactlyOnceViolations || []).length
      ? [
          "**Exactly-once violated in this run** (application rows lost or duplicated; the run exited with status 1):",
          "",
          ...results.exactlyOnceViolations.map((v) => `- ${v}`),
          "",
        ]
      : []),
    "## Throughput, no-op jobs (jobs/s)",
    "",
    "**drain/s** is N divided by the time from the *first* handler invocation to the N-th completion, with the N jobs queued before the",
    "worker starts: worker start-up, migration checks and pool warm-up are excluded. The N-th completion is the moment a poll of the system's",
    "store, started at the N-th handler return, first sees no job left uncompleted (completions are batched, not awaited or, for hrp-cron,",
    "committed with the batch after its last handler returned). **incl. start-up** is the same drain timed from just before the worker is started.",
    "**PG tx/job** is the number of transactions the system's database committed or rolled back during the drain (pg_stat_database, read after the",
    "system closed its connections), per job; it includes the harness's few polls of the system's queue at the end of the drain.",
    "**bulk enqueue/s** is N divided by the time to enqueue the N jobs through the system's bulk API, 1,000 jobs per call (marked *per call*",
    "where the system has none: 1,000 single calls per transaction). The ratio columns are this row's drain/s divided by that peer's drain/s.",
    "",
    row([
      "system",
      "bulk enqueue/s",
      "drain/s",
      "incl. start-up",
      "PG tx/job",
      ...peers.map(([, label]) => `vs ${label}`),
    ]),
    row(["---", ...Array(4 + peers.length).fill("---:")]),
    ...t.map((r) =>
      row([
        r.system,
        enqueueCell(r),
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
    ...writesSection(results),
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
    "## Backlog scaling (hrp-cron, PostgreSQL): drain rate with future-dated rows",
    "",
    "Queue jobs drained while the tables also hold, per row of this table, one recurring cron due in a year (`ir_cron`) and one queue job due in a",
    "year (`hrp_cron_job`, the table the drained jobs are claimed from): 1,000,000 means two million rows that are not due.",
    "",
    "| future-dated rows (per table) | drain/s | ratio to the smallest |",
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
    "![drain throughput: no-op jobs and jobs that write](bench-throughput.svg)",
    "",
  ];
  fs.writeFileSync(path.join(docsDir, "BENCHMARKS.md"), lines.join("\n"));
  fs.writeFileSync(path.join(docsDir, "bench-throughput.svg"), svg(results));
}

const capital = (text) => `${text[0].toUpperCase()}${text.slice(1)}`;
const enqueueCell = (r) => `${r.enqueuePerSec}${r.bulkEnqueue === false ? " *per call*" : ""}`;

/** The exactly-once column: rows / distinct keys of the last run, ✓ when every run had all N keys once. */
function exactlyOnceCell(r, n) {
  const e = r.exactlyOnce;
  if (!e) return "-";
  if (e.ok) return `${n} / ${n} ✓`;
  const bad = e.runs.find((c) => !c.ok);
  return `**✗ ${bad.rows} / ${bad.keys}: ${bad.problem}**`;
}

/** The tables of the writing workloads (results.writes), with ratios to the best peer and to each peer. */
function writesSection(results) {
  const writes = results.writes || [];
  if (!writes.length) return [];
  const lines = [
    "## Jobs that write (jobs/s)",
    "",
    "The HRP case: every job books something. Each job writes to an application table in the system's PostgreSQL database (SQLite file for",
    "hrp-cron on SQLite): hrp-cron through the job's `env.manager`, so the writes commit in the job's own transaction together with its completion;",
    "graphile-worker through its task helpers (`helpers.query`, `helpers.withPgClient`) on its own pool; pg-boss and BullMQ through a `pg.Pool`",
    "(max 10) of their own. Same N, same 8 workers and the same configuration of each system as for no-op jobs.",
    "**drain/s** is N divided by the time from the first handler start until all N rows are committed and visible on a separate connection",
    "(a `count(*)` polled from the N-th handler return on) and the system's queue is empty. After every drain the harness checks",
    "**exactly-once effects**: N rows with N distinct job keys 0..N-1 (and for the 5-statement jobs 2N lines and N posted moves);",
    "`bench_move.job_key` has a plain index, not a unique one, so a job that ran twice shows up as a duplicate instead of failing on a constraint.",
    "A run that lost or duplicated a row is logged, flagged here and makes `npm run bench` exit with status 1.",
    "",
  ];
  for (const wl of writes) {
    const rows = wl.rows;
    const find = (name) => rows.find((r) => r.system === name);
    const peers = PEERS.filter(([name]) => find(name));
    const best = peers
      .map(([name]) => find(name))
      .reduce((a, b) => (!a || b.drainPerSec > a.drainPerSec ? b : a), null);
    const ratioTo = (r, p) => (p && p.drainPerSec ? (r.drainPerSec / p.drainPerSec).toFixed(2) : "-");
    const ours = find(OURS);
    lines.push(
      `### ${capital(wl.label)}`,
      "",
      `${capital(wl.description)}.`,
      "",
      row([
        "system",
        "bulk enqueue/s",
        "drain/s",
        "incl. start-up",
        "PG tx/job",
        "rows / distinct keys",
        "effects by design",
        "vs best peer",
        ...peers.map(([, label]) => `vs ${label}`),
      ]),
      row(["---", ...Array(4).fill("---:"), "---:", "---", ...Array(1 + peers.length).fill("---:")]),
      ...rows.map((r) =>
        row([
          r.system,
          enqueueCell(r),
          `**${r.drainPerSec}**`,
          r.drainWithStartupPerSec ?? "-",
          r.pgTransactionsPerJob ?? "-",
          exactlyOnceCell(r, results.N),
          effectsByDesign(r.system),
          ratioTo(r, best),
          ...peers.map(([name]) => ratioTo(r, find(name))),
        ]),
      ),
      "",
    );
    if (ours && best) {
      lines.push(
        `hrp-cron queue jobs on PostgreSQL drain at **${ratioTo(ours, best)}x** the best peer (${best.system}, ${best.drainPerSec}/s) on this workload.`,
        "",
      );
    }
  }
  const how = writes[0].rows
    .filter((r) => r.config.includes("; job code writes "))
    .map((r) => `- **${r.system}**: job code writes ${r.config.split("; job code writes ")[1]}.`);
  if (how.length)
    lines.push("How each system's job code writes (configurations otherwise as for no-op jobs):", "", ...how, "");
  lines.push(
    "**Effects by design.** Only hrp-cron guarantees exactly-once effects: a job's writes and its completion (its audit record) commit in one",
    "transaction, so a crash or a failed commit either keeps all of them or none, and the job runs again only if none were kept. graphile-worker,",
    "pg-boss and BullMQ (on Redis and on PostgreSQL) are at-least-once: the handler's writes commit on their own, before the job's completion, so a",
    "crash (or a lost connection) between the two runs the job again and repeats its writes unless the job code makes them idempotent. In a run",
    "without crashes every system writes each row once, which is what the column shows; it proves the harness counted every job, not the guarantee.",
    "",
  );
  return lines;
}

/** Horizontal bar charts of drain/s, one panel (with its own scale) per workload: no-op jobs, then each writing workload. */
function svg(results) {
  const panels = [
    { title: "No-op jobs", rows: results.throughput },
    ...(results.writes || []).map((w) => ({
      title: `${capital(w.label)}, until the rows are committed and visible`,
      rows: w.rows,
    })),
  ].filter((p) => p.rows.length);
  const barH = 22;
  const gap = 8;
  const left = 260;
  const width = 760;
  let y = 30;
  const parts = [];
  for (const panel of panels) {
    const max = Math.max(1, ...panel.rows.map((r) => r.drainPerSec));
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${panel.title}</text>`);
    y += 24;
    for (const r of panel.rows) {
      const w = Math.max(1, ((width - left - 90) * r.drainPerSec) / max);
      const color = r.system.startsWith("hrp-cron") ? "#2b6cb0" : "#a0aec0";
      const flag = r.exactlyOnce && !r.exactlyOnce.ok ? " ✗ rows lost/duplicated" : "";
      parts.push(
        `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${r.system}</text>` +
          `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>` +
          `<text x="${left + w + 6}" y="${y + 15}" font-size="12">${r.drainPerSec}/s${flag}</text>`,
      );
      y += barH + gap;
    }
    y += 12;
  }
  const height = y + 30;
  const foot = `N = ${results.N}, ${results.workers} workers, first handler start to the end of the drain (each panel has its own scale); ${results.machine}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<text x="10" y="18" font-size="14" font-weight="bold">Drain throughput, jobs/s (higher is better)</text>${parts.join("")}` +
    `<text x="10" y="${height - 12}" font-size="11" fill="#4a5568">${foot}</text></svg>\n`
  );
}

module.exports = { write };
