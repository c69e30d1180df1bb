import { HRP_CRON_JOB_STATES } from "../schema/entities/HrpCronJob";
import { RUN_OUTCOMES } from "../schema/entities/HrpCronRunLog";
import { ValidationError } from "../core/errors";
import { optionKeys } from "../core/options";
import { checkInterval, checkTimeZone, validateCronExpression } from "../scheduling";
import { checkId, checkInt, checkName, checkOptionalDate, checkOptions, optionalBool } from "../core/validate";

import type { EntityManager } from "typeorm";
import type { IntervalType } from "../scheduling";
import type { ActionFilter } from "../store/actions";
import type { ArgsMatch, JobFilter, RunFilter } from "../store/listings";

export type { ArgsMatch, JobFilter, RunFilter } from "../store/listings";
export type { ActionFilter, OperatorAction } from "../store/actions";

/** Lets a call join the caller's transaction. */
export interface TransactionOption {
  /** EntityManager of the caller's open transaction: the rows are written in it and exist only if it commits. */
  readonly manager?: EntityManager;
}

/** A recurring (or limited) cron to create with {@link HrpCronJobService.createCron}. */
export interface CronSpec {
  readonly name: string;
  readonly model: string;
  readonly function: string;
  /** Positional JSON arguments. @defaultValue [] */
  readonly args?: unknown[];
  /** Lower runs first. @defaultValue 5 */
  readonly priority?: number;
  /** @defaultValue the ambient user, else the configured default user */
  readonly userId?: number;
  /** @defaultValue 1 */
  readonly intervalNumber?: number;
  /** @defaultValue "days" */
  readonly intervalType?: IntervalType;
  /** A cron expression (5 or 6 fields); replaces the interval when given. */
  readonly cronExpression?: string;
  /** IANA zone for the schedule. @defaultValue the user's tz, else UTC */
  readonly timeZone?: string;
  /** First run. @defaultValue now for intervals; the next occurrence for cron expressions */
  readonly nextcall?: Date;
  /** Runs left; -1 = unlimited. @defaultValue -1 */
  readonly numbercall?: number;
  /** Replay missed runs after downtime. @defaultValue false */
  readonly doall?: boolean;
  /** @defaultValue true */
  readonly active?: boolean;
}

/**
 * Up-front checks of the structured arguments of `HrpCronJobService`
 * (specs and filters): every field has the right type before anything is
 * read from or written to the database. Each returns a plain copy.
 */

/** Most rows one listing returns. */
export const MAX_LIST_LIMIT = 100_000;

const CRON_SPEC_KEYS = optionKeys<CronSpec>({
  name: true,
  model: true,
  function: true,
  args: true,
  priority: true,
  userId: true,
  intervalNumber: true,
  intervalType: true,
  cronExpression: true,
  timeZone: true,
  nextcall: true,
  numbercall: true,
  doall: true,
  active: true,
});

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
      throw new ValidationError(
        "cronExpression",
        "pass either cronExpression or intervalNumber/intervalType, not both",
        s.cronExpression,
      );
    }
    validateCronExpression(s.cronExpression, timeZone);
  } else {
    checkInterval(s.intervalType ?? "days", s.intervalNumber ?? 1);
  }
  return s;
}

const JOB_FILTER_KEYS = optionKeys<JobFilter>({
  state: true,
  queue: true,
  model: true,
  function: true,
  userId: true,
  since: true,
  until: true,
  errorContains: true,
  args: true,
  ids: true,
  beforeId: true,
  limit: true,
});
/** The most ids a filter may list (an operator's selection). */
const MAX_SELECTED_IDS = 1000;
const ARGS_MATCH_KEYS = optionKeys<ArgsMatch>({ path: true, equals: true });
const RUN_FILTER_KEYS = optionKeys<RunFilter>({
  cronId: true,
  jobId: true,
  state: true,
  queue: true,
  model: true,
  function: true,
  userId: true,
  since: true,
  until: true,
  limit: true,
});

/** The fields job and run filters share (queue, method, user, dates), checked. @throws ValidationError */
export function checkListFields(f: Omit<JobFilter, "state" | "limit">): void {
  if (f.queue !== undefined) checkName("queue", f.queue);
  if (f.model !== undefined) checkName("model", f.model);
  if (f.function !== undefined) checkName("function", f.function);
  if (f.userId !== undefined) checkId("userId", f.userId);
  checkOptionalDate("since", f.since);
  checkOptionalDate("until", f.until);
}

