import type { DataSource } from "typeorm";
import { ValidationError } from "../core/errors";
import { checkArray, checkKwargs, checkManager, checkName, checkOptions, optionalBool } from "../core/validate";
import type { BulkJob, EnqueueOptions } from "./jobQueue";

/**
 * Up-front checks of what `JobQueue.enqueue`, `enqueueDoc` and
 * `enqueueBulk` receive, before anything else reads it: known option names
 * only (a typo such as `dedupe` is refused, not ignored), booleans that are
 * booleans (`deduplicate: "no"` used to deduplicate), `kwargs` that is a
 * plain object, and a `manager` that is an open transaction of this
 * DataSource. Each returns a plain copy.
 */

const ENQUEUE_KEYS = [
  "queue", "timeoutMs", "now", "isAsync", "jobName", "jobId", "deduplicate", "atFront", "manager", "enqueueAfterCommit",
  "onSuccess", "onFailure", "trackJob", "priority", "kwargs", "args", "maxRetries", "retryBackoffMs", "concurrencyKey",
  "concurrencyLimit", "userId",
] as const;

const BOOLEAN_KEYS = ["now", "isAsync", "deduplicate", "atFront", "enqueueAfterCommit", "trackJob"] as const;

/** @throws ValidationError */
export function checkEnqueueOptions(options: EnqueueOptions | undefined, dataSource: DataSource, field = "options"): EnqueueOptions {
  const o = checkOptions(field, options, ENQUEUE_KEYS);
  for (const key of BOOLEAN_KEYS) optionalBool(key, o[key], false);
  if (o.queue !== undefined) checkName("queue", o.queue, 64);
  if (o.kwargs !== undefined) checkKwargs("kwargs", o.kwargs);
  checkManager(o.manager, dataSource);
  return o;
}

/** The jobs of `enqueueBulk`: an array (no holes) of `{ method, options }`. @throws ValidationError */
export function checkBulkJobs(jobs: readonly BulkJob[], dataSource: DataSource): BulkJob[] {
  if (jobs === undefined) throw new ValidationError("jobs", "expected an array of { method, options }", jobs);
  return checkArray("jobs", jobs).map((job, i) => {
    const j = checkOptions(`jobs[${i}]`, job as BulkJob, ["method", "options"]);
    if (j.method === undefined) throw new ValidationError(`jobs[${i}].method`, "is missing: give a registered \"model.method\" name or function", undefined);
    return { method: j.method, options: checkEnqueueOptions(j.options, dataSource, `jobs[${i}].options`) };
  });
}
