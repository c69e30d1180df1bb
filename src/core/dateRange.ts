import { ValidationError } from "./errors";

/**
 * The dates hrp-cron stores: 0001-01-01 to 9999-12-31 (UTC). Outside it,
 * SQLite's text dates stop sorting (`+010000-...` sorts before `2026-...`),
 * PostgreSQL and JavaScript disagree, and schedule maths overflows; such a
 * date is refused where it enters (ValidationError) and a schedule whose
 * next run would leave the range has no next run.
 */
export const MIN_DATE_MS = Date.parse("0001-01-01T00:00:00.000Z");
export const MAX_DATE_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** Whether `ms` (epoch milliseconds) is a finite instant within 0001-01-01 .. 9999-12-31 UTC. */
export function inDateRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

/** `date` unchanged when it is within the stored range; else ValidationError naming `field`. */
export function checkDateRange(field: string, date: Date): Date {
  if (!inDateRange(date.getTime())) {
    const shown = Number.isNaN(date.getTime()) ? "Invalid Date" : date.toISOString();
    throw new ValidationError(field, `${shown} is outside the supported range 0001-01-01 to 9999-12-31 (UTC)`, date);
  }
  return date;
}
