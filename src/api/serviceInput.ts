import { HRP_CRON_JOB_STATES } from "../schema/entities/HrpCronJob";
import { ValidationError } from "../core/errors";
import { checkInterval, checkTimeZone, validateCronExpression } from "../scheduling";
import type { CronSpec, JobFilter } from "./automatedTasks";
import { checkId, checkInt, checkName, checkOptionalDate, checkOptions, optionalBool } from "../core/validate";

/**
 * Up-front checks of the structured arguments of `HrpCronJobService`
 * (specs and filters): every field has the right type before anything is
 * read from or written to the database. Each returns a plain copy.
 */

/** Most rows one listing returns. */
export const MAX_LIST_LIMIT = 100_000;

const CRON_SPEC_KEYS = [
  "name", "model", "function", "args", "priority", "userId", "intervalNumber", "intervalType", "cronExpression", "timeZone",
  "nextcall", "numbercall", "doall", "active",
] as const;

/**
 * A {@link CronSpec}: known keys only, booleans that are booleans, and one
 * schedule — a cron expression (never empty: `""` used to become a daily
 * interval) or an interval, not both.
 * @throws ValidationError
 */
export function checkCronSpec(spec: CronSpec): CronSpec {
  if (spec === undefined) throw new ValidationError("spec", "expected { name, model, function, ... }", spec);
  const s = checkOptions("spec", spec, CRON_SPEC_KEYS);
  checkOptionalDate("nextcall", s.nextcall);
  optionalBool("doall", s.doall, false);
  optionalBool("active", s.active, true);
  const timeZone = s.timeZone === undefined ? "UTC" : checkTimeZone(s.timeZone);
  if (s.cronExpression !== undefined) {
    if (s.intervalNumber !== undefined || s.intervalType !== undefined) {
      throw new ValidationError("cronExpression", "pass either cronExpression or intervalNumber/intervalType, not both", s.cronExpression);
    }
    validateCronExpression(s.cronExpression, timeZone);
  } else {
    checkInterval(s.intervalType ?? "days", s.intervalNumber ?? 1);
  }
  return s;
}

const JOB_FILTER_KEYS = ["state", "queue", "model", "function", "userId", "since", "until", "limit"] as const;

/** A {@link JobFilter}: a known state, names that are strings, a user id, a limit from 1 to {@link MAX_LIST_LIMIT}. @throws ValidationError */
export function checkJobFilter(filter: JobFilter): JobFilter {
  const f = checkOptions("filter", filter, JOB_FILTER_KEYS);
  if (f.state !== undefined && !HRP_CRON_JOB_STATES.includes(f.state)) {
    throw new ValidationError("state", `must be one of ${HRP_CRON_JOB_STATES.join(", ")}`, f.state);
  }
  if (f.queue !== undefined) checkName("queue", f.queue);
  if (f.model !== undefined) checkName("model", f.model);
  if (f.function !== undefined) checkName("function", f.function);
  if (f.userId !== undefined) checkId("userId", f.userId);
  if (f.limit !== undefined) checkInt("limit", f.limit, 1, MAX_LIST_LIMIT);
  checkOptionalDate("since", f.since);
  checkOptionalDate("until", f.until);
  return f;
}

/** The filter of `listRuns`. @throws ValidationError */
export function checkRunFilter<F extends { cronId?: number; jobId?: number; limit?: number }>(filter: F): F {
  const f = checkOptions("filter", filter, ["cronId", "jobId", "limit"]);
  if (f.cronId !== undefined) checkId("cronId", f.cronId);
  if (f.jobId !== undefined) checkId("jobId", f.jobId);
  if (f.limit !== undefined) checkInt("limit", f.limit, 1, MAX_LIST_LIMIT);
  return f;
}
