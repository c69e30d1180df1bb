import { currentUserId } from "../core/context";
import { UnknownMethodError, ValidationError } from "../core/errors";
import { joinMethodName, splitMethodName } from "../core/methodName";
import { DEFAULTS } from "../core/options";
import { checkBackoff, MAX_TIMEOUT_MS, type QueueSet } from "../core/queues";
import type { ModelRegistry } from "../core/registry";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkId, checkInt, checkName, checkPriority, describe, serializeArgs } from "../core/validate";
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

  /** A registered method, by reference or dotted name, as `[model, method]`. @throws ValidationError, UnknownMethodError */
  resolveMethod(method: MethodRef): [string, string] {
    const name = typeof method === "function" ? this.registry.nameOf(method) : method;
    if (typeof method === "function" && !name) {
      throw new ValidationError(
        "method",
        `function ${method.name || "(anonymous)"} is not registered; register it with registry.register(model, { ... })`,
        method.name,
      );
    }
    const split = typeof name === "string" ? splitMethodName(name) : null;
    if (split === null)
      throw new ValidationError(
        "method",
        `expected a registered "model.method" name or function, got ${describe(name)}`,
        name,
      );
    if (!this.registry.has(split.model, split.method)) throw new UnknownMethodError(split.model, split.method);
    return [split.model, split.method];
  }

  /** Validates one enqueue and builds its rows; throws before anything is written. */
  prepare(
    model: string,
    fn: string,
    args: unknown[],
    o: EnqueueOptions,
    defaultQueue: string,
  ): { job: NewJob; schedule: NewJobSchedule } {
    const queueName = o.queue ?? defaultQueue;
    const queue = this.queues.get(queueName);
    const argsJson = serializeArgs(args);
    const priority = checkPriority(o.priority ?? DEFAULTS.jobPriority);
    const timeoutMs =
      o.timeoutMs === undefined ? queue.timeoutMs : checkInt("timeoutMs", o.timeoutMs, 1, MAX_TIMEOUT_MS);
    const maxRetries = o.maxRetries === undefined ? queue.maxRetries : checkInt("maxRetries", o.maxRetries, 0, 1000);
    const backoff = checkBackoff("retryBackoffMs", o.retryBackoffMs ?? queue.retryBackoffMs);
    const uid = checkId("userId", o.userId ?? currentUserId() ?? this.options.defaultUserId);
    const name = checkName("jobName", o.jobName ?? joinMethodName(model, fn));
    const jobKey = o.jobId === undefined ? null : checkName("jobId", o.jobId);
    if (o.deduplicate && jobKey === null)
      throw new ValidationError("deduplicate", "needs a jobId to deduplicate on", true);
    const concurrencyKey = o.concurrencyKey === undefined ? null : checkName("concurrencyKey", o.concurrencyKey, 128);
    const concurrencyLimit =
      concurrencyKey === null
        ? null
        : checkInt("concurrencyLimit", o.concurrencyLimit ?? DEFAULTS.concurrencyLimit, 1, 1_000_000);
    if (o.concurrencyLimit !== undefined && concurrencyKey === null)
      throw new ValidationError("concurrencyLimit", "needs a concurrencyKey", o.concurrencyLimit);
    const onSuccess = o.onSuccess === undefined ? null : this.resolveMethod(o.onSuccess).join(".");
    const onFailure = o.onFailure === undefined ? null : this.resolveMethod(o.onFailure).join(".");
    const now = this.options.now();
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
    };
    // At-front jobs sort before everything waiting at their priority (ordering is priority, nextcall, id).
    return { job, schedule: { nextcall: o.atFront ? new Date(0) : now, doall: false } };
  }
}
