import type { IrCron } from "../schema/entities/IrCron";
import type { Schedule } from ".";

/**
 * The schedule of a cron: its cron expression when set, else its interval;
 * in the cron's own time zone, else its user's, else UTC.
 */
export function scheduleOf(cron: Pick<IrCron, "cronExpression" | "intervalNumber" | "intervalType" | "tz">, userTz: string | null): Schedule {
  const timeZone = cron.tz ?? userTz ?? "UTC";
  if (cron.cronExpression) return { kind: "cron", expression: cron.cronExpression, timeZone };
  return { kind: "interval", intervalType: cron.intervalType, intervalNumber: cron.intervalNumber, timeZone };
}
