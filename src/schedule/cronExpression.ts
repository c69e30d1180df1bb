import { CronExpressionParser } from "cron-parser";
import { ValidationError } from "../errors";
import { checkTimeZone } from "./interval";

const FIELD_COUNTS = new Set([5, 6]);

/**
 * Accepts a standard 5-field expression (`minute hour day month weekday`) or a
 * 6-field one with seconds first; aliases such as `@daily` and `@hourly` too.
 * Throws ValidationError (field `cron_expression`) with the parser's reason.
 */
export function validateCronExpression(expression: string, timeZone = "UTC"): void {
  if (typeof expression !== "string" || expression.trim() === "") {
    throw new ValidationError("cron_expression", "must be a non-empty cron expression such as \"0 2 * * *\"", expression);
  }
  const trimmed = expression.trim();
  if (!trimmed.startsWith("@") && !FIELD_COUNTS.has(trimmed.split(/\s+/).length)) {
    throw new ValidationError("cron_expression", `"${expression}" has ${trimmed.split(/\s+/).length} fields; use 5 (minute hour day month weekday) or 6 (with seconds first)`, expression);
  }
  checkTimeZone(timeZone);
  try {
    const parsed = CronExpressionParser.parse(trimmed, { tz: timeZone, currentDate: new Date(0) });
    parsed.next();
  } catch (error) {
    throw new ValidationError("cron_expression", `"${expression}" is not a valid cron expression: ${(error as Error).message}`, expression);
  }
}

/** The first occurrence of `expression` in `timeZone` strictly after `after`. */
export function nextCronOccurrence(expression: string, after: Date, timeZone = "UTC"): Date {
  validateCronExpression(expression, timeZone);
  const parsed = CronExpressionParser.parse(expression.trim(), { tz: timeZone, currentDate: after });
  const next = parsed.next().toDate();
  // cron-parser's resolution is one second; never return a time at or before `after`.
  return next.getTime() > after.getTime() ? next : nextCronOccurrence(expression, new Date(after.getTime() + 1000), timeZone);
}
