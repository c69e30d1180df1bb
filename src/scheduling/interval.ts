import { isUsableTimeZone } from "./timeZone";
import { describe } from "../core/validate";
import { ValidationError } from "../core/errors";
import { inDateRange } from "../core/dateRange";
import { ZoneClock } from "./zoneClock";

/** Odoo's `interval_type` values, plus `work_days` (calendar days skipping Saturday and Sunday). */
export const INTERVAL_TYPES = ["minutes", "hours", "days", "work_days", "weeks", "months"] as const;
export type IntervalType = (typeof INTERVAL_TYPES)[number];
/** Interval types that step the calendar in the cron's time zone (the rest are absolute durations). */
export type CalendarIntervalType = Exclude<IntervalType, "minutes" | "hours">;

export function isIntervalType(value: unknown): value is IntervalType {
  return typeof value === "string" && (INTERVAL_TYPES as readonly string[]).includes(value);
}

export function isCalendarInterval(type: IntervalType): type is CalendarIntervalType {
  return type !== "minutes" && type !== "hours";
}

/** Largest `interval_number` accepted: about 100 years of minutes; anything above is a typo. */
export const MAX_INTERVAL_NUMBER = 60 * 24 * 366 * 100;

const DAY_MS = 86_400_000;
/** 1970-01-05, the first Monday of the epoch, as a day number. */
const FIRST_MONDAY = 4;
/** Month lengths repeat every 400 years (4800 months). */
const MONTH_CYCLE = 4800;

/**
 * Throws ValidationError unless `timeZone` is an IANA zone (e.g.
 * `Asia/Shanghai`, `UTC`) or a fixed offset `UTC+H[:MM]` within a real
 * zone's range (UTC-12 to UTC+14; see {@link isUsableTimeZone}).
 */
export function checkTimeZone(timeZone: string): string {
  if (!isUsableTimeZone(timeZone)) {
    throw new ValidationError(
      "tz",
      `unknown time zone ${describe(timeZone)}; use an IANA name such as "Asia/Shanghai" or "UTC" (or an offset from UTC-12 to UTC+14)`,
      timeZone,
    );
  }
  return timeZone;
}

export function checkInterval(intervalType: unknown, intervalNumber: unknown): void {
  if (!isIntervalType(intervalType)) {
    throw new ValidationError("interval_type", `must be one of ${INTERVAL_TYPES.join(", ")}`, intervalType);
  }
  if (
    typeof intervalNumber !== "number" ||
    !Number.isInteger(intervalNumber) ||
    intervalNumber < 1 ||
    intervalNumber > MAX_INTERVAL_NUMBER
  ) {
    throw new ValidationError("interval_number", `must be an integer from 1 to ${MAX_INTERVAL_NUMBER}`, intervalNumber);
  }
}

/**
 * `from` plus `n` intervals.
 *
 * Minutes and hours are absolute durations (a DST change does not stretch them).
 * Days, weeks, months and work days are calendar steps of `from`'s wall-clock
 * time in `timeZone` (see {@link stepPlan}), so "daily at 02:00 Asia/Shanghai"
 * stays at 02:00 local time; a month step from the 31st clamps to the month's
 * last day (Jan 31 + 1 month = Feb 28/29), like Odoo's relativedelta. A wall
 * time the zone skips runs shifted forward by the gap (02:30 on a day that
 * jumps from 02:00 to 03:00 is 03:30); one that occurs twice runs at the
 * earlier instant.
 * @throws ValidationError for a bad interval or zone, or (field `schedule`)
 *   when the result would be after 9999-12-31
 */
export function addInterval(from: Date, intervalType: IntervalType, n: number, timeZone = "UTC"): Date {
  checkInterval(intervalType, n);
  const zone = ZoneClock.of(timeZone);
  const next = isCalendarInterval(intervalType)
    ? zone.toInstant(stepPlan(zone.toNaive(from.getTime()), intervalType, n, 1))
    : from.getTime() + n * (intervalType === "minutes" ? 60_000 : 3_600_000);
  return inRange(next, from, `${n} ${intervalType}`);
}

/**
 * The planned wall-clock time (naive: local time encoded as UTC) `k`
 * intervals of `n` after `plan`. Pure calendar arithmetic, so planned times
 * never drift whatever the zone does; computed in closed form, and equal to
 * `k` single steps:
 * - `days`, `weeks`: `k * n` days (times 7);
 * - `work_days`: `k * n` weekdays; a plan on a weekend counts from the Friday
 *   before (Saturday + 1 work day = Monday);
 * - `months`: `k * n` months; the day of the month is clamped to each month
 *   on the way and the clamp carries (Jan 31, Feb 28, Mar 28: successive
 *   `relativedelta(months=1)`, as Odoo's `nextcall += interval` does).
 * Returns NaN when the result is beyond what a Date can hold.
 */
export function stepPlan(plan: number, type: CalendarIntervalType, n: number, k: number): number {
  if (k === 0) return plan;
  const day = Math.floor(plan / DAY_MS);
  const timeOfDay = plan - day * DAY_MS;
  switch (type) {
    case "days":
      return plan + k * n * DAY_MS;
    case "weeks":
      return plan + k * n * 7 * DAY_MS;
    case "work_days": {
      const ordinal = workOrdinal(day) + k * n;
      const week = Math.floor(ordinal / 5);
      return (FIRST_MONDAY + week * 7 + (ordinal - week * 5)) * DAY_MS + timeOfDay;
    }
    case "months": {
      const d = new Date(plan);
      const start = d.getUTCFullYear() * 12 + d.getUTCMonth();
      let dayOfMonth = d.getUTCDate();
      // The clamp carries: the day is the smallest month length met on the way (never below 28).
      for (let i = 1; i <= Math.min(k, MONTH_CYCLE) && dayOfMonth > 28; i++)
        dayOfMonth = Math.min(dayOfMonth, monthLength(start + i * n));
      const target = start + k * n;
      const year = Math.floor(target / 12);
      if (!Number.isSafeInteger(target) || Math.abs(year) > 200_000) return NaN;
      const out = new Date(0);
      out.setUTCFullYear(year, target - year * 12, dayOfMonth);
      return out.getTime() + timeOfDay;
    }
  }
}

/** The wall-clock time of `at` in `timeZone`, as a plan for {@link stepPlan}. */
export function planOf(at: Date, timeZone = "UTC"): number {
  return ZoneClock.of(timeZone).toNaive(at.getTime());
}

/** Weekdays from the epoch's first Monday up to `day` (a weekend day counts as the Friday before it). */
function workOrdinal(day: number): number {
  const sinceMonday = day - FIRST_MONDAY;
  const week = Math.floor(sinceMonday / 7);
  return week * 5 + Math.min(sinceMonday - week * 7, 4);
}

/** Days in month number `index` (year * 12 + month, month 0-based). */
function monthLength(index: number): number {
  const year = Math.floor(index / 12);
  const d = new Date(0);
  d.setUTCFullYear(year, index - year * 12 + 1, 0);
  return d.getUTCDate();
}

/** `ms` as a Date, or ValidationError (field `schedule`) when it leaves 0001-9999. */
export function inRange(ms: number, from: Date, step: string): Date {
  if (!inDateRange(ms)) {
    const start = inDateRange(from.getTime()) ? from.toISOString() : String(from);
    throw new ValidationError(
      "schedule",
      `${start} + ${step} is after 9999-12-31 (or not a date); the cron cannot be scheduled again`,
      step,
    );
  }
  return new Date(ms);
}
