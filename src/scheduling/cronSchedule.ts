import type { IntervalType } from "./interval";
import type { Schedule } from "./schedule";

/** The schedule columns of an `ir_cron` row. */
export interface CronScheduleColumns {
  readonly cronExpression: string | null;
  readonly intervalNumber: number;
  readonly intervalType: IntervalType;
  readonly tz: string | null;
}

/**
 * The schedule of a cron: its cron expression when set, else its interval;
 * in the cron's own time zone, else its user's, else UTC.
 */
export function scheduleOf(cron: CronScheduleColumns, userTz: string | null): Schedule {
  const timeZone = cron.tz ?? userTz ?? "UTC";
  if (cron.cronExpression) return { kind: "cron", expression: cron.cronExpression, timeZone };
  return { kind: "interval", intervalType: cron.intervalType, intervalNumber: cron.intervalNumber, timeZone };
}
