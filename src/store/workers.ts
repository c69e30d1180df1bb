import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { HOST } from "../core/host";
import { keyOf, type RunKey, type RunSource } from "./runSource";

/**
 * The SQL of `hrp_cron_worker`: workers register (with the `model.method`
 * names they serve), heartbeat, and unregister; recovery and the re-check of
 * a worker's own claims list every claim with its worker's registration.
 * Liveness uses wall-clock time, not the injected schedule clock.
 */

/** A claim and its worker's registration, as {@link claimHolders} lists them. */
export interface ClaimHolder {
  /** The claimed run (a recurring cron, or a job). */
  key: RunKey;
  running_worker: string;
  /** When it was claimed (the claimer's wall clock). */
  running_since: unknown;
  hostname: string | null;
  pid: number | null;
  last_seen_at: unknown;
}

/** Registers (or re-registers) `workerId` of this process, with the `model.method` names it serves (null: not said). */
export async function registerWorker(
  backend: Backend,
  workerId: string,
  methods: readonly string[] | null,
): Promise<void> {
  const now = backend.toDbDate(new Date());
  await backend.transaction(async (m) => {
    await backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]);
    await backend.execute(
      m,
      `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at, methods) VALUES (?, ?, ?, ?, ?, ?)`,
      [workerId, HOST, process.pid, now, now, methods === null ? null : JSON.stringify(methods)],
    );
  });
}

/** Refreshes `last_seen_at`; false when the worker's row is gone (it was presumed dead and removed). */
export async function touchWorker(backend: Backend, m: EntityManager, workerId: string): Promise<boolean> {
  return (
    (await backend.execute(m, `UPDATE hrp_cron_worker SET last_seen_at = ? WHERE id = ?`, [
      backend.toDbDate(new Date()),
      workerId,
    ])) > 0
  );
}

export async function unregisterWorker(backend: Backend, workerId: string): Promise<void> {
  await backend.transaction((m) => backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]));
}

/** Every claim (crons' and jobs') with its worker's registration (null columns: not registered). */
export async function claimHolders(backend: Backend, m: EntityManager): Promise<ClaimHolder[]> {
  const rows = await backend.query<Omit<ClaimHolder, "key"> & { s: RunSource; id: unknown }>(
    m,
    `SELECT 'cron' AS s, c.id, c.running_worker, c.running_since, w.hostname, w.pid, w.last_seen_at
       FROM ir_cron c LEFT JOIN hrp_cron_worker w ON w.id = c.running_worker
      WHERE c.running_worker IS NOT NULL
     UNION ALL
     SELECT 'job', j.id, j.running_worker, j.running_since, w.hostname, w.pid, w.last_seen_at
       FROM hrp_cron_job j LEFT JOIN hrp_cron_worker w ON w.id = j.running_worker
      WHERE j.running_worker IS NOT NULL`,
  );
  return rows.map(({ s, id, ...row }) => ({ key: keyOf(s, Number(id)), ...row }));
}

/** Runs (crons and jobs) `workerId` holds whose stop was requested (`stopJob`). */
export async function stopRequests(
  backend: Backend,
  workerId: string,
): Promise<Array<{ key: RunKey; jobId: number | null }>> {
  const rows = await backend.transaction((m) =>
    backend.query<{ s: RunSource; id: unknown }>(
      m,
      `SELECT 'cron' AS s, id FROM ir_cron WHERE running_worker = ? AND stop_requested = TRUE
       UNION ALL
       SELECT 'job', id FROM hrp_cron_job WHERE running_worker = ? AND stop_requested = TRUE`,
      [workerId, workerId],
    ),
  );
  return rows.map((r) => ({ key: keyOf(r.s, Number(r.id)), jobId: r.s === "job" ? Number(r.id) : null }));
}

/** The `model.method` names served by workers that heartbeat within `workerTimeoutMs` (wall clock). */
export async function liveWorkerMethods(
  backend: Backend,
  m: EntityManager,
  workerTimeoutMs: number,
): Promise<Set<string>> {
  const rows = await backend.query<{ methods: string | null }>(
    m,
    `SELECT methods FROM hrp_cron_worker WHERE last_seen_at > ? AND methods IS NOT NULL`,
    [backend.toDbDate(new Date(Date.now() - workerTimeoutMs))],
  );
  const served = new Set<string>();
  for (const row of rows) {
    const names: unknown = parseOrNull(row.methods);
    if (Array.isArray(names)) for (const name of names) served.add(String(name));
  }
  return served;
}

function parseOrNull(text: string | null): unknown {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** A registered worker, as the dashboard lists them. */
export interface WorkerInfo {
  readonly id: string;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly startedAt: Date | null;
  /** Its last heartbeat (the worker's wall clock). */
  readonly lastSeenAt: Date | null;
  /** The `model.method` names it serves (null: it did not say). */
  readonly methods: readonly string[] | null;
}

/** A run (a recurring cron's or a job's) claimed by a worker now. */
export interface HeldRun {
  /** The job's id, or the recurring cron's. */
  readonly id: number;
  readonly source: RunSource;
  readonly name: string;
  readonly queue: string;
  readonly workerId: string;
  readonly since: Date | null;
}

/**
 * Every registered worker, oldest first. A worker that stopped cleanly
 * unregistered; one whose process died stays, with its last heartbeat
 * (recovery releases its claims, not its registration).
 */
export async function listWorkers(backend: Backend, m: EntityManager): Promise<WorkerInfo[]> {
  const rows = await backend.query<{
    id: string;
    hostname: string | null;
    pid: unknown;
    started_at: unknown;
    last_seen_at: unknown;
    methods: string | null;
  }>(m, `SELECT id, hostname, pid, started_at, last_seen_at, methods FROM hrp_cron_worker ORDER BY started_at, id`);
  return rows.map((r) => {
    const methods = parseOrNull(r.methods);
    return {
      id: r.id,
      hostname: r.hostname,
      pid: r.pid === null ? null : Number(r.pid),
      startedAt: backend.fromDbDate(r.started_at),
      lastSeenAt: backend.fromDbDate(r.last_seen_at),
      methods: Array.isArray(methods) ? methods.map(String) : null,
    };
  });
}

/** Every claimed run (recurring crons' and jobs'), by worker then claim time. */
export async function heldRuns(backend: Backend, m: EntityManager): Promise<HeldRun[]> {
  const rows = await backend.query<{
    s: RunSource;
    id: unknown;
    name: string;
    queue: string;
    running_worker: string;
    running_since: unknown;
  }>(
    m,
    `SELECT s, id, name, queue, running_worker, running_since
       FROM (SELECT 'cron' AS s, id, name, queue, running_worker, running_since FROM ir_cron WHERE running_worker IS NOT NULL
             UNION ALL
             SELECT 'job', id, name, queue, running_worker, running_since FROM hrp_cron_job WHERE running_worker IS NOT NULL) x
      ORDER BY running_worker, running_since, s, id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    source: r.s,
    name: r.name,
    queue: r.queue,
    workerId: r.running_worker,
    since: backend.fromDbDate(r.running_since),
  }));
}
