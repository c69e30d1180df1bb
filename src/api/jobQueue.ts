import type { DataSource, EntityManager } from "typeorm";
import { backendFor, localFor, type Backend } from "../backend";
import { callerTransaction } from "../backend/base";
import { commitOnce, writeOnce } from "../backend/commitOnce";
import { mergeBands, workBandOf, type ProcessLocal } from "../backend/processLocal";
import { currentJobManager, runInJob } from "../core/context";
import { UnknownMethodError, ValidationError } from "../core/errors";
import { joinMethodName } from "../core/methodName";
import { keyRecord, optionKeys, SHARED_OPTION_KEYS, type QueueSettings, type SharedOptions } from "../core/options";
import { QueueSet } from "../core/queues";
import { checkRegistry, type ModelRegistry } from "../core/registry";
import { resolveShared, type ResolvedShared } from "../core/resolveOptions";
import type { OperatorContext } from "../core/operator";
import { checkProgress } from "../core/progress";
import type { JobEnv } from "../core/types";
import { requireActiveUser, userKeyOf } from "../core/users";
import { checkName, checkOptions, checkTransactionOption } from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import { insertJob, insertJobs, liveJobWithKey } from "../store/jobs";
import { ResUsersResolver } from "../store/users";
import {
  checkBulkJobs,
  checkEnqueueOptions,
  type BulkJob,
  type DeduplicatedEnqueueOptions,
  type EnqueueOptions,
  type InlineEnqueueOptions,
  type MethodRef,
  type QueuedEnqueueOptions,
  type TypedEnqueueOptions,
  type TypedJob,
} from "./enqueueInput";
import type { JobDefinition } from "../core/jobDefinition";
import { EnqueuePlan } from "./enqueuePlan";
import { userKeysOnce } from "./bulkUsers";
import { JobAdmin, type PurgeOptions, type QueueStats } from "./jobAdmin";

export type { PurgeOptions, QueueStats } from "./jobAdmin";

/** Options of `enqueue` that need a decision per job, so `enqueueBulk` refuses them. */
const BULK_REFUSED_KEYS = ["jobId", "deduplicate", "now", "isAsync", "manager", "enqueueAfterCommit"] as const;

export interface JobQueueOptions extends SharedOptions {
  /** The registry jobs are checked against at enqueue time (unknown methods are refused). */
  readonly registry: ModelRegistry;
  /** Custom queues and overrides of short/default/long: `{ reports: { timeoutMs: 5_000_000, backgroundWorkers: 4 } }`. */
  readonly workers?: Readonly<Record<string, QueueSettings>>;
}

/** Every key of {@link JobQueueOptions}. */
const JOB_QUEUE_OPTION_KEYS = optionKeys<JobQueueOptions>({
  ...keyRecord(SHARED_OPTION_KEYS),
  registry: true,
  workers: true,
});

/**
 * Queue tasks, Frappe style: send a registered method to a named queue now.
 * Jobs are `hrp_cron_job` rows (`kind = 'queue'`) run by the same dispatcher
 * as automated tasks: as the enqueuing user, in one transaction, audited.
 *
 * ```ts
 * const jobs = new JobQueue(dataSource, { registry, workers: { reports: { timeoutMs: 3_600_000 } } });
 * await runAsUser(uid, () => jobs.enqueue("hrp.report.build", { queue: "reports", kwargs: { month: "2026-11" } }));
 * ```
 */
export class JobQueue {
  readonly queues: QueueSet;
  private readonly backend: Backend;
  /** In-process wake-ups (and, for the queue, runs in progress) of this DataSource. */
  private readonly local: ProcessLocal;
  private readonly options: ResolvedShared;
  private readonly registry: ModelRegistry;
  /** Stop, stats and purge, shared with `HrpCronJobService` and the CLI. */
  private readonly admin: JobAdmin;
  /** Checks of what is enqueued, and the rows it becomes. */
  private readonly plan: EnqueuePlan;

