import type { DataSource, EntityManager } from "typeorm";
import { backendFor, localFor, type Backend } from "../backend";
import { writeOnce } from "../backend/commitOnce";
import type { ProcessLocal } from "../backend/processLocal";
import { retriedTransaction } from "../backend/retry";
import { InvalidStateError } from "../core/errors";
import { checkOperator, type Operator, type OperatorContext } from "../core/operator";
import { DEFAULTS, SHARED_OPTION_KEYS, type SharedOptions } from "../core/options";
import { resolveShared, type ResolvedShared } from "../core/resolveOptions";
import { checkDate, checkId, checkOptionalDate, checkOptions, guarded } from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { HrpCronRun } from "../schema/entities/HrpCronRun";
import type { IrCron } from "../schema/entities/IrCron";
import { cancelJob, jobForChange, queueDelays, queueStats, requeueJob, requestJobStop } from "../store/jobAdmin";
import { listActions, recordAction, type ActionFilter, type OperatorAction } from "../store/actions";
import * as listings from "../store/listings";
import { queuePauses, type QueuePause } from "../store/queueState";
import { setQueuePausedAudited } from "./queuePauses";
import { ResUsersResolver } from "../store/users";
import { makeJobDueNow } from "./runJobNow";
import * as users from "./userLookups";
import { purgeReport, type PurgeOptions, type PurgeReport } from "./purge";
import { runCronOnceMore, runTypeOnceMore } from "./runNow";

export type { PurgeOptions, PurgeReport } from "./purge";
import { bulkAction, type BulkJobFilter, type BulkOptions, type BulkReport } from "./bulkActions";
import { checkActionFilter, checkJobFilter, checkRunFilter, type JobFilter, type RunFilter } from "./serviceInput";

/** One line of {@link JobAdmin.stats}. */
export interface QueueStats {
  readonly queue: string;
  readonly concurrencyKey: string | null;
  /** Claimed by a worker now. */
  readonly running: number;
  /** Due and waiting for a slot (or for its key's limit). */
  readonly waiting: number;
  /** Not due yet (delayed, or waiting for a retry backoff). */
  readonly scheduled: number;
}

/** One line of {@link JobAdmin.queueDelays}. */
export interface QueueDelay {
  readonly queue: string;
  readonly concurrencyKey: string | null;
  /** When the oldest due work not claimed yet became due (its wait is the queue's latency); null when none waits. */
  readonly oldestDue: Date | null;
  /** The key's `concurrencyLimit` (runs of the key at once, across all workers); null without a key. */
  readonly limit: number | null;
}

/**
 * The operators' verbs on jobs, in one place, for applications, the CLI and
 * `doctor` alike: retry, cancel, stop, retention (`purge`), queue
 * statistics, listings and lookups. `HrpCronJobService` and `JobQueue`
 * offer the same verbs by delegating here; no registry is needed.
 *
 * ```ts
 * const admin = new JobAdmin(dataSource);
 * await admin.retryJob(42);
 * console.table(await admin.stats());
 * ```
 */
export class JobAdmin {
  private readonly backend: Backend;
  private readonly local: ProcessLocal;
  private readonly options: ResolvedShared;

  /** `resolved`: options already resolved by the caller (`HrpCronJobService`, `JobQueue`). @internal */
  constructor(
    private readonly dataSource: DataSource,
    options: SharedOptions = {},
    resolved?: ResolvedShared,
  ) {
    this.backend = backendFor(dataSource);
    this.local = localFor(dataSource);
    this.options =
      resolved ?? resolveShared(checkOptions("options", options, SHARED_OPTION_KEYS), new ResUsersResolver());
  }

  /**
   * Puts a failed or cancelled job back in the queue, due now (or at
   * `at`), with its failure counters, `attempts` and crash count reset, so it
   * gets its full retries again. It runs as its stored user.
   *
   * @throws InvalidStateError when the job is pending, running or done
   */
  async retryJob(jobId: number, at?: Date, operator?: OperatorContext): Promise<HrpCronJob> {
    checkOptionalDate("at", at);
    checkId("jobId", jobId);
    const by = checkOperator(operator);
    const when = at === undefined ? this.options.now() : checkDate("at", at);
    const job = await writeOnce(this.backend, this.options, { operation: "retryJob", jobId }, undefined, async (m) => {
      await jobForChange(m, jobId, ["failed", "cancelled"], "retried");
      const requeued = await requeueJob(this.backend, m, jobId, when, this.options.now);
      await this.record(m, by, "retry", "job", jobId, `job ${jobId} is pending, due ${when.toISOString()}`);
      return requeued;
    });
    this.local.wakeups.notify(when);
    return job;
  }

