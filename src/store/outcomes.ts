import { In, type EntityManager } from "typeorm";
import { IrCron } from "../schema/entities/IrCron";
import type { Backend, JsonColumns } from "../backend";
import { ClaimLostError } from "../core/errors";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { RunRetry } from "../core/types";
import { finishJobCrons, jobAttempted, jobFailedUnrecordable, jobsDone, jobStopped } from "./jobState";
import { nextAfterFailure } from "./failures";
import { recordJobFailures, type Failure, type RecordedFailure } from "./jobFailures";
import { insertRunLogs, type RunLogRow } from "./runLog";
import { runKey, sourceOf, type RunKey } from "./runSource";

export type { Failure } from "./jobFailures";

/** A failed run as recorded: its run-log row, and its job's next try (null: no retry). */
export interface FailureRecord {
  readonly runLogId: number;
  readonly retry: RunRetry | null;
}

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
  /** The method's return value as JSON text (null: none); stored on a one-shot job's row. */
  readonly result: string | null;
}

const CRON_DONE: JsonColumns = {
  id: "int",
  lastcall: "timestamp",
  nextcall: "timestamp",
  nextcall_wall: "text",
  numbercall: "int",
  active: "bool",
};
const CRON_FAILED: JsonColumns = {
  id: "int",
  failure_count: "int",
  first_failure_date: "timestamp",
  nextcall: "timestamp",
  nextcall_wall: "text",
  active: "bool",
  numbercall: "int",
  crash_count: "int",
};

/**
 * The bookkeeping SQL of runs: what a success, a failure, a stop or an
 * interruption writes to `ir_cron`, `hrp_cron_job` and `hrp_cron_run_log`,
 * always inside the run's transaction and always as a compare-and-set on
 * this worker's claim. Successes of a batch are written in bulk (three
 * statements whatever the batch size), and so are failures; stops and
 * interruptions row by row. The job side of each is in `jobState.ts`.
 *
 * A lost claim (recovery gave the cron to another worker meanwhile) is
 * reported one way: a write for one cron returns `null`, a bulk write
 * leaves the cron out of the map it returns — nothing was written for it.
 * Only when part of the transaction was already written for a cron whose
 * claim turns out lost (the bulk compare-and-set updated fewer rows than
 * it was given) does it throw {@link ClaimLostError}: the caller must roll
 * the whole transaction back.
 */
export class RunRecords {
  constructor(
    private readonly backend: Backend,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
  ) {}

  /**
   * Records a batch of successes: advances each recurring cron and logs its
   * run; moves each job `done` (its done row is its run's record) and
   * finishes its `ir_cron` row, if any; releases every claim. Returns the
   * run-log id by run key (recurring crons only).
   * @throws ClaimLostError when this worker no longer holds one of the claims
   *   (the caller must roll the whole transaction back)
   */
  async complete(manager: EntityManager, successes: readonly Success[]): Promise<Map<RunKey, number>> {
    if (successes.length === 0) return new Map();
    const crons = successes.filter((s) => sourceOf(s.cron) === "cron");
    const jobs = successes.filter((s) => sourceOf(s.cron) === "job");
    // A cron that re-triggered itself during the run (`retrigger`) is due again at once; the
    // schedule's next call waits in planned_nextcall (see migration 0008).
    if (crons.length > 0)
      await this.releaseHeld(
        manager,
        `lastcall = v.lastcall,
       nextcall = CASE WHEN ir_cron.retrigger = TRUE THEN v.lastcall ELSE v.nextcall END,
       planned_nextcall = CASE WHEN ir_cron.retrigger = TRUE THEN v.nextcall ELSE NULL END, retrigger = FALSE, nextcall_wall = v.nextcall_wall,
       numbercall = v.numbercall, active = v.active, failure_count = 0, first_failure_date = NULL, crash_count = 0, suspect = FALSE,
       unserved_since = NULL`,
        CRON_DONE,
        crons.map((s) => ({
          id: s.cron.id,
          lastcall: s.start,
          nextcall: s.nextcall,
          nextcall_wall: s.nextcallWall,
          numbercall: s.numbercall,
          active: s.active,
        })),
      );
    await jobsDone(
      this.backend,
      manager,
      this.workerId,
      jobs.map((s) => ({ id: s.cron.hrpCronJobId!, started: s.start, done: s.end, result: s.result })),
    );
    await finishJobCrons(
      this.backend,
      manager,
      jobs
        .filter((s) => s.cron.id !== 0)
        .map((s) => ({ id: s.cron.id, lastcall: s.start, numbercall: 0, failure_count: 0, first_failure_date: null })),
    );
    // A one-shot job's success is recorded by its job row alone (`hrp_cron_runs` shows it): no run-log row.
    return this.insertRunLogs(
      manager,
      crons.map((s) => ({ ...s, state: "done", error: null })),
    );
  }

