import type { DataSource, EntityManager } from "typeorm";
import { ValidationError } from "../core/errors";
import type { JobDefinition } from "../core/jobDefinition";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import { optionKeys } from "../core/options";
import { checkArray, checkKwargs, checkManager, checkName, checkOptions, optionalBool } from "../core/validate";

/** What `enqueue` accepts (Frappe's `frappe.enqueue` parameters, camel-cased; see the mapping in the README). */
export interface EnqueueOptions {
  /** @defaultValue "default" (`enqueueDoc`: "long") */
  readonly queue?: string;
  /** Run time limit. @defaultValue the queue's timeoutMs */
  readonly timeoutMs?: number;
  /** Run inline now, in this process, and return the method's value; no row is written. @defaultValue false */
  readonly now?: boolean;
  /** `false` is the same as `now: true` (Frappe's `is_async=False`). @defaultValue true */
  readonly isAsync?: boolean;
  /** Name shown in listings. @defaultValue the dotted method name */
  readonly jobName?: string;
  /** Frappe's `job_id`: a caller-chosen key. While a job with this key is pending or running, another enqueue with it is refused, or skipped with `deduplicate`. */
  readonly jobId?: string;
  /** With `jobId`: return null instead of enqueueing while a job with that id is pending or running. @defaultValue false */
  readonly deduplicate?: boolean;
  /** Put the job before everything already waiting with the same priority. @defaultValue false */
  readonly atFront?: boolean;
  /**
   * Run no earlier than this instant (graphile-worker's `runAt`, OCA's
   * `eta`): a Date, or an ISO-8601 string with a time zone. The job waits
   * `pending` until then. Not with `delayMs`, `atFront` or an inline run.
   * @defaultValue now
   */
  readonly runAt?: Date | string;
  /** Run no earlier than this many milliseconds from now (BullMQ's `delay`); as `runAt`. @defaultValue 0 */
  readonly delayMs?: number;
  /** The caller's transaction: the job exists only if it commits (Frappe's `enqueue_after_commit`). */
  readonly manager?: EntityManager;
  /** Frappe's `enqueue_after_commit`; requires `manager` (or a running job, whose transaction is joined). */
  readonly enqueueAfterCommit?: boolean;
  /** Registered method (name or function) called as `(env, { jobId, result })` in the job's transaction on success. */
  readonly onSuccess?: MethodRef;
  /** Registered method called as `(env, { jobId, error })`, in a transaction of its own, once the job has finally failed. */
  readonly onFailure?: MethodRef;
  /** Accepted for Frappe compatibility: every job is tracked. */
  readonly trackJob?: boolean;
  /** Lower runs first. @defaultValue 10 */
  readonly priority?: number;
  /** Keyword arguments: the method is called as `method(env, kwargs)`. */
  readonly kwargs?: Record<string, unknown>;
  /** Positional arguments instead of kwargs: `method(env, ...args)`. */
  readonly args?: unknown[];
  /** Retries after a failure. @defaultValue the queue's maxRetries */
  readonly maxRetries?: number;
  /** Delays before retry 1, 2, ... (ms); the last repeats. @defaultValue the queue's */
  readonly retryBackoffMs?: readonly number[];
  /** Limit concurrent runs sharing this key, across all workers ("one account move per company"). */
  readonly concurrencyKey?: string;
  /** Runs allowed at once for `concurrencyKey`. @defaultValue 1 */
  readonly concurrencyLimit?: number;
  /** Who the job runs as. @defaultValue the ambient user (`runAsUser`), else `defaultUserId` */
  readonly userId?: number;
}

/** Options of an enqueue that runs the method inline and resolves with its value. */
export type InlineEnqueueOptions = EnqueueOptions & ({ readonly now: true } | { readonly isAsync: false });

/** Options of an enqueue that may be skipped as a duplicate (resolves with the job or null). */
export type DeduplicatedEnqueueOptions = EnqueueOptions & {
  readonly deduplicate: true;
  readonly now?: false;
  readonly isAsync?: true;
};

/** Options of an enqueue that writes a job (resolves with it). */
export type QueuedEnqueueOptions = EnqueueOptions & {
  readonly now?: false;
  readonly isAsync?: true;
  readonly deduplicate?: false;
};

