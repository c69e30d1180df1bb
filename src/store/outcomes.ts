import { In, type EntityManager } from "typeorm";
import { IrCron } from "../schema/entities/IrCron";
import type { Backend, JsonColumns } from "../backend";
import { scheduleOf } from "../scheduling/cronSchedule";
import { ClaimLostError, InvalidStateError, RetryableJobError } from "../core/errors";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import { tryCatchUp } from "../scheduling";

/** A successful run, waiting for the batch's bulk bookkeeping. */
export interface Success {
  readonly cron: IrCron;
  readonly start: Date;
  readonly end: Date;
  readonly calls: number;
  /** Schedule after the run. */
  readonly nextcall: Date;
  /** The wall-clock time `nextcall` stands for when a DST gap moved it (see `IrCron.nextcallWall`). */
  readonly nextcallWall: string | null;
  readonly numbercall: number;
  readonly active: boolean;
}

const CRON_DONE: JsonColumns = { id: "int", lastcall: "timestamp", nextcall: "timestamp", nextcall_wall: "text", numbercall: "int", active: "bool" };
const JOB_DONE: JsonColumns = { id: "int", started: "timestamp", done: "timestamp" };
const CRON_FAILED: JsonColumns = {
  id: "int", failure_count: "int", first_failure_date: "timestamp", nextcall: "timestamp", nextcall_wall: "text", active: "bool", numbercall: "int",
  crash_count: "int",
};
const JOB_RETRY: JsonColumns = { id: "int", exc_info: "text" };
const JOB_FAILED: JsonColumns = { id: "int", started: "timestamp", done: "timestamp", exc_info: "text" };
const RUN_LOG: JsonColumns = {
  cron_id: "int", job_id: "int", name: "text", model: "text", fn: "text", user_id: "int", scheduled_at: "timestamp",
  date_start: "timestamp", date_end: "timestamp", duration_ms: "int", calls: "int", state: "text", error: "text",
};

/** A failed run, waiting for the batch's bulk bookkeeping. */
export interface Failure {
  readonly cron: IrCron;
  readonly start: Date;
  readonly end: Date;
  /** The error as stored (`exc_info`, with its stack). */
  readonly excInfo: string;
  /** What the method threw (a RetryableJobError may set the retry delay). */
  readonly thrown: unknown;
  /** No retry, whatever `maxRetries` says (the job killed its worker `maxCrashes` times). */
  readonly final?: boolean;
}

/** A job's retry settings, as read for its failure. */
interface JobRetryRow {
  readonly id: unknown;
  readonly attempts: unknown;
  readonly max_retries: unknown;
  readonly retry_backoff_ms: string | null;
}

/**
 * When a failed job should run again, or null when it has no retries left (or
 * the job row is gone). `failures` counts this run's failure too (the job's
 * cron's `failure_count + 1`): runs interrupted by a worker stop or killed
 * with their worker count in `attempts` but are not failures.
 */
function retryTime(job: JobRetryRow | undefined, failures: number, end: Date, thrown: unknown): Date | null {
  if (!job || failures > Number(job.max_retries)) return null;
  const backoff: number[] = job.retry_backoff_ms ? JSON.parse(job.retry_backoff_ms) : [0];
  const delay = thrown instanceof RetryableJobError && thrown.delayMs !== undefined
    ? thrown.delayMs
    : backoff[Math.min(failures - 1, backoff.length - 1)] ?? 0;
  return new Date(end.getTime() + delay);
}

/** One `hrp_cron_run_log` row. */
export interface RunLogRow {
  readonly cron: IrCron;
  readonly start: Date;
  readonly end: Date;
  readonly calls: number;
  readonly state: string;
  readonly error: string | null;
  /** Default: end - start. */
  readonly durationMs?: number | null;
}

/**
 * The bookkeeping SQL of runs: what a success, a failure, a stop or an
 * interruption writes to `ir_cron`, `hrp_cron_job` and `hrp_cron_run_log`,
 * always inside the run's transaction and always as a compare-and-set on
 * this worker's claim. Successes of a batch are written in bulk (three
 * statements whatever the batch size), and so are failures; stops and
 * interruptions row by row.
 */
export class RunRecords {
  constructor(
    private readonly backend: Backend,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
  ) {}

