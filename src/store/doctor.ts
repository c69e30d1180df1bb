import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { jobReady, READY } from "./predicates";
import { liveWorkerMethods } from "./workers";

/** What `hrp-cron doctor` reports, read from the database (dates and booleans converted). */
export interface DoctorFacts {
  readonly workers: ReadonlyArray<{
    id: string;
    hostname: string;
    pid: number;
    startedAt: Date | null;
    lastSeenAt: Date | null;
  }>;
  /** Pending jobs per queue and `model.method`. */
  readonly pending: ReadonlyArray<{ queue: string; method: string; count: number; oldest: Date | null }>;
  /** Ready crons of methods no live worker serves (their jobs wait, then fail after `unknownMethodGraceMs`). */
  readonly unserved: ReadonlyArray<{ method: string; count: number; nextDue: Date | null; since: Date | null }>;
  /** Every claim (a recurring cron's `id`, or a job's `jobId`), with its worker's last heartbeat (null: the worker is not registered). */
  readonly running: ReadonlyArray<{
    id: number | null;
    jobId: number | null;
    name: string;
    queue: string;
    runningWorker: string;
    runningSince: Date | null;
    timeoutMs: number | null;
    lastSeenAt: Date | null;
    /** A job's last reported progress (`env.progress`), null for a cron or a job that reported none. */
    progressDone: number | null;
    progressTotal: number | null;
    progressMessage: string | null;
  }>;
  /** Crons with failures, most first. */
  readonly failing: ReadonlyArray<{
    id: number;
    name: string;
    failureCount: number;
    firstFailureDate: Date | null;
    active: boolean;
  }>;
}

/**
 * Reads the facts of a doctor report; a worker is live when it heartbeat
 * within `workerTimeoutMs`. Each read is its own transaction, or with
 * `manager` a statement on it: the dashboard passes the DataSource's
 * manager, so on SQLite a page does not wait for the write lock a running
 * batch of this process holds.
 */
export async function doctorFacts(
  backend: Backend,
  workerTimeoutMs: number,
  manager?: EntityManager,
): Promise<DoctorFacts> {
  const q = <R>(sql: string, params: unknown[] = []) =>
    manager ? backend.query<R>(manager, sql, params) : backend.transaction((m) => backend.query<R>(m, sql, params));
  const date = (v: unknown) => backend.fromDbDate(v);
  const workers = await q<{ id: string; hostname: string; pid: number; started_at: unknown; last_seen_at: unknown }>(
    `SELECT id, hostname, pid, started_at, last_seen_at FROM hrp_cron_worker ORDER BY started_at`,
  );
  const pending = await q<{ queue: string; method: string; n: unknown; oldest: unknown }>(
    `SELECT queue, model || '.' || function AS method, COUNT(*) AS n, MIN(date_created) AS oldest
       FROM hrp_cron_job WHERE state = 'pending' GROUP BY queue, model, function ORDER BY queue, method`,
  );
  const waiting = await q<{ method: string; n: unknown; next_due: unknown; since: unknown }>(
    `SELECT model || '.' || function AS method, COUNT(*) AS n, MIN(nextcall) AS next_due, MIN(unserved_since) AS since
       FROM (SELECT model, function, nextcall, unserved_since FROM ir_cron WHERE ${READY}
             UNION ALL
             SELECT model, function, nextcall, unserved_since FROM hrp_cron_job WHERE ${jobReady()}) x
      GROUP BY model, function ORDER BY method`,
  );
  const served = manager
    ? await liveWorkerMethods(backend, manager, workerTimeoutMs)
    : await backend.transaction((m) => liveWorkerMethods(backend, m, workerTimeoutMs));
  const running = await q<{
    id: number | null;
    job_id: number | null;
    name: string;
    queue: string;
    running_worker: string;
    running_since: unknown;
    timeout_ms: number | null;
    last_seen_at: unknown;
    progress_done: unknown;
    progress_total: unknown;
    progress_message: string | null;
  }>(
    `SELECT r.id, r.job_id, r.name, r.queue, r.running_worker, r.running_since, r.timeout_ms, w.last_seen_at,
            r.progress_done, r.progress_total, r.progress_message
       FROM (SELECT id, NULL AS job_id, name, queue, running_worker, running_since, timeout_ms,
                    NULL AS progress_done, NULL AS progress_total, NULL AS progress_message
               FROM ir_cron WHERE running_worker IS NOT NULL
             UNION ALL
             SELECT NULL, id, name, queue, running_worker, running_since, timeout_ms, progress_done, progress_total, progress_message
               FROM hrp_cron_job WHERE running_worker IS NOT NULL) r
       LEFT JOIN hrp_cron_worker w ON w.id = r.running_worker ORDER BY r.running_since`,
  );
  const failing = await q<{
    id: number;
    name: string;
    failure_count: number;
    first_failure_date: unknown;
    active: unknown;
  }>(
    `SELECT id, name, failure_count, first_failure_date, active FROM ir_cron WHERE failure_count > 0 ORDER BY failure_count DESC`,
  );
  return {
    workers: workers.map((w) => ({
      id: w.id,
      hostname: w.hostname,
      pid: w.pid,
      startedAt: date(w.started_at),
      lastSeenAt: date(w.last_seen_at),
    })),
    pending: pending.map((p) => ({ queue: p.queue, method: p.method, count: Number(p.n), oldest: date(p.oldest) })),
    unserved: waiting
      .filter((w) => !served.has(w.method))
      .map((w) => ({ method: w.method, count: Number(w.n), nextDue: date(w.next_due), since: date(w.since) })),
    running: running.map((r) => ({
      id: r.id === null ? null : Number(r.id),
      jobId: r.job_id === null ? null : Number(r.job_id),
      name: r.name,
      queue: r.queue,
      runningWorker: r.running_worker,
      runningSince: date(r.running_since),
      progressDone: r.progress_done === null || r.progress_done === undefined ? null : Number(r.progress_done),
      progressTotal: r.progress_total === null || r.progress_total === undefined ? null : Number(r.progress_total),
      progressMessage: r.progress_message ?? null,
      timeoutMs: r.timeout_ms === null ? null : Number(r.timeout_ms),
      lastSeenAt: r.last_seen_at === null ? null : date(r.last_seen_at),
    })),
    failing: failing.map((f) => ({
      id: f.id,
      name: f.name,
      failureCount: f.failure_count,
      firstFailureDate: date(f.first_failure_date),
      active: backend.fromDbBool(f.active),
    })),
  };
}
