import type { DataSource } from "typeorm";
import { backendFor } from "../backend";
import { liveWorkerMethods } from "../worker/methodGate";
import { DEFAULTS } from "../core/options";
import type { Scheduler } from "../scheduler/scheduler";
import { renderTable } from "./table";

/**
 * `hrp-cron doctor`: one screen answering "is background work healthy?" —
 * scheduler state and leader, workers and their heartbeats, what waits per
 * queue and method, methods no live worker serves (their jobs wait, then
 * fail after `unknownMethodGraceMs`), runs held longer than their timeout or
 * by silent workers, and crons that keep failing.
 */
export async function doctorReport(dataSource: DataSource, scheduler: Scheduler, now = new Date()): Promise<string> {
  const backend = backendFor(dataSource);
  const q = <R>(sql: string, params: unknown[] = []) => backend.transaction((m) => backend.query<R>(m, sql, params));
  const status = await scheduler.status();
  const workers = await q<{ id: string; hostname: string; pid: number; started_at: unknown; last_seen_at: unknown }>(
    `SELECT id, hostname, pid, started_at, last_seen_at FROM hrp_cron_worker ORDER BY started_at`,
  );
  const pending = await q<{ queue: string; method: string; n: unknown; oldest: unknown }>(
    `SELECT queue, model || '.' || function AS method, COUNT(*) AS n, MIN(date_created) AS oldest
       FROM hrp_cron_job WHERE state = 'pending' GROUP BY queue, model, function ORDER BY queue, method`,
  );
  const waiting = await q<{ method: string; n: unknown; next_due: unknown; since: unknown }>(
    `SELECT model || '.' || function AS method, COUNT(*) AS n, MIN(nextcall) AS next_due, MIN(unserved_since) AS since
       FROM ir_cron WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL GROUP BY model, function ORDER BY method`,
  );
  const served = await backend.transaction((m) => liveWorkerMethods(backend, m, DEFAULTS.workerTimeoutMs));
  const unserved = waiting.filter((w) => !served.has(w.method));
  const running = await q<{ id: number; name: string; queue: string; running_worker: string; running_since: unknown; timeout_ms: number | null; last_seen_at: unknown }>(
    `SELECT c.id, c.name, c.queue, c.running_worker, c.running_since, c.timeout_ms, w.last_seen_at
       FROM ir_cron c LEFT JOIN hrp_cron_worker w ON w.id = c.running_worker WHERE c.running_worker IS NOT NULL ORDER BY c.running_since`,
  );
  const failing = await q<{ id: number; name: string; failure_count: number; first_failure_date: unknown; active: unknown }>(
    `SELECT id, name, failure_count, first_failure_date, active FROM ir_cron WHERE failure_count > 0 ORDER BY failure_count DESC`,
  );
  const date = (v: unknown) => backend.fromDbDate(v);
  const ageS = (v: unknown) => {
    const d = date(v);
    return d ? Math.round((now.getTime() - d.getTime()) / 1000) : null;
  };
  const stuck = running.filter((r) => {
    const since = date(r.running_since);
    const overTimeout = r.timeout_ms !== null && since !== null && now.getTime() - since.getTime() > Number(r.timeout_ms);
    return overTimeout || r.last_seen_at === null;
  });
  const types = await scheduler.listTypes();
  const failingTypes = await scheduler.failingTypes();
  return [
    `Scheduler: ${status.enabled ? "enabled" : "DISABLED"}, ${status.paused ? "PAUSED" : "active"}; leader ${status.leaderId ?? "none"}` +
      `${status.leaderUntil ? ` (lease until ${status.leaderUntil.toISOString()})` : ""}; last tick ${status.lastTick?.toISOString() ?? "never"}`,
    `Scheduled job types: ${types.length} (${types.filter((t) => t.stopped).length} stopped); next: ${
      types.filter((t) => !t.stopped).sort((a, b) => a.nextRunAt.getTime() - b.nextRunAt.getTime())[0]?.method ?? "-"}`,
    "",
    `Workers online: ${workers.length}`,
    renderTable(["worker", "host", "pid", "started", "last heartbeat (s ago)"], workers.map((w) => [w.id, w.hostname, w.pid, date(w.started_at), ageS(w.last_seen_at)])),
    "",
    "Pending jobs per queue and method:",
    renderTable(["queue", "method", "pending", "oldest due"], pending.map((p) => [p.queue, p.method, Number(p.n), date(p.oldest)])),
    "",
    `Methods no live worker serves (their jobs wait, then fail after unknownMethodGraceMs): ${unserved.length}`,
    renderTable(["method", "crons/jobs", "next due", "unserved since"], unserved.map((u) => [u.method, Number(u.n), date(u.next_due), date(u.since)])),
    "",
    `Running: ${running.length}; stuck (past timeout or worker gone): ${stuck.length}`,
    renderTable(["cron", "name", "queue", "worker", "running (s)"], stuck.map((r) => [r.id, r.name, r.queue, r.running_worker, ageS(r.running_since)])),
    "",
    `Failing crons: ${failing.length}`,
    renderTable(["cron", "name", "failures", "since", "active"], failing.map((f) => [f.id, f.name, f.failure_count, date(f.first_failure_date), backend.fromDbBool(f.active) ? "yes" : "no"])),
    "",
    `Failing scheduled job types: ${failingTypes.length}`,
    renderTable(["type", "method", "failed at", "error"], failingTypes.map((t) => [t.id, t.method, t.failedAt, t.error])),
  ].join("\n");
}