  /**
   * Records a batch of successes: advances each cron, releases its claim,
   * marks its job done and logs the run. Returns the run-log id by cron id.
   * @throws ClaimLostError when this worker no longer holds one of the claims
   *   (the caller must roll the whole transaction back)
   */
  async complete(manager: EntityManager, successes: readonly Success[]): Promise<Map<number, number>> {
    if (successes.length === 0) return new Map();
    const b = this.backend;
    const rows = successes.map((s) => ({
      id: s.cron.id, lastcall: s.start, nextcall: s.nextcall, nextcall_wall: s.nextcallWall, numbercall: s.numbercall, active: s.active,
    }));
    // A cron that re-triggered itself during the run (`retrigger`) is due again at once; the
    // schedule's next call waits in planned_nextcall (see migration 0008).
    await this.releaseHeld(manager, `lastcall = v.lastcall,
       nextcall = CASE WHEN ir_cron.retrigger = TRUE THEN v.lastcall ELSE v.nextcall END,
       planned_nextcall = CASE WHEN ir_cron.retrigger = TRUE THEN v.nextcall ELSE NULL END, retrigger = FALSE, nextcall_wall = v.nextcall_wall,
       numbercall = v.numbercall, active = v.active, failure_count = 0, first_failure_date = NULL, crash_count = 0, suspect = FALSE,
       unserved_since = NULL`, CRON_DONE, rows);
    const jobs = successes.filter((s) => s.cron.hrpCronJobId !== null);
    if (jobs.length > 0) {
      // Only a running job can end done: an operator's cancellation is never overwritten.
      const n = await b.execute(
        manager,
        `UPDATE hrp_cron_job SET state = 'done', date_started = v.started, date_done = v.done, exc_info = NULL, attempts = attempts + 1
           ${b.updateFrom("hrp_cron_job", "v", JOB_DONE)} AND hrp_cron_job.state = 'running'`,
        b.updateFromParams(JOB_DONE, jobs.map((s) => ({ id: s.cron.hrpCronJobId, started: s.start, done: s.end }))),
      );
      if (n !== jobs.length) await this.refuseNotRunning(manager, jobs.map((s) => s.cron.hrpCronJobId!));
    }
    return this.insertRunLogs(manager, successes.map((s) => ({ ...s, state: "done", error: null })));
  }

  /**
   * Records a failed run (its writes already rolled back); see
   * {@link recordFailures}.
   * @throws ClaimLostError when recovery gave the claim away meanwhile
   */
  async recordFailure(manager: EntityManager, cron: IrCron, start: Date, excInfo: string, thrown: unknown): Promise<number> {
    const ids = await this.recordFailures(manager, [{ cron, start, end: this.options.now(), excInfo, thrown }]);
    if (!ids.has(cron.id)) throw new ClaimLostError(cron.id, this.workerId);
    return ids.get(cron.id)!;
  }

