import { currentUserId } from "../core/context";
import { isJobDefinition, type JobDefinition } from "../core/jobDefinition";
import { checkDateRange } from "../core/dateRange";
import { UnknownMethodError, ValidationError } from "../core/errors";
import { joinMethodName, splitMethodName } from "../core/methodName";
import { DEFAULTS } from "../core/options";
import { checkBackoff, MAX_TIMEOUT_MS, type QueueSet } from "../core/queues";
import type { ModelRegistry } from "../core/registry";
import type { ResolvedShared } from "../core/resolveOptions";
import {
  checkDate,
  checkId,
  checkInt,
  checkName,
  checkPriority,
  describe,
  guarded,
  serializeArgs,
} from "../core/validate";
import type { NewJob, NewJobSchedule } from "../store/jobs";
import type { EnqueueOptions, MethodRef } from "./enqueueInput";

/**
 * What an enqueue writes, decided before anything is written: the method
 * resolved in the registry, the queue's defaults applied, every value
 * checked, and the job's rows built (`hrp_cron_job` and its one-shot
 * `ir_cron` schedule).
 */
export class EnqueuePlan {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly queues: QueueSet,
    private readonly options: ResolvedShared,
  ) {}

  /**
   * A registered method, by reference or dotted name, as `[model, method]`.
   * `field` names it in errors; `item`, the bulk call's entry (`jobs[3]`).
   * @throws ValidationError, UnknownMethodError
   */
  resolveMethod(method: MethodRef, field = "method", item?: string): [string, string] {
    const definition = guarded(field, () => (isJobDefinition(method) ? (method as JobDefinition) : null));
    if (definition) {
      // The definition itself must be what is registered under its name, not another method.
      if (this.registry.nameOf(definition.run) !== definition.name)
        throw new ValidationError(
          field,
          `job ${definition.name} (defineJob) is not registered in this queue's registry; add it with registry.define(job)`,
          definition.name,
        );
      return [definition.model, definition.method];
    }
    const name = typeof method === "function" ? this.registry.nameOf(method) : method;
    if (typeof method === "function" && !name) {
      throw new ValidationError(
        field,
        `function ${method.name || "(anonymous)"} is not registered; register it with registry.register(model, { ... })`,
        method.name,
      );
    }
    const split = typeof name === "string" ? splitMethodName(name) : null;
    if (split === null)
      throw new ValidationError(
        field,
        `expected a registered "model.method" name or function, got ${describe(name)}`,
        name,
      );
    if (!this.registry.has(split.model, split.method)) throw new UnknownMethodError(split.model, split.method, item);
    return [split.model, split.method];
  }

  /**
   * The active trace context to store with the jobs of one enqueue call
   * (see `JobTracing.capture`); null when tracing is off or no span is active.
   */
  traceContext(): string | null {
    return this.options.tracing === null ? null : this.options.tracing.capture();
  }

  /**
   * Validates one enqueue and builds its rows; throws before anything is
   * written. A bulk call gives its one `now` (all its jobs are created at
   * that instant), `item`, its entry (`jobs[3]`), which errors name
   * (`jobs[3].options.priority`), and its one trace context.
   */
  prepare(
    model: string,
    fn: string,
    args: unknown[],
    o: EnqueueOptions,
    defaultQueue: string,
    now: Date = this.options.now(),
    item?: string,
    traceContext: string | null = this.traceContext(),
  ): { job: NewJob; schedule: NewJobSchedule } {
    const at = item === undefined ? "" : `${item}.options.`;
    const queueName = o.queue ?? defaultQueue;
    const queue = this.queues.get(queueName, item);
    const argsJson = serializeArgs(args, `${at}args`);
    const priority = checkPriority(o.priority ?? DEFAULTS.jobPriority, `${at}priority`);
    const timeoutMs =
      o.timeoutMs === undefined ? queue.timeoutMs : checkInt(`${at}timeoutMs`, o.timeoutMs, 1, MAX_TIMEOUT_MS);
    const maxRetries =
      o.maxRetries === undefined ? queue.maxRetries : checkInt(`${at}maxRetries`, o.maxRetries, 0, 1000);
    const backoff = checkBackoff(`${at}retryBackoffMs`, o.retryBackoffMs ?? queue.retryBackoffMs);
    const uid = checkId(`${at}userId`, o.userId ?? currentUserId() ?? this.options.defaultUserId);
    const name = checkName(`${at}jobName`, o.jobName ?? joinMethodName(model, fn));
    const jobKey = o.jobId === undefined ? null : checkName(`${at}jobId`, o.jobId);
    if (o.deduplicate && jobKey === null)
      throw new ValidationError(`${at}deduplicate`, "needs a jobId to deduplicate on", true);
    const concurrencyKey =
      o.concurrencyKey === undefined ? null : checkName(`${at}concurrencyKey`, o.concurrencyKey, 128);
    const concurrencyLimit =
      concurrencyKey === null
        ? null
        : checkInt(`${at}concurrencyLimit`, o.concurrencyLimit ?? DEFAULTS.concurrencyLimit, 1, 1_000_000);
    if (o.concurrencyLimit !== undefined && concurrencyKey === null)
      throw new ValidationError(`${at}concurrencyLimit`, "needs a concurrencyKey", o.concurrencyLimit);
    const onSuccess =
      o.onSuccess === undefined ? null : this.resolveMethod(o.onSuccess, `${at}onSuccess`, item).join(".");
    const onFailure =
      o.onFailure === undefined ? null : this.resolveMethod(o.onFailure, `${at}onFailure`, item).join(".");
    const job: NewJob = {
      name,
      model,
      function: fn,
      args: argsJson,
      priority,
      userId: uid,
      userKey: null,
      queue: queueName,
      timeoutMs,
      concurrencyKey,
      concurrencyLimit,
      dateCreated: now,
      state: "pending",
      dateStarted: null,
      dateDone: null,
      excInfo: null,
      createUid: currentUserId() ?? uid,
      createDate: now,
      kind: "queue",
      jobKey,
      maxRetries,
      attempts: 0,
      retryBackoffMs: JSON.stringify(backoff),
      workerId: null,
      onSuccess,
      onFailure,
      traceContext,
    };
    // At-front jobs sort before everything waiting at their priority (ordering is priority, nextcall, id).
    const runAt = runTimeOf(o, now, at);
    return { job, schedule: { nextcall: o.atFront ? new Date(0) : runAt, doall: false } };
  }
}