  /** Cancels a pending (or failed) job: it will not run. @throws InvalidStateError when it is running or done */
  async cancelJob(jobId: number, operator?: OperatorContext): Promise<HrpCronJob> {
    checkId("jobId", jobId);
    const by = checkOperator(operator);
    return writeOnce(this.backend, this.options, { operation: "cancelJob", jobId }, undefined, async (m) => {
      const before = await jobForChange(m, jobId, ["pending", "failed"], "cancelled");
      const cancelled = await cancelJob(this.backend, m, jobId, this.options.now);
      await this.record(m, by, "cancel", "job", jobId, `job ${jobId} is cancelled (was ${before.state})`);
      return cancelled;
    });
  }

  /**
   * Runs recurring cron `cronId` once more, now, without moving its
   * schedule: a one-shot job for its method, arguments, user and queue
   * (see {@link runCronOnceMore}); the cron's `nextcall` and `active` stay
   * as they are. Recorded as `run_now` on the cron. Unlike
   * `HrpCronJobService.trigger`, which makes the cron itself due now.
   * @throws NotFoundError, InvalidStateError (the cron of a job), InvalidUserError
   */
  async runCronNow(cronId: number, operator?: OperatorContext): Promise<HrpCronJob> {
    const job = await runCronOnceMore(this.backend, this.options, cronId, checkOperator(operator));
    this.local.wakeups.notify(job.dateCreated);
    return job;
  }

  /**
   * Runs Scheduled Job Type `typeId` once more, now, without moving its
   * schedule (Frappe's "Execute"; see {@link runTypeOnceMore}): a queue job
   * and a `Start` log row; `last_execution` and `stopped` stay as they are.
   * Recorded as `run_now` on the type.
   * @throws NotFoundError, InvalidUserError
   */
  async runJobTypeNow(typeId: number, operator?: OperatorContext): Promise<HrpCronJob> {
    const job = await runTypeOnceMore(this.backend, this.options, typeId, checkOperator(operator));
    this.local.wakeups.notify(job.dateCreated);
    return job;
  }

  /**
   * Run now: a pending job due later (a delayed job, or one waiting for a
   * retry's backoff) becomes due now, so the next free worker of its queue
   * claims it (this process's at once). Nothing runs here: to execute it in
   * this process and wait for the outcome, use `Dispatcher.runJob`. Its
   * planned date (`dateCreated`) stays; recorded in the action log as
   * `run_now`, in the same transaction.
   * @throws NotFoundError; CurrentlyRunningError when a worker runs it;
   *   InvalidStateError when it is not pending (`retryJob` a failed one) or already due
   */
  async runJobNow(jobId: number, operator?: OperatorContext): Promise<HrpCronJob> {
    const job = await makeJobDueNow(this.backend, this.options, jobId, checkOperator(operator));
    this.local.wakeups.notify(this.options.now());
    return job;
  }

  /**
   * Retries every failed or cancelled job matching `filter` (queue, method,
   * user, due dates, error text), in one transaction with one action-log
   * row; `dryRun` first says which would be retried. More than `max` (1000)
   * matching jobs refuse it all. See {@link bulkAction}.
   */
  async retryJobs(filter: BulkJobFilter, options: BulkOptions = {}, operator?: OperatorContext): Promise<BulkReport> {
    const report = await bulkAction(this.backend, this.options, "retry", filter, options, checkOperator(operator));
    if (!report.dryRun && report.jobIds.length > 0) this.local.wakeups.notify(this.options.now());
    return report;
  }

  /** Cancels every pending or failed job matching `filter`, as {@link retryJobs} retries. */
  async cancelJobs(filter: BulkJobFilter, options: BulkOptions = {}, operator?: OperatorContext): Promise<BulkReport> {
    return bulkAction(this.backend, this.options, "cancel", filter, options, checkOperator(operator));
  }