  constructor(
    private readonly dataSource: DataSource,
    options: JobQueueOptions,
  ) {
    this.backend = backendFor(dataSource);
    this.local = localFor(dataSource);
    options = checkOptions("options", options, JOB_QUEUE_OPTION_KEYS);
    this.options = resolveShared(options, new ResUsersResolver());
    this.registry = checkRegistry(options.registry)!;
    this.queues = new QueueSet(options.workers);
    this.admin = new JobAdmin(dataSource, {}, this.options);
    this.plan = new EnqueuePlan(this.registry, this.queues, this.options);
  }

  /**
   * Enqueues `method`; resolves with the saved job, with null when
   * deduplicated, or with the method's value when run inline (`now`). The
   * overloads say which from the options' literal types: `now: true` or
   * `isAsync: false` — the method's value; `deduplicate: true` — the job or
   * null; neither — the job. Options whose type does not say get all three.
   * @throws ValidationError, UnknownQueueError, UnknownMethodError, InvalidUserError — and then nothing was written
   */
  enqueue<K, R>(
    job: JobDefinition<K, R>,
    options: TypedEnqueueOptions<K> & ({ readonly now: true } | { readonly isAsync: false }),
  ): Promise<R>;
  enqueue<K, R>(
    job: JobDefinition<K, R>,
    options: TypedEnqueueOptions<K> & { readonly deduplicate: true; readonly now?: false; readonly isAsync?: true },
  ): Promise<TypedJob<R> | null>;
  enqueue<K, R>(
    job: JobDefinition<K, R>,
    ...options: undefined extends K ? [TypedQueuedOptions<K>?] : [TypedQueuedOptions<K>]
  ): Promise<TypedJob<R>>;
  enqueue(method: UntypedMethodRef, options: InlineEnqueueOptions): Promise<unknown>;
  enqueue(method: UntypedMethodRef, options: DeduplicatedEnqueueOptions): Promise<HrpCronJob | null>;
  enqueue(method: UntypedMethodRef, options?: QueuedEnqueueOptions): Promise<HrpCronJob>;
  enqueue(method: UntypedMethodRef, options?: EnqueueOptions): Promise<HrpCronJob | null | unknown>;
  async enqueue(method: MethodRef, options: EnqueueOptions = {}): Promise<unknown> {
    options = checkEnqueueOptions(options, this.dataSource);
    const [model, fn] = this.plan.resolveMethod(method);
    const args = options.args !== undefined ? options.args : options.kwargs !== undefined ? [options.kwargs] : [];
    if (options.args !== undefined && options.kwargs !== undefined)
      throw new ValidationError("kwargs", "pass either args or kwargs, not both", undefined);
    return this.submit(model, fn, args, options, "default");
  }

  /**
   * Runs `model.method(env, id, kwargs)` on one record in the background
   * (Frappe's `enqueue_doc`). Default queue `long`, with that queue's timeout.
   */
  enqueueDoc(model: string, id: number | string, method: string, options: InlineEnqueueOptions): Promise<unknown>;
  enqueueDoc(
    model: string,
    id: number | string,
    method: string,
    options: DeduplicatedEnqueueOptions,
  ): Promise<HrpCronJob | null>;
  enqueueDoc(model: string, id: number | string, method: string, options?: QueuedEnqueueOptions): Promise<HrpCronJob>;
  enqueueDoc(
    model: string,
    id: number | string,
    method: string,
    options?: EnqueueOptions,
  ): Promise<HrpCronJob | null | unknown>;
  async enqueueDoc(model: string, id: number | string, method: string, options: EnqueueOptions = {}): Promise<unknown> {
    options = checkEnqueueOptions(options, this.dataSource);
    if (options.args !== undefined)
      throw new ValidationError("args", "enqueueDoc calls method(env, id, kwargs): pass kwargs, not args", undefined);
    checkName("model", model, 128);
    checkName("method", method, 128);
    if (!this.registry.has(model, method)) throw new UnknownMethodError(model, method);
    if (!(typeof id === "string" ? id.length > 0 : Number.isSafeInteger(id)))
      throw new ValidationError("id", "expected a record id (integer or non-empty string)", id);
    return this.submit(
      model,
      method,
      [id, options.kwargs ?? {}],
      { ...options, jobName: options.jobName ?? `${model}.${method}(${id})` },
      "long",
    );
  }

