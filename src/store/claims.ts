import { hostname } from "node:os";
import type { EntityManager } from "typeorm";
import { IrCron } from "../schema/entities/IrCron";
import { hydrate, type Backend } from "../backend";
import type { LiveWorkers } from "../backend/processLocal";
import type { CrashRecords, Recovered } from "./crashes";
import { releaseFinished, requireRunnable } from "./jobState";
import { CurrentlyRunningError, NotFoundError } from "../core/errors";
import { methodNotIn, type ClaimFilter } from "../worker/methodGate";
import type { Logger } from "../core/types";

const HOST = hostname();

/**
 * Claims, worker registration and recovery: the SQL that decides who runs
 * what. A claim is `ir_cron.running_worker`, written atomically for a batch
 * of due crons (the backend adds `FOR UPDATE SKIP LOCKED` on PostgreSQL; on
 * SQLite the write transaction is exclusive). Liveness uses wall-clock time,
 * not the injected schedule clock.
 */
export class ClaimStore {
  /** The methods this store's worker registered with, kept for a re-registration. */
  private methods: readonly string[] | null = null;

  /** `crashes` does the bookkeeping of recovered claims (suspects, crash counts). */
  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
    private readonly crashes: CrashRecords,
    /** The dispatchers of this DataSource alive in this process (a claim by a stopped one is stale even though the pid lives). */
    private readonly liveWorkers: LiveWorkers,
  ) {}

  /** A new, unique worker id: `host:pid:random`. */
  static newWorkerId(): string {
    return `${HOST}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Registers (or re-registers) `workerId`, with the `model.method` names it serves (null: not said). */
  async registerWorker(workerId: string, methods: readonly string[] | null = this.methods): Promise<void> {
    this.liveWorkers.add(workerId);
    this.methods = methods;
    const now = this.backend.toDbDate(new Date());
    await this.backend.transaction(async (m) => {
      await this.backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]);
      await this.backend.execute(m, `INSERT INTO hrp_cron_worker (id, hostname, pid, started_at, last_seen_at, methods) VALUES (?, ?, ?, ?, ?, ?)`, [
        workerId, HOST, process.pid, now, now, methods === null ? null : JSON.stringify(methods),
      ]);
    });
  }

  /**
   * Refreshes `last_seen_at`; re-registers a worker that was presumed dead
   * and removed. With `recovery`, also releases dead workers' claims, and
   * returns every claim it listed (for the worker's re-check of its own).
   */
  async heartbeat(workerId: string, recovery?: { workerTimeoutMs: number; auditNow: Date }): Promise<ClaimHolder[]> {
    const now = this.backend.toDbDate(new Date());
    // One transaction for both, so an idle worker costs as few round trips as possible.
    const { n, claims } = await this.backend.transaction(async (m) => ({
      n: await this.backend.execute(m, `UPDATE hrp_cron_worker SET last_seen_at = ? WHERE id = ?`, [now, workerId]),
      claims: recovery ? await this.claimHolders(m) : [],
    }));
    if (n === 0 && this.liveWorkers.has(workerId)) await this.registerWorker(workerId);
    if (recovery) await this.releaseDead(claims, recovery.workerTimeoutMs, recovery.auditNow);
    return claims;
  }

  async unregisterWorker(workerId: string): Promise<void> {
    this.liveWorkers.delete(workerId);
    await this.backend.transaction((m) => this.backend.execute(m, `DELETE FROM hrp_cron_worker WHERE id = ?`, [workerId]));
  }

  /**
   * Claims due crons (`active AND numbercall != 0 AND nextcall <= now`,
   * unclaimed), queue by queue in the order of `plans`, each in run order
   * `priority, nextcall, id`, at most `plan.max` per queue and `total` in
   * all; marks their jobs running. Concurrency limits hold across all
   * workers: a queue's `maxConcurrency` and each row's
   * `concurrency_key`/`concurrency_limit` count every claimed row in the
   * database, and such claims are serialised by `lockForLimits`.
   *
   * Cost does not grow with the rows that are not due: one statement finds
   * which (queue, priority) bands hold due rows (an index skip-scan over
   * priorities), then each band is claimed with a range scan of its due
   * rows that stops at the limit — future-dated and low-priority rows are
   * never walked.
   *
   * With a `filter` (rolling deploys, see `MethodGate`), rows of its
   * `skipMethods` are not claimed, and the rows it does not `keep` are handed
   * back in the same transaction, before their jobs are marked running.
   */
  async claimDue(workerId: string, now: Date, plans: readonly ClaimPlan[], total: number, filter?: ClaimFilter): Promise<Claim> {
    const skip = filter?.skipMethods() ?? [];
    return this.backend.transaction(async (m) => {
      const claimed: ClaimedRow[] = [];
      let locked = false;
      const active = plans.filter((p) => p.max > 0);
      if (active.length === 0 || total <= 0) return { crons: [], nextDue: null };
      const { bands, keyed, nextDue } = await this.dueBands(m, active.map((p) => p.queue), now);
      for (const plan of active) {
        let taken = 0;
        const room = () => Math.min(plan.max - taken, total - claimed.length);
        const queueBands = bands.filter((b) => b.queue === plan.queue);
        if (room() <= 0 || queueBands.length === 0) continue;
        if (plan.maxConcurrency === null) {
          for (const band of queueBands) {
            if (room() <= 0) break;
            const rows = await this.claimBand(m, workerId, now, plan.queue, band.priority, room(), skip);
            claimed.push(...rows);
            taken += rows.length;
          }
        }
        // Rows with a concurrency key (and every row of a limited queue) go through the locked path.
        if (room() <= 0 || (!keyed && plan.maxConcurrency === null)) continue;
        const keyedOnly = plan.maxConcurrency === null;
        if ((await this.candidates(m, now, plan.queue, 1, keyedOnly, skip)).length === 0) continue;
        if (!locked) {
          await this.backend.lockForLimits(m);
          locked = true;
        }
        const rows = await this.claimLimited(m, workerId, now, plan, room(), keyedOnly, skip);
        claimed.push(...rows);
        taken += rows.length;
      }
      const kept = filter && claimed.length > 0 ? await filter.keep(m, claimed) : claimed;
      const leftOut = claimed.length - kept.length;
      if (kept.length === 0) return { crons: [], nextDue, leftOut };
      const preference = new Map(plans.map((p, i) => [p.queue, i]));
      const crons = await this.loadClaimed(m, workerId, kept, now);
      // Queue preference first, then run order within the queue.
      return { crons: crons.sort((a, b) => (preference.get(a.queue) ?? 0) - (preference.get(b.queue) ?? 0)), nextDue, leftOut };
    });
  }

  /**
   * The (queue, priority) bands of `queues` that hold due, unclaimed rows,
   * in priority order, and whether any due row anywhere has a concurrency
   * key. See {@link bandHeads}; the key probe reads ir_cron_keyed_due_idx.
   */
  private async dueBands(m: EntityManager, queues: readonly string[], now: Date): Promise<{ bands: DueBand[]; keyed: boolean; nextDue: Date | null }> {
    const at = this.backend.toDbDate(now);
    const heads = await this.bandHeads(m, queues, `(SELECT COUNT(*) FROM (SELECT 1 FROM ir_cron WHERE ${READY} AND concurrency_key IS NOT NULL AND nextcall <= ? LIMIT 1) x)`, [at]);
    const bands = heads.filter((h) => h.first.getTime() <= now.getTime()).sort((a, b) => a.priority - b.priority);
    const nextDue = heads.reduce<Date | null>((min, h) => (min === null || h.first < min ? h.first : min), null);
    return { bands, keyed: heads.some((h) => Number(h.extra) > 0), nextDue };
  }

  /**
   * For each priority value present among the ready rows of each queue, its
   * earliest `nextcall` (and the value of the `extra` SQL expression, bound
   * with `extraParams`). A recursive walk of ir_cron_queue_due_idx visits
   * each priority value once (an O(log n) probe, however many rows share
   * it) and reads one row per band; scalar subqueries keep the planner from
   * turning that into a scan of every due row.
   */
  private async bandHeads(m: EntityManager, queues: readonly string[], extra: string, extraParams: unknown[]) {
    const rows = await this.backend.query<{ q: string; p: unknown; first: unknown; extra: unknown }>(
      m,
      `WITH RECURSIVE prios(q, p) AS (
          SELECT v.column1, (SELECT priority FROM ir_cron WHERE queue = v.column1 AND ${READY} ORDER BY priority LIMIT 1)
            FROM (VALUES ${queues.map(() => "(?)").join(", ")}) AS v
          UNION ALL
          SELECT q, (SELECT priority FROM ir_cron WHERE queue = prios.q AND ${READY} AND priority > prios.p ORDER BY priority LIMIT 1)
            FROM prios WHERE p IS NOT NULL)
       SELECT q, p, (SELECT nextcall FROM ir_cron WHERE queue = prios.q AND priority = prios.p AND ${READY} ORDER BY nextcall LIMIT 1) AS first,
              ${extra} AS extra
         FROM prios WHERE p IS NOT NULL`,
      [...queues, ...extraParams],
    );
    return rows.flatMap((r) => {
      const first = this.backend.fromDbDate(r.first);
      return first ? [{ queue: r.q, priority: Number(r.p), first, extra: r.extra }] : [];
    });
  }

  /** Claims up to `limit` due rows without a key from one band, in run order, skipping rows others are claiming. */
  private async claimBand(m: EntityManager, workerId: string, now: Date, queue: string, priority: number, limit: number, skip: readonly string[]): Promise<ClaimedRow[]> {
    // A range scan of the band's due rows (ir_cron_queue_due_idx) that stops at the limit.
    // The CTE is evaluated once, so the LIMIT holds.
    return this.backend.query<ClaimedRow>(
      m,
      `WITH due AS (
          SELECT id FROM ir_cron
           WHERE queue = ? AND priority = ? AND active = TRUE AND numbercall <> 0 AND running_worker IS NULL
             AND nextcall <= ? AND concurrency_key IS NULL${methodNotIn("", skip)}
           ORDER BY nextcall, id LIMIT ? ${this.backend.claimLockClause})
       UPDATE ir_cron SET running_worker = ?, running_since = ?
         FROM due WHERE ir_cron.id = due.id AND ir_cron.running_worker IS NULL -- RETURNING * adds due.id (the same id) on PostgreSQL
       RETURNING *`,
      [queue, priority, this.backend.toDbDate(now), ...skip, limit, workerId, this.backend.toDbDate(new Date())],
    );
  }

  /** Ready rows of `queue` whose key (if any) is below its limit, in run order. */
  private candidates(m: EntityManager, now: Date, queue: string, limit: number, keyedOnly: boolean, skip: readonly string[]) {
    return this.backend.query<{ id: number; concurrency_key: string | null; concurrency_limit: number | null }>(
      m,
      `SELECT c.id, c.concurrency_key, c.concurrency_limit FROM ir_cron c
        WHERE c.queue = ? AND c.active = TRUE AND c.numbercall <> 0 AND c.nextcall <= ? AND c.running_worker IS NULL
          ${keyedOnly ? "AND c.concurrency_key IS NOT NULL" : ""}${methodNotIn("c.", skip)}
          AND (c.concurrency_key IS NULL OR c.concurrency_limit IS NULL OR c.concurrency_limit >
               (SELECT COUNT(*) FROM ir_cron r WHERE r.concurrency_key = c.concurrency_key AND r.running_worker IS NOT NULL))
        ORDER BY c.priority, c.nextcall, c.id LIMIT ? ${this.backend.claimLockClause}`,
      [queue, this.backend.toDbDate(now), ...skip, limit],
    );
  }

  /** Under the limits lock: counts what runs now and claims only what the limits allow. */
  private async claimLimited(
    m: EntityManager, workerId: string, now: Date, plan: ClaimPlan, room: number, keyedOnly: boolean, skip: readonly string[],
  ): Promise<ClaimedRow[]> {
    let allowed = room;
    if (plan.maxConcurrency !== null) {
      const [row] = await this.backend.query<{ n: unknown }>(m, `SELECT COUNT(*) AS n FROM ir_cron WHERE queue = ? AND running_worker IS NOT NULL`, [plan.queue]);
      allowed = Math.min(allowed, plan.maxConcurrency - Number(row.n));
    }
    if (allowed <= 0) return [];
    const rows = await this.candidates(m, now, plan.queue, allowed * 4, keyedOnly, skip);
    const keys = [...new Set(rows.map((r) => r.concurrency_key).filter((k): k is string => k !== null))];
    const running = new Map<string, number>();
    if (keys.length > 0) {
      const counts = await this.backend.query<{ k: string; n: unknown }>(
        m,
        `SELECT concurrency_key AS k, COUNT(*) AS n FROM ir_cron WHERE running_worker IS NOT NULL AND concurrency_key IN (${keys.map(() => "?").join(", ")}) GROUP BY concurrency_key`,
        keys,
      );
      for (const c of counts) running.set(c.k, Number(c.n));
    }
    const chosen: number[] = [];
    for (const row of rows) {
      if (chosen.length >= allowed) break;
      if (row.concurrency_key !== null) {
        const n = running.get(row.concurrency_key) ?? 0;
        if (n >= Number(row.concurrency_limit ?? Infinity)) continue;
        running.set(row.concurrency_key, n + 1);
      }
      chosen.push(Number(row.id));
    }
    if (chosen.length === 0) return [];
    return this.backend.query<ClaimedRow>(
      m,
      `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE running_worker IS NULL AND ${this.backend.idIn("id")} RETURNING *`,
      [workerId, this.backend.toDbDate(new Date()), this.backend.idList(chosen)],
    );
  }

  /** Crons this worker holds whose stop was requested. */
  async stopRequests(workerId: string): Promise<Array<{ cronId: number; jobId: number | null }>> {
    const rows = await this.backend.transaction((m) =>
      this.backend.query<{ id: number; hrp_cron_job_id: number | null }>(
        m, `SELECT id, hrp_cron_job_id FROM ir_cron WHERE running_worker = ? AND stop_requested = TRUE`, [workerId],
      ),
    );
    return rows.map((r) => ({ cronId: Number(r.id), jobId: r.hrp_cron_job_id === null ? null : Number(r.hrp_cron_job_id) }));
  }

  /**
   * Claims one cron whatever its schedule (a manual run).
   * @throws CurrentlyRunningError when another worker holds it
   * @throws InvalidStateError when it is the cron of a job that is not pending
   */
  async claimOne(workerId: string, cronId: number, now: Date): Promise<IrCron> {
    return this.backend.transaction(async (m) => {
      const rows = await this.backend.query<ClaimedRow>(
        m,
        `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE id = ? AND running_worker IS NULL RETURNING *`,
        [workerId, this.backend.toDbDate(new Date()), cronId],
      );
      if (rows.length === 0) {
        const cron = await m.findOneBy(IrCron, { id: cronId });
        if (!cron) throw new NotFoundError("ir_cron", cronId);
        throw new CurrentlyRunningError(cronId, cron.runningWorker);
      }
      const [cron] = await this.loadClaimed(m, workerId, rows, now);
      // The job was done, failed, cancelled or stopped: an operator's decision, final (the claim rolls back).
      if (!cron) await requireRunnable(this.backend, m, cronId);
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
      `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, suspect_started = FALSE WHERE id = ? AND running_worker = ?`,
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
   * the cron runs again (its interrupted run was never committed), each
   * logged in the run log as `interrupted`; a cron whose lone runs killed
   * their worker too often is failed instead (see {@link CrashRecords}).
   * Returns how many claims were recovered.
   */
  async recoverStale(workerTimeoutMs: number, auditNow: Date): Promise<number> {
    return this.releaseDead(await this.backend.transaction((m) => this.claimHolders(m)), workerTimeoutMs, auditNow);
  }

  /** Every claim with its worker's registration (null columns: not registered). */
  claimHolders(m: EntityManager): Promise<ClaimHolder[]> {
    return this.backend.query<ClaimHolder>(
      m,
      `SELECT c.id, c.running_worker, c.running_since, w.hostname, w.pid, w.last_seen_at
         FROM ir_cron c LEFT JOIN hrp_cron_worker w ON w.id = c.running_worker
        WHERE c.running_worker IS NOT NULL`,
    );
  }

  /** Releases the claims among `rows` whose worker is dead, logging each as `interrupted`. */
  private async releaseDead(rows: readonly ClaimHolder[], workerTimeoutMs: number, auditNow: Date): Promise<number> {
    let recovered = 0;
    for (const row of rows) {
      const reason = this.deadReason(row, workerTimeoutMs);
      if (!reason) continue;
      const outcome = await this.backend.transaction(async (m): Promise<Recovered> => {
        const cron = await m.findOneBy(IrCron, { id: Number(row.id) });
        if (!cron || cron.runningWorker !== row.running_worker) return { kind: "gone" };
        return this.crashes.recover(m, cron, row.running_worker, reason, auditNow, attributable(row, rows), () => this.release(m, cron, row.running_worker));
      });
      await this.crashes.afterRecovery(outcome);
      if (outcome.kind !== "gone") {
        recovered++;
        this.logger.warn("recovered a cron claimed by a dead worker", { cronId: Number(row.id), worker: row.running_worker, reason });
      }
    }
    return recovered;
  }

  private deadReason(row: ClaimHolder, workerTimeoutMs: number): string | null {
    if (row.hostname === null || row.hostname === undefined) return "is not registered";
    if (row.hostname === HOST) {
      const pid = Number(row.pid);
      if (pid === process.pid) {
        // A dispatcher of another DataSource of this process is judged by its heartbeat below.
        const state = this.liveWorkers.state(row.running_worker);
        if (state === "live") return null;
        if (state === "stopped") return "was stopped";
      } else if (!pidAlive(pid)) return `(pid ${pid}) is gone`;
    }
    const seen = this.backend.fromDbDate(row.last_seen_at);
    if (seen && Date.now() - seen.getTime() > workerTimeoutMs) return `stopped heartbeating ${Math.round((Date.now() - seen.getTime()) / 1000)} s ago`;
    return null;
  }

  /**
   * Claimed rows as entities; their jobs marked running, and their success
   * callbacks noted for the run. A claimed cron whose job is not pending
   * (done, failed, cancelled or stopped: final) is not returned: its claim
   * is released and the cron deactivated, in the claim's transaction.
   */
  private async loadClaimed(m: EntityManager, workerId: string, rows: readonly ClaimedRow[], now: Date): Promise<IrCron[]> {
    const all = hydrate(m, IrCron, rows);
    const jobIds = all.flatMap((c) => (c.hrpCronJobId === null ? [] : [c.hrpCronJobId]));
    const callbacks = new Map<number, { onSuccess: string | null; onFailure: string | null }>();
    if (jobIds.length > 0) {
      const jobs = await this.backend.query<{ id: unknown; on_success: string | null; on_failure: string | null }>(
        m,
        // COALESCE keeps SQLite from driving this by the state index (every pending job) instead of the ids.
        `UPDATE hrp_cron_job SET state = 'running', date_started = ?, worker_id = ?
          WHERE ${this.backend.idIn("id")} AND COALESCE(state, '') = 'pending'
         RETURNING id, on_success, on_failure`,
        [this.backend.toDbDate(now), workerId, this.backend.idList(jobIds)],
      );
      for (const job of jobs) callbacks.set(Number(job.id), { onSuccess: job.on_success, onFailure: job.on_failure });
    }
    const crons = all.filter((c) => c.hrpCronJobId === null || callbacks.has(c.hrpCronJobId));
    if (crons.length < all.length) await releaseFinished(this.backend, this.logger, m, all.filter((c) => !crons.includes(c)));
    for (const cron of crons) {
      if (cron.hrpCronJobId === null) claimedCallbacks.set(cron, { onSuccess: null, onFailure: null });
      else if (callbacks.has(cron.hrpCronJobId)) claimedCallbacks.set(cron, callbacks.get(cron.hrpCronJobId)!);
    }
    return crons.sort((a, b) => a.priority - b.priority || a.nextcall.getTime() - b.nextcall.getTime() || a.id - b.id);
  }
}

/** What one claim may take from one queue. */
export interface ClaimPlan {
  readonly queue: string;
  /** At most this many from this queue (this worker's free slots for it). */
  readonly max: number;
  /** The queue's global limit, or null. */
  readonly maxConcurrency: number | null;
}

/** Unclaimed rows that can run (the predicate of the ready indexes). */
const READY = "active = TRUE AND numbercall <> 0 AND running_worker IS NULL";

/** What a claim took, and when the earliest ready row of its queues was due before it (null: none). */
export interface Claim {
  readonly crons: IrCron[];
  readonly nextDue: Date | null;
  /** Rows claimed and handed back at once by the claim's {@link ClaimFilter}. */
  readonly leftOut?: number;
}

/** An `ir_cron` row as a claim statement returned it (`RETURNING *`). */
export type ClaimedRow = Record<string, unknown>;

/** The callbacks of each claimed cron's job, read when the claim marked it running. */
const claimedCallbacks = new WeakMap<IrCron, { readonly onSuccess: string | null; readonly onFailure: string | null }>();

/**
 * The registered `onSuccess` name of a cron this process claimed (null:
 * none), or undefined when the claim did not read it (e.g. a cron passed
 * to a sandbox thread): then look it up.
 */
export function claimedCallback(cron: IrCron): string | null | undefined {
  return claimedCallbacks.get(cron)?.onSuccess;
}

/** Like {@link claimedCallback}, for the job's `onFailure`. */
export function claimedFailureCallback(cron: IrCron): string | null | undefined {
  return claimedCallbacks.get(cron)?.onFailure;
}

/** A queue and priority holding due rows. */
interface DueBand {
  readonly queue: string;
  readonly priority: number;
}

/** A claim and its worker's registration, as {@link ClaimStore.claimHolders} lists them. */
export interface ClaimHolder {
  id: number;
  running_worker: string;
  /** When it was claimed (the claimer's wall clock). */
  running_since: unknown;
  hostname: string | null;
  pid: number | null;
  last_seen_at: unknown;
}

/**
 * Whether the death of `row`'s worker can be pinned on its own runs: the
 * process is known (registered) and no other dispatcher of it held claims,
 * whose runs might have killed it.
 */
function attributable(row: ClaimHolder, all: readonly ClaimHolder[]): boolean {
  if (row.hostname === null || row.hostname === undefined) return false;
  return !all.some((r) => r.running_worker !== row.running_worker && r.hostname === row.hostname && Number(r.pid) === Number(row.pid));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