  /**
   * Records a failed run (its writes already rolled back); see
   * {@link recordFailures}. Returns its record, or null when the claim was
   * lost (nothing written).
   */
  async recordFailure(
    manager: EntityManager,
    cron: IrCron,
    start: Date,
    excInfo: string,
    thrown: unknown,
  ): Promise<FailureRecord | null> {
    const records = await this.recordFailures(manager, [{ cron, start, end: this.options.now(), excInfo, thrown }]);
    return records.get(runKey(cron)) ?? null;
  }

  /**
   * Records failed runs (their writes already rolled back), in a few
   * statements whatever their number: failure counters, then a retry (job
   * back to `pending`, due after its backoff), a failed one-shot job (final;
   * its `ir_cron` row, if any, deactivated; the job stays visible and
   * retryable), or a recurring cron moved to its next occurrence —
   * deactivated after repeated failures over a long time (Odoo 18's rule).
   * Every failed run is logged. Returns, by run key, the run-log id and the
   * job's retry (null: none); a run whose claim this worker no longer held
   * is absent (nothing written for it).
   * @throws ClaimLostError when a claim was taken away between the read and the write
   *   (the caller must roll the whole transaction back)
   */
  async recordFailures(manager: EntityManager, failures: readonly Failure[]): Promise<Map<RunKey, FailureRecord>> {
    if (failures.length === 0) return new Map();
    const crons = await this.cronFailures(
      manager,
      failures.filter((f) => sourceOf(f.cron) === "cron"),
    );
    const jobs = await recordJobFailures(
      this.backend,
      manager,
      this.workerId,
      failures.filter((f) => sourceOf(f.cron) === "job"),
    );
    const recorded: RecordedFailure[] = [...crons.map((f) => ({ ...f, retry: null })), ...jobs];
    const runLogIds = await this.insertRunLogs(
      manager,
      recorded.map((f) => ({
        cron: f.cron,
        start: f.start,
        end: f.end,
        calls: 0,
        state: "failed",
        error: f.excInfo,
      })),
    );
    return new Map(recorded.map((f) => [runKey(f.cron), { runLogId: runLogIds.get(runKey(f.cron))!, retry: f.retry }]));
  }

  /** The recurring crons' part of {@link recordFailures}; returns the failures it recorded (with the crons as read now). */
  private async cronFailures(manager: EntityManager, failures: readonly Failure[]): Promise<Failure[]> {
    if (failures.length === 0) return [];
    const currents = new Map(
      (await manager.findBy(IrCron, { id: In(failures.map((f) => f.cron.id)) })).map((c) => [c.id, c]),
    );
    const held = failures.flatMap((f) => {
      const current = currents.get(f.cron.id);
      return current && current.runningWorker === this.workerId ? [{ ...f, cron: current }] : [];
    });
    if (held.length === 0) return [];
    const rows: Record<string, unknown>[] = [];
    for (const { cron: current, start, end, final } of held) {
      let failureCount = current.failureCount + 1;
      let firstFailure: Date | null = current.firstFailureDate ?? start;
      let numbercall = current.numbercall;
      // A triggered run resumes the schedule it displaced (planned_nextcall).
      const next = await nextAfterFailure(
        manager,
        { ...current, nextcall: current.plannedNextcall ?? current.nextcall },
        start,
        this.options,
      );
      const { nextcall, nextcallWall } = next;
      let active = next.active;
      // As in Odoo, a failed run still uses up a call: numbercall = 1 leaves it inactive, as a success does.
      if (numbercall > 0) numbercall--;
      if (numbercall === 0) active = false;
      if (
        failureCount >= this.options.deactivateAfterFailures &&
        firstFailure.getTime() + this.options.deactivateAfterMs < end.getTime()
      ) {
        active = false;
        this.options.logger.error("cron deactivated after repeated failures", {
          cronId: current.id,
          name: current.name,
          failureCount,
        });
        failureCount = 0;
        firstFailure = null;
      }
      // A crash failure starts the next occurrence with a clean count; other failures keep it.
      rows.push({
        id: current.id,
        failure_count: failureCount,
        first_failure_date: firstFailure,
        nextcall,
        nextcall_wall: nextcallWall,
        active,
        numbercall,
        crash_count: final ? 0 : current.crashCount,
      });
    }
    await this.releaseHeld(
      manager,
      `failure_count = v.failure_count, first_failure_date = v.first_failure_date, nextcall = v.nextcall,
       nextcall_wall = v.nextcall_wall, active = v.active, numbercall = v.numbercall, crash_count = v.crash_count, planned_nextcall = NULL,
       retrigger = FALSE, suspect = FALSE`,
      CRON_FAILED,
      rows,
    );
    return held;
  }