/** The fields only job filters have: error text and an argument's value. @throws ValidationError */
export function checkJobFields(f: Pick<JobFilter, "errorContains" | "args" | "ids">): void {
  if (f.ids !== undefined) {
    if (!Array.isArray(f.ids) || f.ids.length === 0 || f.ids.length > MAX_SELECTED_IDS)
      throw new ValidationError("ids", `must be a list of 1 to ${MAX_SELECTED_IDS} job ids`, f.ids);
    f.ids.forEach((id, i) => checkId(`ids[${i}]`, id));
  }
  if (
    f.errorContains !== undefined &&
    (typeof f.errorContains !== "string" || f.errorContains.length === 0 || f.errorContains.length > 500)
  )
    throw new ValidationError("errorContains", "must be a non-empty string of at most 500 characters", f.errorContains);
  if (f.args === undefined) return;
  const a = checkOptions("args", f.args, ARGS_MATCH_KEYS);
  if (typeof a.path !== "string" || !/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(a.path) || a.path.length > 200)
    throw new ValidationError(
      "args.path",
      "must be a dotted path of keys and indexes (patient_id, 0, 1.code), at most 200 characters",
      a.path,
    );
  const t = typeof a.equals;
  if ((t !== "string" && t !== "number" && t !== "boolean") || String(a.equals).length > 500)
    throw new ValidationError("args.equals", "must be a string, number or boolean of at most 500 characters", a.equals);
}

/** A {@link JobFilter}: a known state, names that are strings, a user id, a limit from 1 to {@link MAX_LIST_LIMIT}. @throws ValidationError */
export function checkJobFilter(filter: JobFilter): JobFilter {
  const f = checkOptions("filter", filter, JOB_FILTER_KEYS);
  if (f.state !== undefined && !HRP_CRON_JOB_STATES.includes(f.state)) {
    throw new ValidationError("state", `must be one of ${HRP_CRON_JOB_STATES.join(", ")}`, f.state);
  }
  checkListFields(f);
  checkJobFields(f);
  if (f.beforeId !== undefined) checkId("beforeId", f.beforeId);
  if (f.limit !== undefined) checkInt("limit", f.limit, 1, MAX_LIST_LIMIT);
  return f;
}

/** The filter of `listRuns`. @throws ValidationError */
export function checkRunFilter(filter: RunFilter): RunFilter {
  const f = checkOptions("filter", filter, RUN_FILTER_KEYS);
  if (f.cronId !== undefined) checkId("cronId", f.cronId);
  if (f.jobId !== undefined) checkId("jobId", f.jobId);
  if (f.state !== undefined && !RUN_OUTCOMES.includes(f.state)) {
    throw new ValidationError("state", `must be one of ${RUN_OUTCOMES.join(", ")}`, f.state);
  }
  checkListFields(f);
  if (f.limit !== undefined) checkInt("limit", f.limit, 1, MAX_LIST_LIMIT);
  return f;
}

const ACTION_FILTER_KEYS = optionKeys<ActionFilter>({
  since: true,
  until: true,
  by: true,
  action: true,
  targetType: true,
  targetId: true,
  jobId: true,
  queue: true,
  beforeId: true,
  limit: true,
});

/** The filter of `listActions`. @throws ValidationError */
export function checkActionFilter(filter: ActionFilter): ActionFilter {
  const f = checkOptions("filter", filter, ACTION_FILTER_KEYS);
  for (const field of ["by", "action", "targetType", "queue"] as const) {
    const value = f[field];
    if (value !== undefined && (typeof value !== "string" || value === "" || value.length > 256))
      throw new ValidationError(field, "must be a non-empty string of at most 256 characters", value);
  }
  if (f.targetId !== undefined) checkId("targetId", f.targetId);
  if (f.jobId !== undefined) checkId("jobId", f.jobId);
  if (f.beforeId !== undefined) checkId("beforeId", f.beforeId);
  if (f.limit !== undefined) checkInt("limit", f.limit, 1, MAX_LIST_LIMIT);
  checkOptionalDate("since", f.since);
  checkOptionalDate("until", f.until);
  return f;
}