/** One job of {@link JobQueue.enqueueBulk}. */
export interface BulkJob {
  readonly method: MethodRef;
  /** Like `enqueue`'s options, without jobId/deduplicate, now/isAsync, manager/enqueueAfterCommit. */
  readonly options?: EnqueueOptions;
}

/** A registered method: by reference, by dotted name (`model.method`), or its typed definition (`defineJob`). */
export type MethodRef = string | Function | JobDefinition<any, any>;

/** What a typed job's `enqueue` resolves with: the job row, carrying its method's result type for `getJobResult`. */
export type TypedJob<Result> = HrpCronJob & {
  /** Type-level only (never set): the type `getJobResult` returns for this job. */
  readonly __result?: Result;
};

/** `enqueue` options of a typed job: its `kwargs` checked against the method's (required unless it takes none); no `args`. */
export type TypedEnqueueOptions<Kwargs> = Omit<EnqueueOptions, "kwargs" | "args"> &
  (undefined extends Kwargs ? { readonly kwargs?: Kwargs } : { readonly kwargs: Kwargs });

/**
 * Up-front checks of what `JobQueue.enqueue`, `enqueueDoc` and
 * `enqueueBulk` receive, before anything else reads it: known option names
 * only (a typo such as `dedupe` is refused, not ignored), booleans that are
 * booleans (`deduplicate: "no"` used to deduplicate), `kwargs` that is a
 * plain object, and a `manager` that is an open transaction of this
 * DataSource. Each returns a plain copy.
 */

const ENQUEUE_KEYS = optionKeys<EnqueueOptions>({
  queue: true,
  timeoutMs: true,
  now: true,
  isAsync: true,
  jobName: true,
  jobId: true,
  deduplicate: true,
  atFront: true,
  runAt: true,
  delayMs: true,
  manager: true,
  enqueueAfterCommit: true,
  onSuccess: true,
  onFailure: true,
  trackJob: true,
  priority: true,
  kwargs: true,
  args: true,
  maxRetries: true,
  retryBackoffMs: true,
  concurrencyKey: true,
  concurrencyLimit: true,
  userId: true,
});

const BOOLEAN_KEYS = [
  "now",
  "isAsync",
  "deduplicate",
  "atFront",
  "enqueueAfterCommit",
  "trackJob",
] as const satisfies ReadonlyArray<keyof EnqueueOptions>;

const BULK_JOB_KEYS = optionKeys<BulkJob>({ method: true, options: true });

/** `item`: the bulk call's entry (`jobs[3]`), which errors name (`jobs[3].options.queue`). @throws ValidationError */
export function checkEnqueueOptions(
  options: EnqueueOptions | undefined,
  dataSource: DataSource,
  item?: string,
): EnqueueOptions {
  const at = item === undefined ? "" : `${item}.options.`;
  const o = checkOptions(item === undefined ? "options" : `${item}.options`, options, ENQUEUE_KEYS);
  for (const key of BOOLEAN_KEYS) optionalBool(`${at}${key}`, o[key], false);
  if (o.queue !== undefined) checkName(`${at}queue`, o.queue, 64);
  if (o.kwargs !== undefined) checkKwargs(`${at}kwargs`, o.kwargs);
  checkManager(o.manager, dataSource);
  return o;
}

/** The jobs of `enqueueBulk`: an array (no holes) of `{ method, options }`. @throws ValidationError */
export function checkBulkJobs(jobs: readonly BulkJob[], dataSource: DataSource): BulkJob[] {
  if (jobs === undefined) throw new ValidationError("jobs", "expected an array of { method, options }", jobs);
  return checkArray("jobs", jobs).map((job, i) => {
    const j = checkOptions(`jobs[${i}]`, job as BulkJob, BULK_JOB_KEYS);
    if (j.method === undefined)
      throw new ValidationError(
        `jobs[${i}].method`,
        'is missing: give a registered "model.method" name or function',
        undefined,
      );
    return { method: j.method, options: checkEnqueueOptions(j.options, dataSource, `jobs[${i}]`) };
  });
}
