import { ValidationError } from "../core/errors";
import { nextCronOccurrence, validateCronExpression } from "./cronExpression";
import { checkInterval, checkTimeZone, inRange, isCalendarInterval, stepPlan, type IntervalType } from "./interval";
import { ZoneClock } from "./zoneClock";

/** When a cron recurs: every N units (Odoo `interval_number`/`interval_type`) or on a cron expression. */
export type Schedule =
  | {
      readonly kind: "interval";
      readonly intervalType: IntervalType;
      readonly intervalNumber: number;
      readonly timeZone: string;
    }
  | { readonly kind: "cron"; readonly expression: string; readonly timeZone: string };

export function validateSchedule(schedule: Schedule): void {
  if (schedule.kind === "cron") validateCronExpression(schedule.expression, schedule.timeZone);
  else {
    checkInterval(schedule.intervalType, schedule.intervalNumber);
    checkTimeZone(schedule.timeZone);
  }
}

/**
 * The first occurrence strictly after `after`. Interval schedules keep their
 * phase: occurrences are `anchor + k * interval`, so a cron that was due at
 * 09:00 every hour and ran late at 11:20 is next due at 12:00, not 12:20.
 */
export function nextOccurrence(schedule: Schedule, anchor: Date, after: Date): Date {
  if (schedule.kind === "cron") return nextCronOccurrence(schedule.expression, after, schedule.timeZone);
  return computeCatchUp(schedule, anchor, after).nextcall;
}

export interface CatchUp {
  /** Occurrences at or before `now`, counting `nextcall` itself (0 when it is still in the future). */
  readonly missed: number;
  /** The first occurrence strictly after `now` (or the unchanged `nextcall` when nothing was missed). */
  readonly nextcall: Date;
  /**
   * The wall-clock time `nextcall` stands for (`YYYY-MM-DDTHH:MM:SS.SSS`, no
   * zone) when the zone skips it and `nextcall` was moved forward by the gap;
   * absent otherwise. Store it with `nextcall` and pass it back as `planned`,
   * so that the interval returns to its planned time after the gap.
   */
  readonly planned?: string;
}

/**
 * Walks the schedule from `nextcall` up to `now`, as Odoo does before running
 * a cron. Minutes and hours are computed arithmetically, so a minutely cron
 * that was down for a year costs nothing. Days, weeks, months and work days
 * step the planned wall-clock time (`planned` when it is given and still
 * matches `nextcall`, else `nextcall`'s wall-clock time) in closed form
 * ({@link stepPlan}): the count is found by bisection, and equals walking one
 * interval at a time. Cron expressions walk one occurrence at a time and stop
 * after `maxCount` (then jump straight to the first occurrence after now).
 * `missed` is capped at `maxCount` (a lower bound then, which only matters for
 * `doall`, itself capped by `maxCalls` in {@link planCalls}).
 * @throws ValidationError (field `schedule`) when the next occurrence would be
 *   after 9999-12-31, or for a bad schedule
 */
export function computeCatchUp(
  schedule: Schedule,
  nextcall: Date,
  now: Date,
  maxCount = 100_000,
  planned: string | null = null,
): CatchUp {
  if (nextcall.getTime() > now.getTime()) return planned ? { missed: 0, nextcall, planned } : { missed: 0, nextcall };
  if (schedule.kind === "cron") return cronCatchUp(schedule, nextcall, now, maxCount);
  checkInterval(schedule.intervalType, schedule.intervalNumber);
  const { intervalType: type, intervalNumber: n } = schedule;
  if (!isCalendarInterval(type)) {
    const stepMs = n * (type === "minutes" ? 60_000 : 3_600_000);
    const missed = Math.floor((now.getTime() - nextcall.getTime()) / stepMs) + 1;
    return { missed, nextcall: inRange(nextcall.getTime() + missed * stepMs, nextcall, `${missed * n} ${type}`) };
  }
  const zone = ZoneClock.of(schedule.timeZone);
  const plan0 = planFor(zone, nextcall, planned);
  const at = (k: number) => (k === 0 ? nextcall.getTime() : zone.toInstant(stepPlan(plan0, type, n, k)));
  // Largest k with occurrence k <= now: exponential search, then bisection (occurrences never go backwards).
  let lo = 0;
  let hi = 1;
  while (at(hi) <= now.getTime()) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (at(mid) <= now.getTime()) lo = mid;
    else hi = mid;
  }
  const plan = stepPlan(plan0, type, n, lo + 1);
  const next = inRange(at(lo + 1), nextcall, `${(lo + 1) * n} ${type}`);
  const missed = Math.min(lo + 1, maxCount);
  return zone.toNaive(next.getTime()) === plan
    ? { missed, nextcall: next }
    : { missed, nextcall: next, planned: formatPlan(plan) };
}

