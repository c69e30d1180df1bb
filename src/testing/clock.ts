import { checkDateRange } from "../core/dateRange";
import { ValidationError } from "../core/errors";
import { optionKeys } from "../core/options";
import { checkDate, checkInt, checkOptions, describe } from "../core/validate";

/**
 * A length of time for {@link TestClock.advance}: the parts are added up
 * (`{ minutes: 1, seconds: 30 }` is 90 s). A day is 24 hours: the clock
 * counts instants, so a daylight-saving change does not stretch it.
 */
export interface Duration {
  readonly days?: number;
  readonly hours?: number;
  readonly minutes?: number;
  readonly seconds?: number;
  readonly milliseconds?: number;
}

const DURATION_MS: Readonly<Record<keyof Duration, number>> = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
  milliseconds: 1,
};
const DURATION_KEYS = optionKeys<Duration>({
  days: true,
  hours: true,
  minutes: true,
  seconds: true,
  milliseconds: true,
});

/**
 * A clock that moves only when the test moves it. Pass `clock.now` as the
 * `now` option of `HrpCronJobService`, `JobQueue`, `Scheduler` and
 * `drain`: due times are then computed from it, and a job 30 s away is run
 * by the drain after `clock.advance({ seconds: 30 })` — no sleeping, no
 * fake timers.
 */
export interface TestClock {
  /** The clock's time (a new Date each call). A plain function: pass it as `now: clock.now`. */
  readonly now: () => Date;
  /** Moves the clock forward by `by` (milliseconds, or a {@link Duration}) and returns the new time. @throws ValidationError for a negative or non-integer amount */
  advance(by: number | Duration): Date;
  /** Moves the clock to `at` (a Date or an ISO-8601 string with a zone), forward or back, and returns it. */
  set(at: Date | string): Date;
  /** The time `by` from now on this clock, without moving it (`runAt` to expect of a job delayed by `by`). */
  in(by: number | Duration): Date;
}

/**
 * A {@link TestClock} starting at `start`.
 *
 * An application that computes due times from the real clock
 * (`new Date(Date.now() + 30_000)`) can still be tested: start the clock at
 * the real time (the default) and advance it past the due time.
 *
 * ```ts
 * const clock = testClock("2026-03-02T09:00:00Z");
 * const service = new HrpCronJobService(dataSource, { registry, now: clock.now });
 * clock.advance({ seconds: 30 });
 * await drain(dataSource, registry, { now: clock.now });
 * ```
 * @defaultValue start: the real time now
 * @throws ValidationError for a start that is not a valid Date or ISO-8601 string with a zone
 */
export function testClock(start: Date | string = new Date()): TestClock {
  let current = checkDate("start", start).getTime();
  const move = (field: string, ms: number): Date => {
    current = checkDateRange(field, new Date(ms)).getTime();
    return new Date(current);
  };
  return Object.freeze({
    now: () => new Date(current),
    advance: (by: number | Duration) => move("advance", current + durationMs("advance", by)),
    set: (at: Date | string) => move("set", checkDate("at", at).getTime()),
    in: (by: number | Duration) => checkDateRange("in", new Date(current + durationMs("in", by))),
  });
}

/** Milliseconds of `by`: a whole number of ms, or a {@link Duration} of whole parts, not negative. */
function durationMs(field: string, by: number | Duration): number {
  if (typeof by === "number") return checkInt(field, by, 0, Number.MAX_SAFE_INTEGER);
  if (typeof by !== "object" || by === null)
    throw new ValidationError(
      field,
      `expected milliseconds or a duration such as { seconds: 30 }, got ${describe(by)}`,
      by,
    );
  const parts = checkOptions(field, by, DURATION_KEYS);
  let ms = 0;
  for (const key of DURATION_KEYS) {
    const value = parts[key];
    if (value !== undefined) ms += checkInt(`${field}.${key}`, value, 0, Number.MAX_SAFE_INTEGER) * DURATION_MS[key];
  }
  if (!Number.isSafeInteger(ms)) throw new ValidationError(field, "is too long a duration", by);
  return ms;
}