  /**
   * Operator actions (`hrp_cron_action`), newest first: who retried,
   * cancelled, stopped or purged what, when, from where, and why.
   */
  async listActions(filter: ActionFilter = {}): Promise<OperatorAction[]> {
    const f = checkActionFilter(filter);
    return listActions(this.dataSource, { ...f, limit: f.limit ?? DEFAULTS.listLimit });
  }

  /** Writes the action row of a change on one target, in the change's transaction `m`. */
  private record(
    m: EntityManager,
    by: Operator,
    action: string,
    targetType: string,
    targetId: number,
    outcome: string,
  ): Promise<void> {
    return recordAction(this.backend, m, by, this.options.now(), {
      action,
      targetType,
      targetId,
      affected: 1,
      outcome,
    });
  }

  /**
   * Stops a running job: the worker running it aborts the run at its next
   * heartbeat (`heartbeatIntervalMs`; at once when it runs in this process
   * on this DataSource), rolls its writes back and marks it `stopped` (not
   * retried). On SQLite a job running in another process holds the write
   * lock, so the request is written only after that job ends. To drop a job
   * that has not started, use {@link cancelJob}.
   * @throws NotFoundError, InvalidStateError when the job is not running
   */
  async stopJob(jobId: number, operator?: OperatorContext): Promise<void> {
    checkId("jobId", jobId);
    const by = checkOperator(operator);
    if (this.local.runs.stopJob(jobId)) {
      // Stopped at once in this process; recorded after (on SQLite the running batch held the write lock until now).
      await retriedTransaction(this.backend, this.options, (m) =>
        this.record(m, by, "stop", "job", jobId, `job ${jobId} stopped in this process`),
      );
      return;
    }
    await retriedTransaction(this.backend, this.options, async (m) => {
      await requestJobStop(this.backend, m, jobId);
      await this.record(m, by, "stop", "job", jobId, `stop requested for job ${jobId}`);
    });
  }

  /**
   * Pauses queue `queue` on every worker: from this call's commit no worker
   * claims its jobs or crons (every claim statement checks it); running
   * ones finish; new jobs can still be enqueued. Recorded in the action log.
   * @throws InvalidStateError when it is already paused
   */
  async pauseQueue(queue: string, operator?: OperatorContext): Promise<void> {
    await setQueuePausedAudited(this.backend, this.options, queue, true, checkOperator(operator));
  }

  /**
   * Resumes paused queue `queue`: its due work is claimed again (by this
   * process's workers at once, by others at their next poll or wake-up).
   * @throws InvalidStateError when it is not paused
   */
  async resumeQueue(queue: string, operator?: OperatorContext): Promise<void> {
    await setQueuePausedAudited(this.backend, this.options, queue, false, checkOperator(operator));
    this.local.wakeups.notify(this.options.now());
  }

  /** Queues ever paused, with who paused or resumed them last, when and why. */
  async queuePauses(): Promise<QueuePause[]> {
    return queuePauses(this.backend, this.dataSource.manager);
  }

  /**
   * Running and waiting (due, pending) counts per queue and per concurrency
   * key, across all workers — what the concurrency manager is doing.
   */
  async stats(now = this.options.now()): Promise<QueueStats[]> {
    const at = guarded("now", () => checkDate("now", now));
    return queueStats(this.backend, this.dataSource.manager, at);
  }

  /**
   * Per queue and concurrency key: since when the oldest due work waits
   * (latency) and the key's concurrency limit, at `now`; the lines match
   * {@link stats}'s.
   */
  async queueDelays(now = this.options.now()): Promise<QueueDelay[]> {
    const at = guarded("now", () => checkDate("now", now));
    return queueDelays(this.backend, this.dataSource.manager, at);
  }

  /**
   * Retention: deletes finished (`done`, `cancelled`, `stopped`) jobs older
   * than `finishedOlderThanMs` and failed ones older than
   * `failedOlderThanMs`, with their ir_cron rows and their successful runs'
   * log rows. The run-log rows of their failed, stopped and interrupted
   * runs stay (so `hrp_cron_runs` still shows what went wrong) unless
   * `deleteFailureLogs`. Returns how many jobs were deleted; see
   * {@link purgeReport} for the detail and a dry run.
   */
  async purge(options: PurgeOptions = {}, operator?: OperatorContext): Promise<number> {
    const report = await this.purgeReport(options, operator);
    return report.finishedJobs + report.failedJobs;
  }