  /**
   * Records failed runs (their writes already rolled back), in a few
   * statements whatever their number: failure counters, then a retry (job
   * back to `pending`, due after its backoff), a failed one-shot job (cron
   * deactivated, job stays visible and retryable), or a recurring cron moved
   * to its next occurrence — deactivated after repeated failures over a long
   * time (Odoo 18's rule). Returns the run-log id by cron id; a cron whose
   * claim this worker no longer held is absent (nothing written for it).
   * @throws ClaimLostError when a claim was taken away between the read and the write
   *   (the caller must roll the whole transaction back)
   */
  async recordFailures(manager: EntityManager, failures: readonly Failure[]): Promise<Map<number, number>> {
    if (failures.length === 0) return new Map();
    const b = this.backend;
    const currents = new Map((await manager.findBy(IrCron, { id: In(failures.map((f) => f.cron.id)) })).map((c) => [c.id, c]));
    const held = failures.flatMap((f) => {
      const current = currents.get(f.cron.id);
      return current && current.runningWorker === this.workerId ? [{ ...f, current }] : [];
    });
    if (held.length === 0) return new Map();
    const jobIds = held.flatMap((f) => (f.current.hrpCronJobId === null ? [] : [f.current.hrpCronJobId]));
    const jobs = jobIds.length === 0 ? [] : await b.query<JobRetryRow>(
      manager, `SELECT id, attempts, max_retries, retry_backoff_ms FROM hrp_cron_job WHERE ${b.idIn("id")}`, [b.idList(jobIds)],
    );
    const jobOf = new Map(jobs.map((j) => [Number(j.id), j]));
    const crons: Record<string, unknown>[] = [];
    const retried: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const { current, start, end, excInfo, thrown, final } of held) {
      let failureCount = current.failureCount + 1;
      let firstFailure: Date | null = current.firstFailureDate ?? start;
      let nextcall = current.nextcall;
      let nextcallWall: string | null = null;
      let active = current.active;
      let numbercall = current.numbercall;
      const jobId = current.hrpCronJobId;
      const retryAt = jobId === null || final ? null : retryTime(jobOf.get(jobId), failureCount, end, thrown);
      if (jobId !== null && retryAt) {
        // Retries left: back to pending, due after the backoff, as the same user.
        nextcall = retryAt;
        retried.push({ id: jobId, exc_info: excInfo });
      } else if (jobId !== null) {
        // A one-shot job is not retried blindly: it stays visible as failed and can be retried.
        active = false;
        failed.push({ id: jobId, started: start, done: end, exc_info: excInfo });
      } else {
        // A triggered run resumes the schedule it displaced (planned_nextcall).
        ({ nextcall, nextcallWall, active } = await this.nextAfterFailure(manager, { ...current, nextcall: current.plannedNextcall ?? current.nextcall }, start));
        // As in Odoo, a failed run still uses up a call: numbercall = 1 leaves it inactive, as a success does.
        if (numbercall > 0) numbercall--;
        if (numbercall === 0) active = false;
        if (failureCount >= this.options.deactivateAfterFailures && firstFailure.getTime() + this.options.deactivateAfterMs < end.getTime()) {
          active = false;
          this.options.logger.error("cron deactivated after repeated failures", { cronId: current.id, name: current.name, failureCount });
          failureCount = 0;
          firstFailure = null;
        }
      }
      // A crash failure starts the next occurrence with a clean count; other failures keep it.
      crons.push({
        id: current.id, failure_count: failureCount, first_failure_date: firstFailure, nextcall, nextcall_wall: nextcallWall, active, numbercall,
        crash_count: final ? 0 : current.crashCount,
      });
    }
    await this.releaseHeld(manager, `failure_count = v.failure_count, first_failure_date = v.first_failure_date, nextcall = v.nextcall,
       nextcall_wall = v.nextcall_wall, active = v.active, numbercall = v.numbercall, crash_count = v.crash_count, planned_nextcall = NULL,
       retrigger = FALSE, suspect = FALSE`, CRON_FAILED, crons);
    // The run started, so it counts in attempts; a job an operator took out of `running` keeps its state.
    if (retried.length > 0) {
      await b.execute(manager, `UPDATE hrp_cron_job SET state = 'pending', exc_info = v.exc_info, attempts = attempts + 1
         ${b.updateFrom("hrp_cron_job", "v", JOB_RETRY)} AND hrp_cron_job.state = 'running'`,
        b.updateFromParams(JOB_RETRY, retried));
    }
    if (failed.length > 0) {
      await b.execute(
        manager,
        `UPDATE hrp_cron_job SET state = 'failed', date_started = v.started, date_done = v.done, exc_info = v.exc_info, attempts = attempts + 1
           ${b.updateFrom("hrp_cron_job", "v", JOB_FAILED)} AND hrp_cron_job.state = 'running'`,
        b.updateFromParams(JOB_FAILED, failed),
      );
    }
    return this.insertRunLogs(manager, held.map((f) => ({ cron: f.current, start: f.start, end: f.end, calls: 0, state: "failed", error: f.excInfo })));
  }

  /**
   * An operator stopped the run: job `stopped`, cron inactive, not retried.
   * @throws ClaimLostError when recovery gave the claim away meanwhile
   */
  async recordStopped(manager: EntityManager, cron: IrCron, start: Date, message: string): Promise<number> {
    const end = this.options.now();
    const n = await this.backend.execute(
      manager,
      `UPDATE ir_cron SET active = FALSE, stop_requested = FALSE, running_worker = NULL, running_since = NULL, suspect_started = FALSE
        WHERE id = ? AND running_worker = ?`,
      [cron.id, this.workerId],
    );
    if (n === 0) throw new ClaimLostError(cron.id, this.workerId);
    if (cron.hrpCronJobId !== null) {
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'stopped', date_done = ?, exc_info = ?, attempts = attempts + 1 WHERE id = ? AND state = 'running'`, [
        this.backend.toDbDate(end), message, cron.hrpCronJobId,
      ]);
    }
    return this.insertRunLog(manager, cron, start, end, 0, "stopped", message);
  }

  /**
   * The worker stopped mid-run: the claim is released (the cron stays due,
   * its job pending) and the run logged as `interrupted` with `note`.
   * Returns the run-log id, or undefined when the claim was already gone.
   */
  async recordInterrupted(manager: EntityManager, cron: IrCron, start: Date, note: string, release: () => Promise<boolean>): Promise<number | undefined> {
    if (!(await release())) return undefined;
    // It started, so it counts in attempts (not as a failure).
    if (cron.hrpCronJobId !== null) await this.backend.execute(manager, `UPDATE hrp_cron_job SET attempts = attempts + 1 WHERE id = ?`, [cron.hrpCronJobId]);
    return this.insertRunLog(manager, cron, start, this.options.now(), 0, "interrupted", note);
  }

  /** Registered `model.method` names of the jobs' `column` callbacks, by job id (jobs without one are absent). */
  async callbacks(manager: EntityManager, jobIds: readonly number[], column: "on_success" | "on_failure"): Promise<Map<number, string>> {
    if (jobIds.length === 0) return new Map();
    const rows = await this.backend.query<{ id: unknown; cb: string | null }>(
      manager,
      `SELECT id, ${column} AS cb FROM hrp_cron_job WHERE ${this.backend.idIn("id")} AND ${column} IS NOT NULL`,
      [this.backend.idList(jobIds)],
    );
    return new Map(rows.filter((r) => r.cb).map((r) => [Number(r.id), r.cb!]));
  }

  /** The job's state now (`failed` means no retry is coming). */
  async jobState(manager: EntityManager, jobId: number): Promise<string | undefined> {
    const [job] = await this.backend.query<{ state: string }>(manager, `SELECT state FROM hrp_cron_job WHERE id = ?`, [jobId]);
    return job?.state;
  }

  /**
   * Refuses to record jobs as done when one of them is no longer `running`
   * (changed behind the engine's back): the caller's transaction must roll back.
   * @throws InvalidStateError
   */
  private async refuseNotRunning(manager: EntityManager, jobIds: readonly number[]): Promise<never> {
    const rows = await this.backend.query<{ id: unknown; state: string }>(
      manager, `SELECT id, state FROM hrp_cron_job WHERE ${this.backend.idIn("id")} AND state <> 'running'`, [this.backend.idList(jobIds)],
    );
    const job = rows[0] ?? { id: jobIds[0], state: "gone" };
    throw new InvalidStateError(`Job ${Number(job.id)} is ${job.state}, not running: its run cannot be recorded as done, and its writes were rolled back`, {
      jobId: Number(job.id), state: job.state,
    });
  }

  /** The schedule after a failed run of a recurring cron; one that cannot be computed deactivates the cron. */
  private async nextAfterFailure(
    manager: EntityManager, cron: IrCron, start: Date,
  ): Promise<{ nextcall: Date; nextcallWall: string | null; active: boolean }> {
    const user = await this.options.userResolver.findUser(manager, cron.userId);
    const { catchUp, error } = tryCatchUp(scheduleOf(cron, user?.tz ?? null), cron.nextcall, start, cron.nextcallWall);
    if (!catchUp) {
      this.options.logger.error("cron deactivated: its next run cannot be computed", { cronId: cron.id, name: cron.name, error: error.message });
      return { nextcall: cron.nextcall, nextcallWall: cron.nextcallWall, active: false };
    }
    if (catchUp.missed === 0) return { nextcall: cron.nextcall, nextcallWall: cron.nextcallWall, active: cron.active };
    return { nextcall: catchUp.nextcall, nextcallWall: catchUp.planned ?? null, active: cron.active };
  }

  /**
   * Last resort when a run's outcome could not be recorded normally: the
   * claim is released, the cron deactivated (no schedule maths involved),
   * its job failed, and the run logged with `excInfo`. Returns the run-log
   * id, or undefined when this worker no longer held the claim.
   */
  async recordUnrecordable(manager: EntityManager, cron: IrCron, start: Date, excInfo: string): Promise<number | undefined> {
    const end = this.options.now();
    const n = await this.backend.execute(
      manager,
      `UPDATE ir_cron SET active = FALSE, failure_count = failure_count + 1, running_worker = NULL, running_since = NULL
        WHERE id = ? AND running_worker = ?`,
      [cron.id, this.workerId],
    );
    if (n === 0) return undefined;
    if (cron.hrpCronJobId !== null) {
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'failed', date_done = ?, exc_info = ? WHERE id = ?`, [
        this.backend.toDbDate(end), excInfo, cron.hrpCronJobId,
      ]);
    }
    return this.insertRunLog(manager, cron, start, end, 0, "failed", excInfo);
  }

  /**
   * Bulk update of crons this worker holds that also releases their claims:
   * `set` (columns of `v`, the JSON rows) plus `running_worker = NULL` (and
   * the lone-run marker `suspect_started` cleared), as
   * a compare-and-set on `running_worker = me`.
   * @throws ClaimLostError when this worker no longer holds one of them
   */
  private async releaseHeld(manager: EntityManager, set: string, columns: JsonColumns, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const b = this.backend;
    // COALESCE keeps SQLite from driving the update by this worker's claims index instead of the rows.
    const written = await b.query<{ id: unknown }>(
      manager,
      `UPDATE ir_cron SET ${set}, running_worker = NULL, running_since = NULL, suspect_started = FALSE
         ${b.updateFrom("ir_cron", "v", columns)} AND COALESCE(ir_cron.running_worker, '') = ?
       RETURNING ir_cron.id`,
      [...b.updateFromParams(columns, rows), this.workerId],
    );
    if (written.length !== rows.length) {
      const kept = new Set(written.map((r) => Number(r.id)));
      throw new ClaimLostError(Number(rows.find((r) => !kept.has(Number(r.id)))!.id), this.workerId);
    }
  }

  private async insertRunLog(manager: EntityManager, cron: IrCron, start: Date, end: Date, calls: number, state: string, error: string | null): Promise<number> {
    const ids = await this.insertRunLogs(manager, [{ cron, start, end, calls, state, error }]);
    return ids.get(cron.id)!;
  }

  private insertRunLogs(manager: EntityManager, rows: readonly RunLogRow[]): Promise<Map<number, number>> {
    return insertRunLogs(this.backend, manager, this.workerId, rows);
  }
}