  /**
   * Enqueues many jobs at once (BullMQ's `addBulk`, graphile-worker's
   * `addJobs`): every job is validated first — one bad job and nothing is
   * written, and the error names it (`jobs[3].options.priority`) — then
   * all are written in one transaction (`manager`'s when given, like
   * `enqueue`), with one statement per chunk of up to 5,000 jobs on
   * PostgreSQL; each distinct user is checked once, and the jobs share one
   * creation time. Resolves with the jobs in the order given. Options that need a per-job decision
   * (`jobId`/`deduplicate`, inline `now`/`isAsync: false`) are refused here;
   * use `enqueue` for those.
   * @throws ValidationError, UnknownQueueError, UnknownMethodError, InvalidUserError — and then nothing was written
   */
  async enqueueBulk(
    jobs: readonly BulkJob[],
    options: { readonly manager?: EntityManager } = {},
  ): Promise<HrpCronJob[]> {
    options = checkTransactionOption(options, this.dataSource);
    jobs = checkBulkJobs(jobs, this.dataSource);
    const now = this.options.now(); // one instant for the whole call: its jobs share their creation time
    const traceContext = this.plan.traceContext(); // and the enqueuer's trace context
    const prepared = jobs.map((job, i) => {
      const item = `jobs[${i}]`;
      const o = job.options ?? {};
      for (const key of BULK_REFUSED_KEYS) {
        if (o[key] !== undefined)
          throw new ValidationError(
            `${item}.options.${key}`,
            "is not supported by enqueueBulk; use enqueue for this job",
            o[key],
          );
      }
      const [model, fn] = this.plan.resolveMethod(job.method, `${item}.method`, item);
      if (o.args !== undefined && o.kwargs !== undefined)
        throw new ValidationError(`${item}.options.kwargs`, "pass either args or kwargs, not both", undefined);
      return this.plan.prepare(
        model,
        fn,
        o.args ?? (o.kwargs !== undefined ? [o.kwargs] : []),
        o,
        "default",
        now,
        item,
        traceContext,
      );
    });
    const joined = options.manager ?? currentJobManager();
    const bands = mergeBands(
      [],
      prepared.map((p) => workBandOf(p.job)),
    );
    const work = async (manager: EntityManager) => {
      const keys = await userKeysOnce(
        this.options.userResolver,
        manager,
        prepared.map((p) => p.job.userId),
        (i) => `jobs[${i}]`,
      );
      for (const p of prepared) p.job.userKey = keys.get(p.job.userId)!; // our own rows: no copy per job
      const saved = await insertJobs(
        this.backend,
        manager,
        prepared.map((p) => p.job),
        prepared.map((p) => p.schedule),
      );
      if (saved.length > 0) await this.backend.announceWork(manager, bands);
      return saved;
    };
    const saved = await writeOnce(
      this.backend,
      this.options,
      { operation: "enqueueBulk", jobs: prepared.length },
      options.manager,
      work,
    );
    const earliest = new Date(prepared.reduce((min, p) => Math.min(min, p.schedule.nextcall.getTime()), Infinity));
    if (saved.length > 0) this.local.wakeups.notifyAfterCommit(joined?.queryRunner, earliest, bands);
    return saved;
  }

