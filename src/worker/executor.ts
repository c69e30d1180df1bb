import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { commitOnce } from "../backend/commitOnce";
import type { RunRegistry } from "../backend/processLocal";
import { isOutage, retriedTransaction, withTransientRetry } from "../backend/retry";
import { ClaimLostError, coerceError, formatExcInfo } from "../core/errors";
import type { ModelRegistry } from "../core/registry";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { RunResult } from "../core/types";
import type { IrCron } from "../schema/entities/IrCron";
import type { ClaimedRun, ClaimStore } from "../store/claims";
import { CrashRecords } from "../store/crashes";
import { stillHeld } from "../store/jobState";
import { RunRecords, type FailureRecord } from "../store/outcomes";
import { runKey, type RunKey } from "../store/runSource";
import type { DispatcherEvents } from "./events";
import { JobRunner, type JobOutcome } from "./jobRun";
import { MethodTimes } from "./methodTimes";
import { BatchUsers, PreparedBatch } from "./preparedBatch";
import { resultBase, skipped } from "./runResult";
import { StaleClaimCheck } from "./staleClaims";

/** What a batch did: one result per cron it ran, and the claimed runs it left for the next batch. */
export interface BatchOutcome {
  readonly results: RunResult[];
  /** Still claimed by this worker, not run: the batch reached `batchMaxMs` or the worker is stopping. */
  readonly deferred: ClaimedRun[];
}

/** What a batch transaction produced: results, runs left for the next batch, final failures (their `onFailure` runs after the commit). */
export type BatchBody = { results: RunResult[]; deferred: ClaimedRun[]; failed: FinalFailure[] };

/** A run that finally failed in a batch: its `onFailure` runs after the commit. */
interface FinalFailure {
  readonly run: ClaimedRun;
  readonly start: Date;
  readonly error: string;
}

/**
 * Executes claimed crons: the life of a run.
 *
 * A batch of claimed crons runs in ONE transaction, one job after another,
 * each job in its own savepoint ({@link JobScope}, opened only if the job
 * queries the database):
 *
 * 1. Per job ({@link JobRunner}): resolve its user (missing/inactive: fail, never another
 *    user), resolve `model.function` in the registry (unknown: fail), call
 *    it as that user once per catch-up call, then its `onSuccess`.
 * 2. A job that throws, times out or is stopped is rolled back to its
 *    savepoint, and its outcome is recorded in the same transaction
 *    (`stopped` and `interrupted` at once, failures with retry/deactivation
 *    in bulk before the commit); the other jobs of the batch are unaffected.
 * 3. Before commit, the successes are recorded in bulk: `lastcall` /
 *    `nextcall` / `numbercall` / `active`, job `done`, run-log rows, claims
 *    released — a compare-and-set on this worker's claims. So each job's
 *    own writes and its completion commit together.
 * 4. A batch stops taking jobs after `batchMaxMs`, and before a job whose
 *    method usually runs longer than what is left of it (a moving average
 *    per `model.function`): a slow job runs in a batch of its own instead of
 *    holding back the commit of quick ones. The rest stay claimed and go to
 *    the next batch.
 * 5. Transient database errors of the engine's own statements retry the
 *    whole batch (every job rolled back and run again); if they persist the
 *    claims are released and the crons stay due. The same errors thrown by a
 *    job's own work (its savepoint rolled back cleanly) are the job's: it is
 *    retried at once `jobTransientRetries` times, then fails like any job.
 *    A batch that fails for a reason no single job owns (a lost claim, an
 *    error at commit) is rolled back and its crons are run again one per
 *    transaction, where the culprit fails alone.
 * 6. A `suspect` cron (its last claim died with its worker) runs alone,
 *    after committing its start marker (see {@link CrashRecords}); a job
 *    whose claim is older than a frozen worker could keep is re-checked
 *    before it starts ({@link StaleClaimCheck}).
 * 7. `onFailure` callbacks run after the commit, each in its own transaction.
 */
