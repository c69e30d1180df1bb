import type { EntityManager } from "typeorm";
import { IrCron } from "../schema/entities/IrCron";
import type { Backend } from "../backend";
import { WorkerCrashedError } from "../core/errors";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import { maxCrashesOf } from "../core/queues";
import { jobCallbacks } from "./jobs";
import { jobAttempted } from "./jobState";
import { RunRecords } from "./outcomes";
import { insertRunLogs } from "./runLog";
import { findRun, rowIdOf, runKey, sourceOf, tableOf, type RunKey } from "./runSource";

/** What recovering one claim of a dead worker did. */
export type Recovered =
  | { readonly kind: "released" }
  /** The cron reached its crash limit and was failed; `error` is what was recorded. */
  | {
      readonly kind: "failed";
      readonly cron: IrCron;
      readonly start: Date;
      readonly error: string;
      readonly onFailure: string | null;
    }
  /** The claim had changed hands meanwhile: nothing was written. */
  | { readonly kind: "gone" };

/**
 * Poison jobs: the bookkeeping of worker deaths (columns of migration 0008).
 *
 * A batch runs many claimed crons in one transaction, so when a worker dies
 * the database cannot tell which of its claims was running. Recovery
 * therefore marks every claim of a dead worker `suspect` and counts nothing.
 * A suspect cron then runs alone (a batch of its own), after committing
 * `suspect_started` in a short transaction of its own (see
 * {@link markStarted}), and its dispatcher starts nothing else meanwhile;
 * if its worker dies during that run, recovery finds the marker and the
 * death is this cron's: `crash_count + 1` (unless another dispatcher of the
 * same process held claims too: then nothing is counted). At its queue's
 * `maxCrashes` the run is failed instead (a job: `failed`, not retried; a
 * recurring cron: a failed run, next occurrence) and logged with
 * {@link WorkerCrashedError}. Innocent crons of the same claim run alone
 * once and complete normally; only suspects pay the extra round trip.
 */
export class CrashRecords {
  constructor(
    private readonly backend: Backend,
    private readonly options: ResolvedDispatcherOptions,
  ) {}

  /**
   * Recovers run `key` (a cron, or a job), claimed by the dead worker
   * `deadWorker`, in a transaction of its own (see {@link recover}); `gone`
   * when the claim changed hands meanwhile. `release` hands the claim back in `m`.
   */
  recoverClaim(
    key: RunKey,
    deadWorker: string,
    reason: string,
    auditNow: Date,
    processAlone: boolean,
    release: (m: EntityManager, cron: IrCron) => Promise<boolean>,
  ): Promise<Recovered> {
    return this.backend.transaction(async (m): Promise<Recovered> => {
      const cron = await findRun(m, key);
      if (!cron || cron.runningWorker !== deadWorker) return { kind: "gone" };
      return this.recover(m, cron, deadWorker, reason, auditNow, processAlone, () => release(m, cron));
    });
  }

  /**
   * Commits the start marker of a suspect's lone run, in a transaction of its
   * own, before the run begins. False when this worker no longer holds the
   * claim (the run must not start).
   */
  async markStarted(cron: IrCron, workerId: string): Promise<boolean> {
    const n = await this.backend.transaction((m) =>
      this.backend.execute(
        m,
        `UPDATE ${tableOf(sourceOf(cron))} SET suspect_started = TRUE WHERE id = ? AND running_worker = ?`,
        [rowIdOf(cron), workerId],
      ),
    );
    return n > 0;
  }

  /**
   * Recovers `cron`, claimed by the dead worker `deadWorker` (`reason`: why
   * it is presumed dead), in `manager`'s transaction: released as suspect
   * (death not attributable), released with one more crash (it ran alone),
   * or failed at the crash limit. `processAlone`: no other dispatcher of the
   * dead worker's process held claims (they might have been the killer).
   * `release` hands the claim back (job pending again) and says whether the
   * claim was still the dead worker's.
   */
  async recover(
    manager: EntityManager,
    cron: IrCron,
    deadWorker: string,
    reason: string,
    auditNow: Date,
    processAlone: boolean,
    release: () => Promise<boolean>,
  ): Promise<Recovered> {
    const b = this.backend;
    const start = cron.runningSince ?? auditNow;
    const limit = this.maxCrashes(cron.queue);
    const crashes = cron.crashCount + 1;
    const crashed = cron.suspectStarted && processAlone; // the worker died during its lone run
    if (crashed && crashes >= limit) {
      const error = new WorkerCrashedError(crashes, deadWorker, reason);
      const excInfo = `${error.name}: ${error.message}`;
      const records = new RunRecords(b, this.options, deadWorker);
      // Dated by the schedule clock (the next occurrence is computed from it), not by the claim's wall-clock time.
      const ids = await records.recordFailures(manager, [
        { cron, start: auditNow, end: auditNow, excInfo, thrown: error, final: true },
      ]);
      if (!ids.has(runKey(cron))) return { kind: "gone" };
      this.options.logger.error("job failed: its runs killed their worker too often", {
        cronId: cron.id,
        jobId: cron.hrpCronJobId,
        crashes,
        worker: deadWorker,
      });
      const jobId = cron.hrpCronJobId;
      const onFailure =
        jobId === null ? null : ((await jobCallbacks(b, manager, [jobId], "on_failure")).get(jobId) ?? null);
      return { kind: "failed", cron, start: auditNow, error: error.message, onFailure };
    }
    // Either the death is this cron's (it ran alone: one more crash, and the run counts as an
    // attempt), or it cannot be attributed: the cron runs alone next time.
    await b.execute(
      manager,
      `UPDATE ${tableOf(sourceOf(cron))} SET suspect = TRUE, crash_count = ? WHERE id = ? AND running_worker = ?`,
      [crashed ? crashes : cron.crashCount, rowIdOf(cron), deadWorker],
    );
    if (crashed && cron.hrpCronJobId !== null) await jobAttempted(b, manager, cron.hrpCronJobId, deadWorker);
    if (!(await release())) return { kind: "gone" };
    const error = crashed
      ? `Worker ${deadWorker} ${reason} while running this cron alone (crash ${crashes} of ${limit}); its run was rolled back and the cron was released to run again`
      : `Worker ${deadWorker} ${reason}; its run was rolled back and the cron was released to run again (alone, as the death cannot be attributed to one of its claims)`;
    // The dead worker's run: its start is the claim, its duration unknown.
    await insertRunLogs(b, manager, deadWorker, [
      { cron, start, end: auditNow, calls: 0, state: "interrupted", durationMs: null, error },
    ]);
    return { kind: "released" };
  }

  /** Attributed worker deaths after which a cron of `queue` is failed (the queue's `maxCrashes`). */
  private maxCrashes(queue: string): number {
    return maxCrashesOf(this.options.queueSet, queue);
  }
}