  private async submit(model: string, fn: string, args: unknown[], o: EnqueueOptions, defaultQueue: string) {
    const { job: values, schedule } = this.plan.prepare(model, fn, args, o, defaultQueue);
    const { userId: uid, jobKey } = values;
    const joined = o.manager ?? currentJobManager();
    if (o.enqueueAfterCommit && !callerTransaction(o.manager)) {
      throw new ValidationError(
        "enqueueAfterCommit",
        "pass the transaction's manager ({ manager }) so the job is written in it and dropped on rollback",
        true,
      );
    }

    if (o.now || o.isAsync === false) return this.runInline(model, fn, args, uid);

    const work = async (manager: EntityManager): Promise<HrpCronJob | null> => {
      const user = await this.checkUser(manager, uid);
      if (jobKey !== null) {
        if (await liveJobWithKey(this.backend, manager, jobKey)) {
          if (o.deduplicate) return null;
          throw new ValidationError(
            "jobId",
            `a job with jobId ${JSON.stringify(jobKey)} is already pending or running; pass deduplicate: true to skip`,
            jobKey,
          );
        }
      }
      const job = await insertJob(this.backend, manager, { ...values, userKey: userKeyOf(user) }, schedule);
      await this.backend.announceWork(manager, [workBandOf(values)]);
      return job;
    };
    // Exactly once: retried while the database is unavailable, never blindly after a lost COMMIT reply.
    const own = () =>
      commitOnce(
        this.backend,
        this.options,
        { operation: "enqueue", method: joinMethodName(model, fn), queue: values.queue, jobId: jobKey },
        work,
      );
    let job: HrpCronJob | null;
    const caller = callerTransaction(o.manager);
    if (caller) job = await work(caller);
    else {
      try {
        job = await own();
      } catch (error) {
        // Two enqueues with the same jobId raced past the check: the loser sees the winner now.
        if (jobKey === null || !this.backend.isUniqueViolation(error)) throw error;
        job = await own();
      }
    }
    if (job) this.local.wakeups.notifyAfterCommit(joined?.queryRunner, schedule.nextcall, [workBandOf(values)]);
    return job;
  }

  /** {@link JobAdmin.getJobResult}: what the job's method returned, once it is done; typed for a `defineJob` job. */
  getJobResult<R>(job: TypedJob<R>): Promise<R>;
  getJobResult(job: number | HrpCronJob): Promise<unknown>;
  async getJobResult(job: number | HrpCronJob): Promise<unknown> {
    return this.admin.getJobResult(typeof job === "object" && job !== null ? job.id : job);
  }

  /** {@link JobAdmin.stopJob}. */
  async stopJob(jobId: number, operator?: OperatorContext): Promise<void> {
    return this.admin.stopJob(jobId, operator);
  }

  /** {@link JobAdmin.stats}. */
  async stats(now = this.options.now()): Promise<QueueStats[]> {
    return this.admin.stats(now);
  }

  /** {@link JobAdmin.purge}. */
  async purge(options: PurgeOptions = {}, operator?: OperatorContext): Promise<number> {
    return this.admin.purge(options, operator);
  }

  /** `now: true`: run as the user, in a transaction of our own, and return the value. */
  private async runInline(model: string, fn: string, args: unknown[], uid: number): Promise<unknown> {
    const method = this.registry.resolve(model, fn);
    return this.backend.transaction(async (manager) => {
      const user = await this.checkUser(manager, uid);
      const env: JobEnv = {
        uid,
        user,
        manager,
        cronId: 0,
        jobId: null,
        lastcall: null,
        now: this.options.now(),
        signal: new AbortController().signal,
        workerId: "inline",
        call: 1,
        calls: 1,
        // An inline run has no job row: its progress is checked, not stored.
        progress: (done, total, message) => void checkProgress(done, total, message),
      };
      return runInJob(uid, manager, () => method(env, ...args));
    });
  }

  private async checkUser(manager: EntityManager, uid: number) {
    return requireActiveUser(this.options.userResolver, manager, uid);
  }
}

/** Options of a typed job's enqueue that writes it (resolves with the job). */
type TypedQueuedOptions<K> = TypedEnqueueOptions<K> & {
  readonly now?: false;
  readonly isAsync?: true;
  readonly deduplicate?: false;
};

/** A method by name or function reference: typed jobs (`defineJob`) take the typed overloads, which check their kwargs. */
type UntypedMethodRef = string | Function;