/** The longest `delayMs` accepted: about 100 years. */
const MAX_DELAY_MS = 100 * 366 * 24 * 3_600_000;

/**
 * When a job may first run: `runAt`, or `delayMs` after `now`, else `now`.
 * `at` prefixes the option names in errors (`jobs[3].options.`).
 * @throws ValidationError for both, for either with `atFront` or an inline run, for a `runAt` that is not a valid Date (or ISO-8601 string with a zone) within 0001-9999
 */
function runTimeOf(o: EnqueueOptions, now: Date, at: string): Date {
  if (o.runAt === undefined && o.delayMs === undefined) return now;
  if (o.runAt !== undefined && o.delayMs !== undefined)
    throw new ValidationError(`${at}delayMs`, "give either runAt or delayMs, not both", o.delayMs);
  const field = `${at}${o.runAt !== undefined ? "runAt" : "delayMs"}`;
  const given = o.runAt ?? o.delayMs;
  if (o.atFront)
    throw new ValidationError(field, "cannot be combined with atFront (which runs the job first, now)", given);
  if (o.now || o.isAsync === false)
    throw new ValidationError(field, "cannot be combined with an inline run (now: true / isAsync: false)", given);
  if (o.runAt !== undefined) return guarded(field, () => checkDate(field, o.runAt));
  return checkDateRange(field, new Date(now.getTime() + checkInt(field, o.delayMs, 0, MAX_DELAY_MS)));
}
