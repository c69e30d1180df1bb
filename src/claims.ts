import { hostname } from "node:os";
import { In, type EntityManager } from "typeorm";
import { IrCron } from "../entities/IrCron";
import type { Backend } from "./backend";
import { CurrentlyRunningError, NotFoundError } from "./errors";
import type { Logger } from "./types";

/** Dispatchers alive in this process (a claim by a stopped one is stale even though the pid lives). */
const liveLocalWorkers = new Set<string>();
const HOST = hostname();

/**
 * Claims, worker registration and recovery: the SQL that decides who runs
 * what. A claim is `ir_cron.running_worker`, written atomically for a batch
 * of due crons (the backend adds `FOR UPDATE SKIP LOCKED` on PostgreSQL; on
 * SQLite the write transaction is exclusive). Liveness uses wall-clock time,
 * not the injected schedule clock.
 */
export class ClaimStore {
  constructor(private readonly backend: Backend, private readonly logger: Logger) {}

  /** A new, unique worker id: `host:pid:random`. */
  static newWorkerId(): string {
    return `${HOST}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  }

  async registerWorker(workerId: string): Promise<void> {
    liveLocalWorkers.add(workerId);
    const now = this.backend.toDbDate(new Date());
    await this.backend.transaction(async (m) => {
      await this.backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]);
      await this.backend.execute(m, `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`, [
        workerId, HOST, process.pid, now, now,
      ]);
    });
  }

  /** Refreshes `last_seen_at`; re-registers a worker that was presumed dead and removed. */
  async heartbeat(workerId: string): Promise<void> {
    const now = this.backend.toDbDate(new Date());
    const n = await this.backend.transaction((m) =>
      this.backend.execute(m, `UPDATE hrp_cron_worker SET last_seen_at = ? WHERE id = ?`, [now, workerId]),
    );
    if (n === 0 && liveLocalWorkers.has(workerId)) await this.registerWorker(workerId);
  }

  /** Heartbeat inside an open transaction (a run's own), at no extra round trip on commit. */
  async touch(manager: EntityManager, workerId: string): Promise<void> {
    await this.backend.execute(manager, `UPDATE hrp_cron_worker SET last_seen_at = ? WHERE id = ?`, [this.backend.toDbDate(new Date()), workerId]);
  }

  async unregisterWorker(workerId: string): Promise<void> {
    liveLocalWorkers.delete(workerId);
    await this.backend.transaction((m) => this.backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]));
  }

  /**
   * Claims up to `limit` due crons (`active AND numbercall != 0 AND
   * nextcall <= now`, unclaimed) in run order `priority, nextcall, id`, and
   * marks their jobs running. Returns them in that order.
   */
  async claimDue(workerId: string, now: Date, limit: number): Promise<IrCron[]> {
    return this.backend.transaction(async (m) => {
      // One statement: pick the batch in run order (skipping rows other workers are
      // claiming right now, on PostgreSQL) and mark it ours. The CTE is evaluated once,
      // so the LIMIT holds; the predicate matches the partial index ir_cron_due_idx.
      const rows = await this.backend.query<{ id: number }>(
        m,
        `WITH due AS (
            SELECT id FROM ir_cron
             WHERE active = TRUE AND numbercall <> 0 AND nextcall <= ? AND running_worker IS NULL
             ORDER BY priority, nextcall, id LIMIT ? ${this.backend.claimLockClause})
         UPDATE ir_cron SET running_worker = ?, running_since = ?
           FROM due WHERE ir_cron.id = due.id AND ir_cron.running_worker IS NULL
         RETURNING ir_cron.id`,
        [this.backend.toDbDate(now), limit, workerId, this.backend.toDbDate(new Date())],
      );
      if (rows.length === 0) return [];
      return this.loadClaimed(m, workerId, rows.map((r) => Number(r.id)), now);
    });
  }

  /**
   * Claims one cron whatever its schedule (a manual run).
   * @throws CurrentlyRunningError when another worker holds it
   */
  async claimOne(workerId: string, cronId: number, now: Date): Promise<IrCron> {
    return this.backend.transaction(async (m) => {
      const n = await this.backend.execute(
        m,
        `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE id = ? AND running_worker IS NULL`,
        [workerId, this.backend.toDbDate(new Date()), cronId],
      );
      if (n === 0) {
        const cron = await m.findOneBy(IrCron, { id: cronId });
        if (!cron) throw new NotFoundError("ir_cron", cronId);
        throw new CurrentlyRunningError(cronId, cron.runningWorker);
      }
      const [cron] = await this.loadClaimed(m, workerId, [cronId], now);
      return cron;
    });
  }

  /**
   * Releases a claim without recording a run (the run could not start, e.g.
   * the database stayed busy); the cron stays due. Compare-and-set on the
   * holder, so a claim taken over by recovery is left alone.
   */
  async release(manager: EntityManager, cron: IrCron, workerId: string): Promise<boolean> {
    const n = await this.backend.execute(
      manager,
      `UPDATE ir_cron SET running_worker = NULL, running_since = NULL WHERE id = ? AND running_worker = ?`,
      [cron.id, workerId],
    );
    if (n > 0 && cron.hrpCronJobId !== null) {
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'pending', date_started = NULL WHERE id = ? AND state = 'running'`, [
        cron.hrpCronJobId,
      ]);
    }
    return n > 0;
  }

  /**
   * Finds claims held by dead workers — worker row gone, process gone from
   * this host, or no heartbeat for `workerTimeoutMs` — and releases them so
   * the cron runs again (its interrupted run was never committed). Each
   * recovery is logged in the run log as `interrupted`. Returns how many.
   */
  async recoverStale(workerTimeoutMs: number, auditNow: Date): Promise<number> {
    const rows = await this.backend.transaction((m) =>
      this.backend.query<StaleRow>(
        m,
        `SELECT c.id, c.running_worker, w.hostname, w.pid, w.last_seen_at
           FROM ir_cron c LEFT JOIN hrp_cron_worker w ON w.id = c.running_worker
          WHERE c.running_worker IS NOT NULL`,
      ),
    );
    let recovered = 0;
    for (const row of rows) {
      const reason = this.deadReason(row, workerTimeoutMs);
      if (!reason) continue;
      const done = await this.backend.transaction(async (m) => {
        const cron = await m.findOneBy(IrCron, { id: Number(row.id) });
        if (!cron || cron.runningWorker !== row.running_worker) return false;
        if (!(await this.release(m, cron, row.running_worker))) return false;
        await this.backend.execute(
          m,
          `INSERT INTO hrp_cron_run_log (cron_id, hrp_cron_job_id, name, model, function, user_id, worker_id, scheduled_at, date_start, date_end, duration_ms, calls, state, error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, 'interrupted', ?)`,
          [cron.id, cron.hrpCronJobId, cron.name, cron.model, cron.function, cron.userId, row.running_worker,
            this.backend.toDbDate(cron.nextcall), this.backend.toDbDate(cron.runningSince ?? auditNow), this.backend.toDbDate(auditNow),
            `Worker ${row.running_worker} ${reason}; its run was rolled back and the cron was released to run again`],
        );
        return true;
      });
      if (done) {
        recovered++;
        this.logger.warn("recovered a cron claimed by a dead worker", { cronId: Number(row.id), worker: row.running_worker, reason });
      }
    }
    return recovered;
  }

  private deadReason(row: StaleRow, workerTimeoutMs: number): string | null {
    if (row.hostname === null || row.hostname === undefined) return "is not registered";
    if (row.hostname === HOST) {
      const pid = Number(row.pid);
      if (pid === process.pid) return liveLocalWorkers.has(row.running_worker) ? null : "was stopped";
      if (!pidAlive(pid)) return `(pid ${pid}) is gone`;
    }
    const seen = this.backend.fromDbDate(row.last_seen_at);
    if (seen && Date.now() - seen.getTime() > workerTimeoutMs) return `stopped heartbeating ${Math.round((Date.now() - seen.getTime()) / 1000)} s ago`;
    return null;
  }

  private async loadClaimed(m: EntityManager, workerId: string, ids: number[], now: Date): Promise<IrCron[]> {
    await this.backend.execute(
      m,
      `UPDATE hrp_cron_job SET state = 'running', date_started = ?
        WHERE state = 'pending' AND id IN (SELECT hrp_cron_job_id FROM ir_cron WHERE running_worker = ? AND hrp_cron_job_id IS NOT NULL)`,
      [this.backend.toDbDate(now), workerId],
    );
    const crons = await m.findBy(IrCron, { id: In(ids) });
    return crons.sort((a, b) => a.priority - b.priority || a.nextcall.getTime() - b.nextcall.getTime() || a.id - b.id);
  }
}

interface StaleRow {
  id: number;
  running_worker: string;
  hostname: string | null;
  pid: number | null;
  last_seen_at: unknown;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
