import { ValidationError } from "../core/errors";
import { validateCronExpression } from "./cronExpression";

/** Frappe's scheduler event names (hooks.py `scheduler_events`). */
export const EVENT_NAMES = [
  "all",
  "hourly",
  "daily",
  "weekly",
  "monthly",
  "yearly",
  "hourly_long",
  "daily_long",
  "weekly_long",
  "monthly_long",
  "yearly_long",
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Frequencies of a Scheduled Job Type (Frappe's names). */
export const FREQUENCIES = [
  "All",
  "Hourly",
  "Daily",
  "Weekly",
  "Monthly",
  "Yearly",
  "Hourly Long",
  "Daily Long",
  "Weekly Long",
  "Monthly Long",
  "Yearly Long",
  "Cron",
] as const;
export type Frequency = (typeof FREQUENCIES)[number];

const EXPRESSIONS: Record<string, string> = {
  Hourly: "0 * * * *",
  Daily: "0 0 * * *",
  Weekly: "0 0 * * 0",
  Monthly: "0 0 1 * *",
  Yearly: "0 0 1 1 *",
};

/** `hourly_long` -> `Hourly Long`. */
export function frequencyOfEvent(event: EventName): Frequency {
  const [base, long] = event.split("_");
  return `${base[0].toUpperCase()}${base.slice(1)}${long ? " Long" : ""}` as Frequency;
}

/** The queue a frequency goes to: `long` for the `... Long` ones, else the given default. */
export function queueOfFrequency(frequency: Frequency, fallback = "default"): string {
  return frequency.endsWith(" Long") ? "long" : fallback;
}

/**
 * The cron expression a frequency stands for. `All` runs every
 * `allIntervalMinutes` (Frappe's `scheduler_interval`, default 4).
 * @throws ValidationError for an unknown frequency or a bad cron format
 */
export function expressionOf(
  frequency: string,
  cronFormat: string | null,
  allIntervalMinutes: number,
  timeZone = "UTC",
): string {
  if (!(FREQUENCIES as readonly string[]).includes(frequency)) {
    throw new ValidationError("frequency", `must be one of ${FREQUENCIES.join(", ")}`, frequency);
  }
  if (frequency === "Cron") {
    if (!cronFormat)
      throw new ValidationError(
        "cron_format",
        'a Cron frequency needs a cron expression such as "0 2 * * *"',
        cronFormat,
      );
    validateCronExpression(cronFormat, timeZone);
    return cronFormat;
  }
  if (frequency === "All") return allIntervalMinutes === 1 ? "* * * * *" : `*/${allIntervalMinutes} * * * *`;
  return EXPRESSIONS[frequency.replace(" Long", "")];
}
