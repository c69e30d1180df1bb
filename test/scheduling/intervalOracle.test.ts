/**
 * Calendar intervals (days, weeks, months, work_days) against a wall-clock
 * oracle across DST changes, over seeded random zones, starts and steps:
 * the oracle plans each occurrence on the calendar (date arithmetic, month
 * clamping that carries, weekdays counted one by one) and finds its instant
 * with Intl (the earlier of a repeated time; a skipped time read with the
 * offset before the gap). No database, explicit dates only.
 */
import { computeCatchUp, stepPlan, type CalendarIntervalType, type Schedule } from "../../src";
import { IntlClock, ORACLE_ZONES, iso, offsetChanges, prng, type Prng } from "../wallClock";

const DAY = 86_400_000;
const SEED = Number(process.env.CASE_SEED ?? 20261123);
const STEPS = 14;

/** The oracle's planned wall-clock times: `STEPS + 1` plans from `plan0`, walked one interval at a time. */
function oraclePlans(plan0: number, type: CalendarIntervalType, n: number): number[] {
  const plans = [plan0];
  const time = ((plan0 % DAY) + DAY) % DAY;
  let d = new Date(plan0 - time);
  let dayOfMonth = d.getUTCDate();
  for (let k = 1; k <= STEPS; k++) {
    if (type === "days") d = new Date(d.getTime() + n * DAY);
    if (type === "weeks") d = new Date(d.getTime() + 7 * n * DAY);
    if (type === "work_days") {
      for (let left = n; left > 0;) {
        d = new Date(d.getTime() + DAY);
        if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) left--;
      }
    }
    if (type === "months") {
      const month = d.getUTCMonth() + n;
      const last = new Date(Date.UTC(d.getUTCFullYear(), month + 1, 0)).getUTCDate();
      dayOfMonth = Math.min(dayOfMonth, last); // the clamp carries (Jan 31, Feb 28, Mar 28)
      d = new Date(Date.UTC(d.getUTCFullYear(), month, dayOfMonth));
    }
    plans.push(d.getTime() + time);
  }
  return plans;
}

interface Case {
  readonly zone: string;
  readonly type: CalendarIntervalType;
  readonly n: number;
  readonly plan0: number;
}

/** A start a few steps before one of the zone's offset changes, often at a wall time the change skips or repeats. */
function randomCase(r: Prng, clock: IntlClock, changes: readonly number[]): Case {
  const type = r.pick(["days", "weeks", "months", "work_days"] as const);
  const n = type === "months" ? r.pick([1, 1, 2, 3, 12]) : type === "weeks" ? r.int(1, 2) : r.int(1, 4);
  const around = changes.length > 0 ? r.pick(changes) : Date.UTC(2024, 0, 1) + r.int(0, 8 * 365) * DAY;
  const wallAtChange = clock.naive(around);
  const timeOfDay = r.chance(0.6)
    ? (wallAtChange % DAY) - r.int(0, 8) * 15 * 60_000
    : r.int(0, 24 * 4 - 1) * 15 * 60_000;
  const stepsBefore = r.int(0, 3) * (type === "months" ? 31 : type === "weeks" ? 7 : 1) * n;
  const date = Math.floor(wallAtChange / DAY) * DAY - stepsBefore * DAY;
  return { zone: clock.zone, type, n, plan0: date + (((timeOfDay % DAY) + DAY) % DAY) };
}