  /**
   * {@link purge}, saying what it deleted (with `dryRun`: what it would
   * delete, deleting nothing) and the cut-off dates it used.
   */
  async purgeReport(options: PurgeOptions = {}, operator?: OperatorContext): Promise<PurgeReport> {
    return purgeReport(this.backend, this.options, options, checkOperator(operator));
  }

  async getCron(cronId: number): Promise<IrCron> {
    return listings.getCron(this.dataSource, checkId("cronId", cronId));
  }

  async getJob(jobId: number): Promise<HrpCronJob> {
    return listings.getJob(this.dataSource, checkId("jobId", jobId));
  }

  /**
   * What job `jobId`'s method returned, parsed from its stored JSON
   * (`hrp_cron_job.result`; `null` when it returned nothing).
   *
   * ```ts
   * const job = await queue.enqueue("hrp.report.build", { kwargs: { month: "2026-12" } });
   * // ... once a worker has run it:
   * const summary = (await queue.getJobResult(job.id)) as { rows: number };
   * ```
   * @throws NotFoundError when there is no such job (or purge deleted it)
   * @throws InvalidStateError when it is not `done` (no result yet, or it failed: see its `excInfo`)
   */
  async getJobResult(jobId: number): Promise<unknown> {
    const job = await this.getJob(jobId);
    if (job.state !== "done")
      throw new InvalidStateError(
        `Job ${job.id} is ${job.state}: it has no result${job.state === "pending" || job.state === "running" ? " yet" : ""}`,
        { jobId: job.id, state: job.state },
      );
    return job.result === null ? null : JSON.parse(job.result);
  }

  /** The `ir_cron` row of a `runByCron` job (a queue job has none: NotFoundError). */
  async getJobCron(jobId: number): Promise<IrCron> {
    return listings.getJobCron(this.dataSource, checkId("jobId", jobId));
  }

  /** All crons, in run order. */
  async listCrons(): Promise<IrCron[]> {
    return listings.listCrons(this.dataSource);
  }

  /** The recurring crons (not the `ir_cron` rows of `runByCron` jobs), in run order. */
  async listRecurringCrons(): Promise<IrCron[]> {
    return listings.listRecurringCrons(this.dataSource);
  }

  /** Jobs, newest first. */
  async listJobs(filter: JobFilter = {}): Promise<HrpCronJob[]> {
    const f = checkJobFilter(filter);
    return listings.listJobs(this.dataSource, {
      ...f,
      since: f.since === undefined ? undefined : checkDate("since", f.since),
      until: f.until === undefined ? undefined : checkDate("until", f.until),
      limit: f.limit ?? DEFAULTS.listLimit,
    });
  }

  /**
   * The logins of users `ids` through the configured `userResolver` (`#ID?`
   * for an unknown id; an empty map when the resolver fails). See {@link userLogins}.
   */
  userLogins(ids: Iterable<number>): Promise<Map<number, string>> {
    return users.userLogins(this.dataSource.manager, this.options.userResolver, ids);
  }

  /** The time zones of users `ids` (null: none set). See {@link userTimeZones}. */
  userTimeZones(ids: Iterable<number>): Promise<Map<number, string | null>> {
    return users.userTimeZones(this.dataSource.manager, this.options.userResolver, ids);
  }

  /** The id of the user with `login`, or null. @throws ValidationError (see {@link userIdByLogin}) */
  userIdByLogin(login: string): Promise<number | null> {
    return users.userIdByLogin(this.dataSource.manager, this.options.userResolver, login);
  }

  /** Every run (the `hrp_cron_runs` view: run-log rows and done one-shot jobs), newest first. */
  async listRuns(filter: RunFilter = {}): Promise<HrpCronRun[]> {
    const f = checkRunFilter(filter);
    return listings.listRuns(this.dataSource, { ...f, limit: f.limit ?? DEFAULTS.listLimit });
  }
}
