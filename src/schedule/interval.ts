import { DateTime } from "luxon";
import { isUsableTimeZone } from "../timeZone";
import { describe } from "../validate";
import { ValidationError } from "../errors";

/** Odoo's `interval_type` values, plus `work_days` (calendar days skipping Saturday and Sunday). */
export const INTERVAL_TYPES = ["minutes", "hours", "days", "work_days", "weeks", "months"] as const;
export type IntervalType = (typeof INTERVAL_TYPES)[number];

export function isIntervalType(value: unknown): value is IntervalType {
  return typeof value === "string" && (INTERVAL_TYPES as readonly string[]).includes(value);
}

/** Largest `interval_number` accepted: about 100 years of minutes; anything above is a typo. */
export const MAX_INTERVAL_NUMBER = 60 * 24 * 366 * 100;

/**
 * Throws ValidationError unless `timeZone` is an IANA zone (e.g.
 * `Asia/Shanghai`, `UTC`) or a fixed offset `UTC+H[:MM]` within a real
 * zone's range (UTC-12 to UTC+14; see {@link isUsableTimeZone}).
 */
export function checkTimeZone(timeZone: string): string {
  if (!isUsableTimeZone(timeZone)) {
    throw new ValidationError("tz", `unknown time zone ${describe(timeZone)}; use an IANA name such as "Asia/Shanghai" or "UTC" (or an offset from UTC-12 to UTC+14)`, timeZone);
  }
  return timeZone;
}

export function checkInterval(intervalType: unknown, intervalNumber: unknown): void {
  if (!isIntervalType(intervalType)) {
    throw new ValidationError("interval_type", `must be one of ${INTERVAL_TYPES.join(", ")}`, intervalType);
  }
  if (typeof intervalNumber !== "number" || !Number.isInteger(intervalNumber) || intervalNumber < 1 || intervalNumber > MAX_INTERVAL_NUMBER) {
    throw new ValidationError("interval_number", `must be an integer from 1 to ${MAX_INTERVAL_NUMBER}`, intervalNumber);
  }
}

/**
 * `from` plus `n` intervals.
 *
 * Minutes and hours are absolute durations (a DST change does not stretch them).
 * Days, weeks and months are calendar steps in `timeZone`, so "daily at 02:00
 * Asia/Shanghai" stays at 02:00 local time; a month step from the 31st clamps to
 * the month's last day (Jan 31 + 1 month = Feb 28/29), like Odoo's relativedelta.
 * `work_days` steps one calendar day at a time and does not count Saturdays or
 * Sundays; a start on a weekend first moves to Monday.
 */
export function addInterval(from: Date, intervalType: IntervalType, n: number, timeZone = "UTC"): Date {
  checkInterval(intervalType, n);
  checkTimeZone(timeZone);
  const start = DateTime.fromJSDate(from, { zone: timeZone });
  switch (intervalType) {
    case "minutes":
      return new Date(from.getTime() + n * 60_000);
    case "hours":
      return new Date(from.getTime() + n * 3_600_000);
    case "days":
      return start.plus({ days: n }).toJSDate();
    case "weeks":
      return start.plus({ weeks: n }).toJSDate();
    case "months":
      return start.plus({ months: n }).toJSDate();
    case "work_days": {
      let day = start;
      let left = n;
      while (left > 0) {
        day = day.plus({ days: 1 });
        if (day.weekday <= 5) left--;
      }
      return day.toJSDate();
    }
  }
}