/**
 * {@link computeCatchUp} as a value: a schedule that cannot be computed (its
 * next run would be after 9999-12-31, or a stored row is corrupt) comes back
 * as `error` instead of throwing, so bookkeeping can record it on its cron.
 */
export function tryCatchUp(
  schedule: Schedule,
  nextcall: Date,
  now: Date,
  planned: string | null = null,
): { catchUp: CatchUp; error?: undefined } | { catchUp?: undefined; error: Error } {
  try {
    return { catchUp: computeCatchUp(schedule, nextcall, now, undefined, planned) };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/**
 * Refuses a schedule whose run after `nextcall` would be after 9999-12-31
 * (`intervalNumber: 52_704_000` months, or a yearly cron from 9999-06-01).
 * @throws ValidationError (field `interval_number` or `cron_expression`)
 */
export function checkSchedulable(schedule: Schedule, nextcall: Date): void {
  const { error } = tryCatchUp(schedule, nextcall, nextcall);
  if (!error) return;
  const [field, value] =
    schedule.kind === "cron" ? ["cron_expression", schedule.expression] : ["interval_number", schedule.intervalNumber];
  throw new ValidationError(
    field,
    `the run after ${nextcall.toISOString()} would be after 9999-12-31 (${error.message}); use a shorter interval or an earlier start`,
    value,
  );
}

function cronCatchUp(
  schedule: Extract<Schedule, { kind: "cron" }>,
  nextcall: Date,
  now: Date,
  maxCount: number,
): CatchUp {
  let missed = 0;
  let cursor = nextcall;
  while (cursor.getTime() <= now.getTime()) {
    missed++;
    if (missed >= maxCount) {
      // Too many to walk: jump straight to the first occurrence after now.
      cursor = nextCronOccurrence(schedule.expression, now, schedule.timeZone);
      break;
    }
    cursor = nextCronOccurrence(schedule.expression, cursor, schedule.timeZone);
  }
  return { missed, nextcall: cursor };
}

/** The planned wall-clock time of `nextcall`: `planned` when it still stands for `nextcall` (a time moved by a DST gap), else `nextcall`'s own. */
function planFor(zone: ZoneClock, nextcall: Date, planned: string | null): number {
  if (planned) {
    const plan = Date.parse(`${planned}Z`);
    if (Number.isFinite(plan) && zone.toInstant(plan) === nextcall.getTime()) return plan;
  }
  return zone.toNaive(nextcall.getTime());
}

function formatPlan(plan: number): string {
  return new Date(plan).toISOString().slice(0, 23);
}

export interface CallPlan {
  /** How many times to call the method in this run (at least 1). */
  readonly calls: number;
  /** `numbercall` after the run (-1 stays -1). */
  readonly numbercallLeft: number;
  /** Whether the cron stays active after the run. */
  readonly active: boolean;
}

/**
 * Odoo 16/17 catch-up: one call if `!doall`, else one per missed occurrence
 * (capped by `numbercall` unless it is -1, and by `maxCalls` as a safety
 * limit); `numbercall` drops by the calls made and the cron deactivates at 0.
 * A run with `missed = 0` (a manual "run now") makes one call.
 */
export function planCalls(input: { doall: boolean; numbercall: number; missed: number; maxCalls?: number }): CallPlan {
  const { doall, numbercall, missed } = input;
  const maxCalls = input.maxCalls ?? 1000;
  if (!Number.isInteger(numbercall) || numbercall < -1)
    throw new ValidationError("numbercall", "must be -1 (unlimited) or a count >= 0", numbercall);
  let calls = doall ? Math.max(1, missed) : 1;
  if (numbercall !== -1) calls = Math.min(calls, numbercall);
  calls = Math.min(calls, maxCalls);
  const numbercallLeft = numbercall === -1 ? -1 : numbercall - calls;
  return { calls, numbercallLeft, active: numbercallLeft !== 0 };
}
