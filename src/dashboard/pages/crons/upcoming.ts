import { DEFAULTS } from "../../../core/options";
import type { IrCron } from "../../../schema/entities/IrCron";
import type { ScheduledJobType } from "../../../schema/entities/ScheduledJobType";
import { nextCronOccurrence, nextOccurrence, type Schedule } from "../../../scheduling";
import { scheduleOf } from "../../../scheduling/cronSchedule";
import { expressionOf } from "../../../scheduling/frequencies";

/**
 * The runs a schedule plans in a window (the next 24 hours), computed with
 * the scheduler's own maths (src/scheduling) from an explicit clock, as the
 * worker and the scheduler would: a cron's first run is its `nextcall`
 * (due at once when it is past; a triggered cron resumes from its planned
 * call), the following ones the schedule's occurrences after it; a type's
 * first run is the first occurrence after its last execution (at once
 * when that is past: missed periods collapse), then its expression's.
 */

/** Planned runs: the first `shown` of them, and how many the window holds (up to `countCap`). */
export interface Upcoming {
  readonly times: readonly Date[];
  readonly total: number;
  /** The window holds more than `countCap` runs. */
  readonly more: boolean;
}

const SHOWN = 24;
const COUNT_CAP = 1500;

/** A recurring cron's runs from `now` to `now + windowMs`: none when it is inactive or out of calls. */
export function upcomingCronRuns(cron: IrCron, userTz: string | null, now: Date, windowMs: number): Upcoming {
  if (!cron.active || cron.numbercall === 0) return { times: [], total: 0, more: false };
  const schedule = scheduleOf(cron, userTz);
  const first = cron.nextcall < now ? now : cron.nextcall;
  // The run after the first resumes from the planned call (a triggered cron), keeping the schedule's phase.
  const anchor = cron.plannedNextcall ?? cron.nextcall;
  const after = (at: Date) =>
    schedule.kind === "cron"
      ? nextCronOccurrence(schedule.expression, at, schedule.timeZone)
      : nextOf(schedule, anchor, at);
  const limit = cron.numbercall > 0 ? cron.numbercall : Infinity;
  return walk(first, after, now, windowMs, limit, cron.plannedNextcall ?? undefined);
}

/** A Scheduled Job Type's runs from `now` to `now + windowMs`: none when it is stopped. */
export function upcomingTypeRuns(
  type: ScheduledJobType,
  now: Date,
  windowMs: number,
  allMinutes = DEFAULTS.schedulerIntervalMinutes,
): Upcoming {
  if (type.stopped) return { times: [], total: 0, more: false };
  const tz = type.tz ?? "UTC";
  const expression = expressionOf(type.frequency, type.cronFormat, allMinutes, tz);
  const due = nextCronOccurrence(expression, type.lastExecution ?? type.createDate, tz);
  const after = (at: Date) => nextCronOccurrence(expression, at, tz);
  return walk(due < now ? now : due, after, now, windowMs, Infinity);
}

/** The next run of a type (`Scheduler.nextRunAt`): the first occurrence after its last execution, or its creation. */
export function typeNextRun(type: ScheduledJobType, allMinutes = DEFAULTS.schedulerIntervalMinutes): Date {
  const tz = type.tz ?? "UTC";
  return nextCronOccurrence(
    expressionOf(type.frequency, type.cronFormat, allMinutes, tz),
    type.lastExecution ?? type.createDate,
    tz,
  );
}

function nextOf(schedule: Schedule, anchor: Date, at: Date): Date {
  return nextOccurrence(schedule, anchor, at);
}

function walk(
  first: Date,
  after: (at: Date) => Date,
  now: Date,
  windowMs: number,
  limit: number,
  resumeAt?: Date,
): Upcoming {
  const end = now.getTime() + windowMs;
  const times: Date[] = [];
  let total = 0;
  let at: Date | null = first;
  while (at !== null && at.getTime() <= end && total < Math.min(limit, COUNT_CAP)) {
    if (times.length < SHOWN) times.push(at);
    total++;
    // After a triggered run the schedule resumes at its planned call.
    const next: Date = total === 1 && resumeAt && resumeAt > at ? resumeAt : after(at);
    at = next.getTime() > at.getTime() ? next : null;
  }
  return { times, total, more: at !== null && at.getTime() <= end && total >= COUNT_CAP };
}