  /**
   * An operator stopped the run: job `stopped` (its `ir_cron` row, if any,
   * inactive), a recurring cron inactive; not retried. Returns the run-log
   * id, or null when the claim was lost (nothing written).
   */
  async recordStopped(manager: EntityManager, cron: IrCron, start: Date, message: string): Promise<number | null> {
    const end = this.options.now();
    if (sourceOf(cron) === "job") {
      if (!(await jobStopped(this.backend, manager, this.workerId, cron.hrpCronJobId!, end, message))) return null;
      await this.finishJobCron(manager, cron);
    } else {
      const n = await this.backend.execute(
        manager,
        `UPDATE ir_cron SET active = FALSE, stop_requested = FALSE, running_worker = NULL, running_since = NULL, suspect_started = FALSE
          WHERE id = ? AND running_worker = ?`,
        [cron.id, this.workerId],
      );
      if (n === 0) return null;
    }
    return this.insertRunLog(manager, cron, start, end, 0, "stopped", message);
  }

  /**
   * The worker stopped mid-run: the claim is released (the cron stays due,
   * a job `pending` again) and the run logged as `interrupted` with `note`.
   * Returns the run-log id, or null when the claim was lost (nothing written).
   */
  async recordInterrupted(
    manager: EntityManager,
    cron: IrCron,
    start: Date,
    note: string,
    release: () => Promise<boolean>,
  ): Promise<number | null> {
    if (!(await release())) return null;
    // It started, so it counts in attempts (not as a failure).
    if (cron.hrpCronJobId !== null) await jobAttempted(this.backend, manager, cron.hrpCronJobId, this.workerId);
    return this.insertRunLog(manager, cron, start, this.options.now(), 0, "interrupted", note);
  }

  /**
   * Last resort when a run's outcome could not be recorded normally: the
   * claim is released, the cron deactivated (no schedule maths involved),
   * a job failed, and the run logged with `excInfo`. Returns the run-log
   * id, or null when the claim was lost (nothing written).
   */
  async recordUnrecordable(manager: EntityManager, cron: IrCron, start: Date, excInfo: string): Promise<number | null> {
    const end = this.options.now();
    if (sourceOf(cron) === "job") {
      const b = this.backend;
      if (!(await jobFailedUnrecordable(b, manager, this.workerId, cron.hrpCronJobId!, end, excInfo))) return null;
      await this.finishJobCron(manager, cron);
    } else {
      const n = await this.backend.execute(
        manager,
        `UPDATE ir_cron SET active = FALSE, failure_count = failure_count + 1, running_worker = NULL, running_since = NULL
          WHERE id = ? AND running_worker = ?`,
        [cron.id, this.workerId],
      );
      if (n === 0) return null;
    }
    return this.insertRunLog(manager, cron, start, end, 0, "failed", excInfo);
  }

  /** Deactivates the `ir_cron` row of a job that ended without success (none for a queue job). */
  private async finishJobCron(manager: EntityManager, cron: IrCron): Promise<void> {
    if (cron.id === 0) return;
    await this.backend.execute(manager, `UPDATE ir_cron SET active = FALSE WHERE id = ?`, [cron.id]);
  }

  /**
   * Bulk update of crons this worker holds that also releases their claims:
   * `set` (columns of `v`, the JSON rows) plus `running_worker = NULL` (and
   * the lone-run marker `suspect_started` cleared), as
   * a compare-and-set on `running_worker = me`.
   * @throws ClaimLostError when this worker no longer holds one of them
   */
  private async releaseHeld(
    manager: EntityManager,
    set: string,
    columns: JsonColumns,
    rows: ReadonlyArray<Record<string, unknown>>,
  ): Promise<void> {
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

  private async insertRunLog(
    manager: EntityManager,
    cron: IrCron,
    start: Date,
    end: Date,
    calls: number,
    state: string,
    error: string | null,
  ): Promise<number> {
    const ids = await this.insertRunLogs(manager, [{ cron, start, end, calls, state, error }]);
    return ids.get(runKey(cron))!;
  }

  private insertRunLogs(manager: EntityManager, rows: readonly RunLogRow[]): Promise<Map<RunKey, number>> {
    return insertRunLogs(this.backend, manager, this.workerId, rows);
  }
}