/**
 * Inserts run-log rows of `workerId`'s runs in one statement; returns their
 * ids by cron id. `durationMs` defaults to end - start (null: unknown, e.g.
 * the run of a worker that died).
 */
export async function insertRunLogs(backend: Backend, manager: EntityManager, workerId: string, rows: readonly RunLogRow[]): Promise<Map<number, number>> {
  const inserted = await backend.query<{ id: unknown; cron_id: unknown }>(
    manager,
    `INSERT INTO hrp_cron_run_log (cron_id, hrp_cron_job_id, name, model, function, user_id, worker_id, scheduled_at, date_start, date_end, duration_ms, calls, state, error)
     SELECT v.cron_id, v.job_id, v.name, v.model, v.fn, v.user_id, ?, v.scheduled_at, v.date_start, v.date_end, v.duration_ms, v.calls, v.state, v.error
       FROM ${backend.jsonTable("v", RUN_LOG)}
     RETURNING id, cron_id`,
    [workerId, backend.jsonRows(RUN_LOG, rows.map((r) => ({
      cron_id: r.cron.id, job_id: r.cron.hrpCronJobId, name: r.cron.name, model: r.cron.model, fn: r.cron.function,
      user_id: r.cron.userId, scheduled_at: r.cron.nextcall, date_start: r.start, date_end: r.end,
      duration_ms: r.durationMs === undefined ? Math.max(0, r.end.getTime() - r.start.getTime()) : r.durationMs,
      calls: r.calls, state: r.state, error: r.error,
    })))],
  );
  return new Map(inserted.map((r) => [Number(r.cron_id), Number(r.id)]));
}
