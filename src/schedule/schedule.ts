import { ValidationError } from "../errors";
import { nextCronOccurrence, validateCronExpression } from "./cronExpression";
import { addInterval, checkInterval, checkTimeZone, type IntervalType } from "./interval";

/** When a cron recurs: every N units (Odoo `interval_number`/`interval_type`) or on a cron expression. */
export type Schedule =
  | { readonly kind: "interval"; readonly intervalType: IntervalType; readonly intervalNumber: number; readonly timeZone: string }
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
}

/**
 * Walks the schedule from `nextcall` up to `now`, as Odoo does before running
 * a cron. Minutes and hours are computed arithmetically, so a minutely cron
 * that was down for a year costs nothing; calendar steps walk one occurrence at
 * a time and stop after `maxCount` (the count is then a lower bound, which only
 * matters for `doall`, itself capped by `maxCalls` in {@link planCalls}).
 */
export function computeCatchUp(schedule: Schedule, nextcall: Date, now: Date, maxCount = 100_000): CatchUp {
  if (nextcall.getTime() > now.getTime()) return { missed: 0, nextcall };
  if (schedule.kind === "interval" && (schedule.intervalType === "minutes" || schedule.intervalType === "hours")) {
    const stepMs = schedule.intervalNumber * (schedule.intervalType === "minutes" ? 60_000 : 3_600_000);
    const missed = Math.floor((now.getTime() - nextcall.getTime()) / stepMs) + 1;
    return { missed, nextcall: new Date(nextcall.getTime() + missed * stepMs) };
  }
  let missed = 0;
  let cursor = nextcall;
  while (cursor.getTime() <= now.getTime()) {
    missed++;
    if (missed >= maxCount) {
      // Too many to walk: jump straight to the first occurrence after now.
      cursor = schedule.kind === "cron" ? nextCronOccurrence(schedule.expression, now, schedule.timeZone) : jumpPast(schedule, cursor, now);
      break;
    }
    cursor = schedule.kind === "cron"
      ? nextCronOccurrence(schedule.expression, cursor, schedule.timeZone)
      : addInterval(cursor, schedule.intervalType, schedule.intervalNumber, schedule.timeZone);
  }
  return { missed, nextcall: cursor };
}

function jumpPast(schedule: Extract<Schedule, { kind: "interval" }>, from: Date, now: Date): Date {
  let cursor = from;
  let step = schedule.intervalNumber;
  // Exponential search on the step count keeps the phase and stays fast.
  while (cursor.getTime() <= now.getTime()) {
    const probe = addInterval(from, schedule.intervalType, step, schedule.timeZone);
    if (probe.getTime() <= now.getTime()) {
      cursor = probe;
      step *= 2;
    } else {
      cursor = addInterval(cursor, schedule.intervalType, schedule.intervalNumber, schedule.timeZone);
    }
  }
  return cursor;
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
  if (!Number.isInteger(numbercall) || numbercall < -1) throw new ValidationError("numbercall", "must be -1 (unlimited) or a count >= 0", numbercall);
  let calls = doall ? Math.max(1, missed) : 1;
  if (numbercall !== -1) calls = Math.min(calls, numbercall);
  calls = Math.min(calls, maxCalls);
  const numbercallLeft = numbercall === -1 ? -1 : numbercall - calls;
  return { calls, numbercallLeft, active: numbercallLeft !== 0 };
}