describe("calendar intervals against a wall-clock oracle", () => {
  const clocks = new Map(ORACLE_ZONES.map((zone) => [zone, new IntlClock(zone)]));
  const changes = new Map(ORACLE_ZONES.map((zone) => [zone, offsetChanges(clocks.get(zone)!)]));

  it("run after run, by jumping, and in closed form agree with the oracle for 600 random cases", () => {
    const r = prng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 600 && failures.length < 10; i++) {
      const zone = r.pick(ORACLE_ZONES);
      const clock = clocks.get(zone)!;
      const c = randomCase(r, clock, changes.get(zone)!);
      const plans = oraclePlans(c.plan0, c.type, c.n);
      const expected = plans.map((plan) => clock.instantOf(plan));
      if (clock.naive(expected[0]) !== c.plan0) continue; // a start must be a time that exists (it is given as an instant)
      const schedule: Schedule = { kind: "interval", intervalType: c.type, intervalNumber: c.n, timeZone: c.zone };
      const label = `#${i} every ${c.n} ${c.type} in ${c.zone} from ${new Date(c.plan0).toISOString().slice(0, 16)} (wall)`;

      // 1. Run after run, as the dispatcher does: nextcall and its planned wall time are stored and passed back.
      let nextcall = new Date(expected[0]);
      let planned: string | undefined;
      for (let k = 1; k <= STEPS; k++) {
        const step = computeCatchUp(schedule, nextcall, nextcall, undefined, planned ?? null);
        if (step.missed !== 1 || step.nextcall.getTime() !== expected[k]) {
          failures.push(`${label}: run ${k} at ${iso(step.nextcall.getTime())}, oracle ${iso(expected[k])}`);
          break;
        }
        ({ nextcall, planned } = step);
      }
      // 2. Catch-up by jumping from the start equals walking.
      const k = r.int(0, STEPS - 1);
      const now = expected[k] + r.int(0, Math.max(0, expected[k + 1] - expected[k] - 1));
      const jump = computeCatchUp(schedule, new Date(expected[0]), new Date(now));
      if (jump.missed !== k + 1 || jump.nextcall.getTime() !== expected[k + 1]) {
        failures.push(
          `${label}: catch-up to ${iso(now)} gave ${jump.missed} missed, next ${iso(jump.nextcall.getTime())}; oracle ${k + 1}, ${iso(expected[k + 1])}`,
        );
      }
      // 3. The closed form equals the oracle's walk, plan by plan.
      for (let j = 0; j <= STEPS; j++) {
        if (stepPlan(c.plan0, c.type, c.n, j) !== plans[j]) {
          failures.push(`${label}: plan ${j} ${iso(stepPlan(c.plan0, c.type, c.n, j))}, oracle ${iso(plans[j])}`);
          break;
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("the closed form equals single steps far out, month-end clamps included", () => {
    const r = prng(SEED + 1);
    for (let i = 0; i < 300; i++) {
      const type = r.pick(["days", "weeks", "months", "work_days"] as const);
      const n = r.int(1, 13);
      const plan0 = Date.UTC(
        r.int(1, 9000),
        r.int(0, 11),
        r.pick([1, 15, 28, 29, 30, 31]),
        r.int(0, 23),
        r.pick([0, 30, 59]),
      );
      const k = r.int(1, 400);
      let walked = plan0;
      for (let j = 0; j < k; j++) walked = stepPlan(walked, type, n, 1);
      // Months: the clamp carries, so k single steps are compared with the oracle's walk of the same start.
      const expected = type === "months" ? oracleMonths(plan0, n, k) : walked;
      expect([type, n, iso(plan0), k, iso(stepPlan(plan0, type, n, k))]).toEqual([
        type,
        n,
        iso(plan0),
        k,
        iso(expected),
      ]);
      if (type !== "months") expect(iso(walked)).toBe(iso(expected));
    }
  });
});

function oracleMonths(plan0: number, n: number, k: number): number {
  const time = ((plan0 % DAY) + DAY) % DAY;
  const d0 = new Date(plan0 - time);
  let day = d0.getUTCDate();
  let month = d0.getUTCFullYear() * 12 + d0.getUTCMonth();
  for (let j = 0; j < k; j++) {
    month += n;
    const last = new Date(0);
    last.setUTCFullYear(Math.floor(month / 12), (month % 12) + 1, 0);
    day = Math.min(day, last.getUTCDate());
  }
  const out = new Date(0);
  out.setUTCFullYear(Math.floor(month / 12), month % 12, day);
  return out.getTime() + time;
}
