import { ValidationError } from "../core/errors";
import { type CronFields, parseCronFields } from "./cronFields";
import { MAX_DATE_MS, MIN_DATE_MS, checkDateRange } from "../core/dateRange";
import { ZoneClock, type Transition } from "./zoneClock";

/** Offset changes further back than this cannot affect the next occurrence (no gap or repeat lasts longer). */
const LOOKBACK_MS = 26 * 3_600_000;
/** The calendar repeats every 400 years: an expression with no occurrence in that span never has one. */
const GREGORIAN_CYCLE_START = Date.UTC(2000, 0, 1);
const GREGORIAN_CYCLE_END = Date.UTC(2400, 0, 1);

/**
 * Accepts a standard 5-field expression (`minute hour day month weekday`) or a
 * 6-field one with seconds first; aliases such as `@daily` and `@hourly` too
 * (see {@link parseCronFields} for the syntax).
 * @throws ValidationError (field `cron_expression`) with the reason, also when
 *   the expression can never match (`0 0 30 2 *`); (field `tz`) for an unknown zone
 */
export function validateCronExpression(expression: string, timeZone = "UTC"): void {
  const fields = parseCronFields(expression);
  ZoneClock.of(timeZone);
  if (naiveNext(fields, GREGORIAN_CYCLE_START, GREGORIAN_CYCLE_END) === null) {
    throw new ValidationError(
      "cron_expression",
      `"${expression}" never matches a date (e.g. February 30); check the day and month fields`,
      expression,
    );
  }
}

/**
 * The first occurrence of `expression` in `timeZone` strictly after `after`.
 *
 * Fields are matched against the zone's wall clock. Where clocks change:
 * - an expression with fixed times (no `*` or `/` in its second, minute and
 *   hour fields, e.g. `30 2 * * *`) runs once at a time that occurs twice
 *   (the earlier instant), and at a time that is skipped it runs shifted
 *   forward by the gap (02:30 on a day that jumps from 02:00 to 03:00 runs
 *   at 03:30), never dropped;
 * - other expressions (`* 2 * * *`, `*\/15 * * * *`, `57 * * * *`) follow
 *   elapsed time: they run at every instant whose wall-clock time matches, so
 *   in a repeated hour they run in both, and skipped times do not run.
 * @throws ValidationError for a bad expression or zone, or (field `schedule`)
 *   when there is no occurrence before 9999-12-31
 */
export function nextCronOccurrence(expression: string, after: Date, timeZone = "UTC"): Date {
  const fields = parseCronFields(expression);
  const zone = ZoneClock.of(timeZone);
  checkDateRange("after", after);
  const next = nextCronInstant(fields, zone, after.getTime());
  if (next === null) {
    throw new ValidationError(
      "schedule",
      `"${expression}" has no occurrence after ${after.toISOString()} before 9999-12-31; the cron cannot be scheduled again`,
      expression,
    );
  }
  return new Date(next);
}

/**
 * The first instant strictly after `afterMs` at which `fields` fire in
 * `zone`, or null when there is none up to {@link MAX_DATE_MS}.
 *
 * The timeline is cut at the zone's offset changes; within a stretch of one
 * offset wall-clock time is monotonic, so the first matching naive time is
 * found by calendar search and converted back. At the start of a stretch,
 * fixed-time expressions also get the times the change skipped (shifted by
 * the gap) and skip the times it repeats.
 */
export function nextCronInstant(fields: CronFields, zone: ZoneClock, afterMs: number): number | null {
  let from = Math.max(afterMs + 1, MIN_DATE_MS);
  let change: Transition | null = zone.lastTransition(from, LOOKBACK_MS);
  while (from <= MAX_DATE_MS) {
    const offset = zone.offsetMs(from);
    let best: number | null = null;
    if (change && fields.fixedTime && change.after > change.before) {
      // Wall times the change skipped, run shifted forward by the gap (read with the old offset).
      const skipped = naiveNext(
        fields,
        Math.max(change.at + change.before, from + change.before),
        change.at + change.after - 1,
      );
      if (skipped !== null) best = skipped - change.before;
    }
    let start = from + offset;
    // Wall times the change repeats already ran before it (fixed times run once).
    if (change && fields.fixedTime && change.before > change.after) start = Math.max(start, change.at + change.before);
    const limit = best !== null ? best + offset : MAX_DATE_MS + offset;
    const regular = naiveNext(fields, start, limit);
    if (regular !== null && (best === null || regular - offset < best)) best = regular - offset;
    if (best === null) return null;
    const next = zone.nextTransition(from, best);
    if (next === null) return best <= MAX_DATE_MS ? best : null;
    // The offset changes before `best`: look again from the change.
    change = next;
    from = next.at;
  }
  return null;
}

/**
 * The first naive (wall-clock, encoded as UTC) time at or after `startMs`
 * that matches `fields`, up to `limitMs`; null when none. Pure calendar
 * arithmetic: no time zone.
 */
export function naiveNext(fields: CronFields, startMs: number, limitMs: number): number | null {
  const unit = fields.hasSeconds ? 1000 : 60_000;
  let t = Math.ceil(startMs / unit) * unit;
  const d = new Date(0);
  while (t <= limitMs) {
    d.setTime(t);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    const day = d.getUTCDate();
    const h = d.getUTCHours();
    const mi = d.getUTCMinutes();
    const s = d.getUTCSeconds();
    if (!fields.months[mo + 1]) {
      t = naive(y, mo + 1, 1);
    } else if (!dayMatches(fields, y, mo, day)) {
      t = naive(y, mo, day + 1);
    } else if (!fields.hours[h]) {
      t = naive(y, mo, day, nextIn(fields.hours, h));
    } else if (!fields.minutes[mi]) {
      t = naive(y, mo, day, h, nextIn(fields.minutes, mi));
    } else if (!fields.seconds[s]) {
      t = naive(y, mo, day, h, mi, nextIn(fields.seconds, s));
    } else {
      return t;
    }
  }
  return null;
}

/** Day-of-month and weekday fields: either may match when both are restricted, else the restricted one must. */
function dayMatches(fields: CronFields, y: number, mo: number, day: number): boolean {
  const daysInMonth = new Date(naive(y, mo + 1, 0)).getUTCDate();
  const weekday = new Date(naive(y, mo, day)).getUTCDay();
  const dom = fields.days[day] || (fields.lastDay && day === daysInMonth);
  const dow =
    fields.weekdays[weekday] ||
    (fields.lastWeekdays[weekday] && day + 7 > daysInMonth) ||
    (fields.nthWeekdays[weekday] & (1 << Math.ceil(day / 7))) !== 0;
  if (fields.domStar && fields.dowStar) return true;
  if (fields.domStar) return dow;
  if (fields.dowStar) return dom;
  return dom || dow;
}

/** The next allowed value above `current` in a lookup table, or the table's length (which carries into the next unit). */
function nextIn(table: readonly boolean[], current: number): number {
  for (let v = current + 1; v < table.length; v++) if (table[v]) return v;
  return table.length;
}

/** Naive time of a wall-clock date; fields may overflow (month 12, day 32, hour 24) and carry, and years 0-99 stay as they are. */
function naive(y: number, mo: number, day: number, h = 0, mi = 0, s = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(y, mo, day);
  d.setUTCHours(h, mi, s, 0);
  return d.getTime();
}