export class Executor {
  private readonly records: RunRecords;
  private readonly crashes: CrashRecords;
  private readonly jobs: JobRunner;
  private readonly methodTimes = new MethodTimes();

  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    registry: ModelRegistry,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
    /** This DataSource's runs in progress in this process, where `stopJob` finds a run to stop at once. */
    localRuns: RunRegistry,
    events: DispatcherEvents,
  ) {
    this.records = new RunRecords(backend, options, workerId);
    this.crashes = new CrashRecords(backend, options);
    this.jobs = new JobRunner(backend, claims, this.records, registry, options, workerId, localRuns, events);
  }

  /** Aborts run `key` if this executor is running it (`stopJob`); returns whether it was. */
  requestStop(key: RunKey, jobId: number | null): boolean {
    return this.jobs.requestStop(key, jobId);
  }

  /** Runs this executor is running now. */
  runningKeys(): RunKey[] {
    return this.jobs.runningKeys();
  }

  /** Runs one claimed cron in a transaction of its own (manual runs, sandbox threads). */
  async execute(run: ClaimedRun, workerSignal: AbortSignal): Promise<RunResult> {
    const { results } = await this.executeBatch([run], workerSignal);
    return results[0];
  }

  /**
   * Opens the transaction of the next batch while its claim is still
   * committing (see {@link PreparedBatch}): `userIds` are the claimed rows'
   * users, looked up meanwhile. Give it to {@link executeBatch} (or cancel it).
   */
  prepare(userIds: readonly number[], workerSignal: AbortSignal, keepGoing: () => boolean): PreparedBatch<BatchBody> {
    return new PreparedBatch(
      userIds,
      this.options.userResolver,
      (crons, work) => this.batchTransaction(crons, keepGoing, work),
      (manager, runs, users) => this.runBatch(manager, runs, workerSignal, keepGoing, users),
    );
  }

  /**
   * Runs claimed crons, in order, as one batch. `workerSignal` fires when
   * the worker stops: the running job is aborted and rolled back, and the
   * crons not started are deferred — as they are once `keepGoing()`
   * returns false. `prepared`: the batch's transaction, opened while the
   * claim committed ({@link prepare}); used unless a suspect must run first.
   */
  async executeBatch(
    all: readonly ClaimedRun[],
    workerSignal: AbortSignal,
    keepGoing: () => boolean = () => true,
    prepared?: PreparedBatch<BatchBody>,
  ): Promise<BatchOutcome> {
    // A suspect runs alone, after its start marker is committed; the crons after it wait.
    const { now: runs, later } = splitSuspects(all);
    const first = runs[0]?.cron;
    if (prepared && (first === undefined || first.suspect)) {
      prepared.cancel();
      prepared = undefined;
    }
    if (
      first?.suspect &&
      !(await withTransientRetry(this.backend, this.options, () => this.crashes.markStarted(first, this.workerId)))
    ) {
      return { results: [this.lostBeforeStart(first)], deferred: later };
    }
    let outcome: BatchBody;
    try {
      outcome = await (prepared
        ? prepared.run(runs)
        : this.batchTransaction(
            runs.map((r) => r.cron.id),
            keepGoing,
            (manager) =>
              this.runBatch(manager, runs, workerSignal, keepGoing, new BatchUsers(this.options.userResolver, manager)),
          ));
    } catch (error) {
      if (runs.length > 1 && !isOutage(this.backend, error)) {
        this.options.logger.warn("batch failed as a whole; running its crons one per transaction", {
          crons: runs.length,
          error: String(error),
        });
        const results: RunResult[] = [];
        for (const run of runs)
          results.push(await this.execute(run, workerSignal).catch((e: unknown) => this.unrecordable(run.cron, e)));
        return { results, deferred: [...later] };
      }
      return { results: await Promise.all(runs.map((run) => this.batchFailed(run, error))), deferred: [...later] };
    }
    // The runs' last progress, written outside the batch (on SQLite only now that it committed).
    await this.jobs.progress.settled(runs.map((r) => r.cron.hrpCronJobId));
    for (const failure of outcome.failed) await this.onFailure(failure.run, failure.start, failure.error);
    return { results: outcome.results, deferred: [...outcome.deferred, ...later] };
  }

  /**
   * Records the failure of a run whose thread was killed (sandbox hard
   * timeout): its transaction died with its connection; this worker still
   * holds the claim (else the run is skipped: nothing written).
   */
  async recordKilled(run: ClaimedRun, start: Date, error: Error): Promise<RunResult> {
    const excInfo = formatExcInfo(error);
    const record = await retriedTransaction(this.backend, this.options, (manager) =>
      this.records.recordFailure(manager, run.cron, start, excInfo, error),
    );
    if (record === null)
      return skipped(run.cron, new ClaimLostError(run.cron.id, this.workerId, run.cron.hrpCronJobId).message);
    await this.onFailure(run, start, error.message);
    return failedResult(run.cron, error.message, record);
  }

  /** The `onFailure` of a job that recovery failed (its runs killed their worker `maxCrashes` times). */
  async failedByRecovery(run: Pick<ClaimedRun, "cron" | "onFailure">, start: Date, error: string): Promise<void> {
    await this.jobs.runOnFailure(run, start, error);
  }

  /** A claim this worker lost before the run started (it was presumed dead, e.g. frozen): not run, not recorded. */
  private lostBeforeStart(cron: IrCron): RunResult {
    const lost = new ClaimLostError(cron.id, this.workerId, cron.hrpCronJobId);
    this.options.logger.warn("claim lost before its run started (this worker was presumed dead); not started", {
      cronId: cron.id,
      jobId: cron.hrpCronJobId,
    });
    return skipped(cron, lost.message);
  }

  /** A single-cron batch that could not commit: the claim was lost, the database stayed busy, or the commit failed. */
  private async batchFailed(run: ClaimedRun, thrown: unknown): Promise<RunResult> {
    const { cron } = run;
    if (thrown instanceof ClaimLostError) {
      this.options.logger.warn(thrown.message, { cronId: cron.id });
      return skipped(cron, thrown.message);
    }
    if (isOutage(this.backend, thrown)) {
      this.options.logger.warn("database stayed busy; cron released to run later", {
        cronId: cron.id,
        error: String(thrown),
      });
      await this.backend
        .transaction((m) => this.claims.release(m, cron, this.workerId))
        .catch((error: unknown) =>
          this.options.logger.error("could not release a claim; recovery will", { error: String(error) }),
        );
      return skipped(cron, coerceError(thrown).message);
    }
    // The run's own transaction failed (e.g. at commit): record the failure in a new one.
    const start = this.options.now();
    let record: FailureRecord | null;
    try {
      record = await retriedTransaction(this.backend, this.options, (manager) =>
        this.records.recordFailure(manager, cron, start, formatExcInfo(thrown), thrown),
      );
    } catch (recordError) {
      if (!(recordError instanceof ClaimLostError)) throw recordError;
      return skipped(cron, recordError.message);
    }
    if (record === null) return skipped(cron, new ClaimLostError(cron.id, this.workerId, cron.hrpCronJobId).message);
    this.options.logger.error("cron run failed", {
      cronId: cron.id,
      name: cron.name,
      error: coerceError(thrown).message,
    });
    await this.jobs.runOnFailure(run, start, coerceError(thrown).message).catch(() => undefined);
    return failedResult(cron, coerceError(thrown).message, record);
  }

  /** Last resort when a run's outcome could not be recorded (its bookkeeping threw): {@link RunRecords.recordUnrecordable}. */
  private async unrecordable(cron: IrCron, thrown: unknown): Promise<RunResult> {
    const error = coerceError(thrown).message;
    this.options.logger.error("could not record a run; cron deactivated", { cronId: cron.id, name: cron.name, error });
    const runLogId = await retriedTransaction(this.backend, this.options, (manager) =>
      this.records.recordUnrecordable(manager, cron, this.options.now(), formatExcInfo(thrown)),
    ).catch(
      (e: unknown) =>
        void this.options.logger.error("could not release a claim; recovery will", {
          cronId: cron.id,
          error: String(e),
        }),
    );
    return { ...resultBase(cron), outcome: "failed", calls: 0, error, runLogId: runLogId ?? undefined };
  }

  /**
   * A batch's transaction: a lost COMMIT reply is settled by asking the
   * database, never by running the batch again; a stopping worker does not
   * wait out the retry budget. `crons`: the batch's crons, for messages.
   */
  private batchTransaction(
    crons: readonly number[],
    keepGoing: () => boolean,
    work: (manager: EntityManager) => Promise<BatchBody>,
  ): Promise<BatchBody> {
    return commitOnce(
      this.backend,
      { ...this.options, stopping: () => !keepGoing() },
      { operation: "a batch", crons },
      work,
      (error, attempt) =>
        this.options.logger.debug("transient database error, retrying batch", {
          crons: crons.length,
          attempt,
          error: String(error),
        }),
    );
  }

  /** The body of a batch transaction. */
  private async runBatch(
    manager: EntityManager,
    runs: readonly ClaimedRun[],
    workerSignal: AbortSignal,
    keepGoing: () => boolean,
    users: BatchUsers,
  ): Promise<BatchBody> {
    const began = Date.now();
    const userOf = (uid: number) => users.get(uid);
    const outcomes: Array<{ run: ClaimedRun; outcome: JobOutcome }> = [];
    let deferred: ClaimedRun[] = [];
    const fresh = new StaleClaimCheck(
      runs.map((r) => r.cron),
      (this.options.workerTimeoutMs - this.options.heartbeatIntervalMs) / 2,
      (keys) => stillHeld(this.backend, manager, this.workerId, keys),
    );
    for (const [i, run] of runs.entries()) {
      const { cron } = run;
      // A job known to be slow starts a batch of its own, so it does not hold back the commit of quick ones.
      const expectedEnd = Date.now() - began + this.methodTimes.expectedMs(cron);
      if (i > 0 && (workerSignal.aborted || !keepGoing() || expectedEnd >= this.options.batchMaxMs)) {
        deferred = runs.slice(i);
        break;
      }
      if (!(await fresh.held(i))) {
        outcomes.push({ run, outcome: { kind: "recorded", result: this.lostBeforeStart(cron) } });
        continue;
      }
      const name = `hrp_job_${i + 1}`;
      const scope = () => this.backend.jobScope(manager.queryRunner!, name, cron.timeoutMs, i + 1);
      const jobBegan = Date.now();
      outcomes.push({ run, outcome: await this.jobs.run(manager, scope, run, userOf, workerSignal) });
      this.methodTimes.observe(cron, Date.now() - jobBegan);
    }

    const successes = outcomes.flatMap(({ outcome: o }) => (o.kind === "success" ? [o.success] : []));
    const runLogIds = await this.records.complete(manager, successes);
    const failureRecords = await this.records.recordFailures(
      manager,
      outcomes.flatMap(({ outcome: o }) => (o.kind === "failure" ? [o.failure] : [])),
    );
    const failed: FinalFailure[] = [];
    const results = outcomes.map(({ run, outcome: o }): RunResult => {
      if (o.kind === "recorded") return o.result;
      if (o.kind === "success")
        return {
          ...resultBase(o.success.cron),
          outcome: "done",
          calls: o.success.calls,
          runLogId: runLogIds.get(runKey(o.success.cron)),
        };
      const { cron, start } = o.failure;
      const record = failureRecords.get(runKey(cron));
      if (record === undefined) {
        // Presumed dead and recovered while running: the run belongs to another worker now.
        const lost = new ClaimLostError(cron.id, this.workerId, cron.hrpCronJobId);
        this.options.logger.warn(lost.message, { cronId: cron.id, error: o.error });
        return skipped(cron, lost.message);
      }
      this.options.logger.error("cron run failed", { cronId: cron.id, name: cron.name, error: o.error });
      if (!record.retry) failed.push({ run, start, error: o.error }); // a job that will run again has no onFailure yet
      return failedResult(cron, o.error, record);
    });
    for (const s of successes)
      this.options.logger.info("cron run done", { cronId: s.cron.id, name: s.cron.name, calls: s.calls });
    return { results, deferred, failed };
  }

  /** A failed run's `onFailure`; its own failure is logged, never thrown. */
  private async onFailure(run: ClaimedRun, start: Date, error: string): Promise<void> {
    await this.jobs.runOnFailure(run, start, error).catch((e: unknown) =>
      this.options.logger.error("onFailure callback failed", {
        cronId: run.cron.id,
        jobId: run.cron.hrpCronJobId,
        error: String(e),
      }),
    );
  }
}

/** The result of a failed run as recorded: with its job's next try when it has one. */
function failedResult(cron: IrCron, error: string, record: FailureRecord): RunResult {
  const result: RunResult = { ...resultBase(cron), outcome: "failed", calls: 0, error, runLogId: record.runLogId };
  return record.retry ? { ...result, retry: record.retry } : result;
}

/**
 * Splits claimed runs so that a suspect runs alone: `now` is the suspect
 * alone when it comes first, else the runs before the first suspect;
 * `later` waits for the next batch.
 */
function splitSuspects(runs: readonly ClaimedRun[]): { now: ClaimedRun[]; later: ClaimedRun[] } {
  const i = runs.findIndex((r) => r.cron.suspect);
  if (i < 0) return { now: [...runs], later: [] };
  const cut = i === 0 ? 1 : i;
  return { now: runs.slice(0, cut), later: runs.slice(cut) };
}
