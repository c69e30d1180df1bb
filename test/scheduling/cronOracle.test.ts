/**
 * Cron expressions cross-checked against two independent implementations,
 * over thousands of seeded random expressions, zones and start instants
 * (no database, no clock: explicit dates only):
 *
 * 1. a brute-force wall-clock oracle: walk minute by minute, read each
 *    instant's wall clock with Intl, match the fields (its own tiny parser);
 *    fixed-time expressions run once in a repeated hour and shifted by the
 *    gap in a skipped one — the rules the README states;
 * 2. croner (a dev dependency), with the accepted differences listed in
 *    ACCEPTED below and in docs/ARCHITECTURE.md ("Schedule maths").
 *
 * A failure prints the seed, expression, zone and start: replay it with
 * `CASE_SEED=<seed>`.
 */
import { Cron } from "croner";
import { nextCronOccurrence } from "../../src";
import { IntlClock, ORACLE_ZONES, iso, offsetChanges, prng, type Prng } from "../wallClock";

const MINUTE = 60_000;
const SEED = Number(process.env.CASE_SEED ?? 20261122);

// ---------------------------------------------------------------------------
// Random expressions (5 fields; some 6-field ones for the croner comparison).

function field(r: Prng, min: number, max: number, hot: readonly number[]): string {
  const v = () => (r.chance(0.5) ? r.pick(hot) : r.int(min, max));
  switch (r.int(0, 6)) {
    case 0:
      return "*";
    case 1:
      return `*/${r.pick([2, 3, 5, 7, 10, 15, 20, 30, 45].filter((s) => s <= max - min + 1))}`;
    case 2: {
      const a = v();
      return `${a},${r.chance(0.5) ? a : v()}`; // duplicates are valid
    }
    case 3: {
      const a = r.int(min, max);
      const b = r.int(a, max);
      return r.chance(0.3) ? `${a}-${b},${b}` : `${a}-${b}`;
    }
    case 4: {
      const a = r.int(min, max);
      return `${a}-${r.int(a, max)}/${r.int(1, 5)}`;
    }
    default:
      return String(v());
  }
}

function randomExpression(r: Prng, seconds: boolean): string {
  const minute = field(r, 0, 59, [0, 15, 30, 45, 57, 59]);
  // Hours 0-4 hold most DST changes (Chatham changes at 02:45/03:45 local).
  const hour = r.chance(0.3) ? "*" : field(r, 0, 23, [0, 1, 2, 3, 4]);
  const dom = r.chance(0.75) ? "*" : r.pick(["1", "15", "28-31", "L", "1,15", `${r.int(1, 31)}`]);
  const month = r.chance(0.9) ? "*" : `${r.int(1, 12)},${r.int(1, 12)}`;
  const dow = r.chance(0.7) ? "*" : r.pick(["1-5", "0,7", "1-5,5", "0", "6", "0-6", `${r.int(0, 7)}`]);
  const five = `${minute} ${hour} ${dom} ${month} ${dow}`;
  return seconds ? `${r.pick(["0", "30", "*/20", "15,45"])} ${five}` : five;
}

/** A start instant: half of them within 6 or 36 h of one of the zone's offset changes. */
function randomStart(r: Prng, changes: readonly number[]): number {
  const hours = r.chance(0.5) ? 6 : 36;
  if (changes.length > 0 && r.chance(0.5))
    return r.pick(changes) + r.int(-hours * 60, hours * 60) * MINUTE + r.int(0, 59_999);
  return Date.UTC(2024, 0, 1) + r.int(0, 8 * 365 * 24 * 60) * MINUTE + r.int(0, 59) * 1000;
}

// ---------------------------------------------------------------------------
// The brute-force oracle.

interface OracleFields {
  readonly sets: readonly (readonly boolean[])[]; // minute, hour, dom, month, dow
  readonly lastDay: boolean;
  readonly domStar: boolean;
  readonly dowStar: boolean;
  readonly fixed: boolean;
}

function oracleParse(expression: string): OracleFields {
  const [minute, hour, dom, month, dow] = expression.split(" ");
  const set = (text: string, min: number, max: number, top = max) => {
    const table = new Array<boolean>(max + 1).fill(false);
    for (const item of text.split(",")) {
      if (item === "L") continue;
      const [range, step] = item.split("/");
      const [a, b] = range === "*" ? [min, top] : range.split("-").map(Number);
      const end = b ?? (step ? top : a);
      for (let v = a; v <= end; v += Number(step ?? 1)) table[v] = true;
    }
    return table;
  };
  const weekdays = set(dow, 0, 7, 6);
  if (weekdays[7]) weekdays[0] = true;
  return {
    sets: [set(minute, 0, 59), set(hour, 0, 23), set(dom, 1, 31), set(month, 1, 12), weekdays],
    lastDay: dom.split(",").includes("L"),
    domStar: dom === "*",
    dowStar: dow === "*",
    fixed: !/[*/]/.test(minute) && !/[*/]/.test(hour),
  };
}

function oracleMatch(f: OracleFields, naive: number): boolean {
  const d = new Date(naive);
  const [minutes, hours, days, months, weekdays] = f.sets;
  if (!minutes[d.getUTCMinutes()] || !hours[d.getUTCHours()] || !months[d.getUTCMonth() + 1]) return false;
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const dom = days[d.getUTCDate()] || (f.lastDay && d.getUTCDate() === last);
  const dow = weekdays[d.getUTCDay()];
  if (f.domStar && f.dowStar) return true;
  if (f.domStar) return dow;
  if (f.dowStar) return dom;
  return dom || dow;
}

/**
 * Wall clock of minute `t`. Shortcut: when the offset is the same at both
 * ends of `t`'s UTC hour, it is the same inside it (offsets never change
 * twice within an hour); otherwise ask Intl for this very minute.
 */
function wallOf(clock: IntlClock, t: number, hourly: Map<number, number>): number {
  const h0 = Math.floor(t / 3_600_000) * 3_600_000;
  const offsetAt = (h: number) => hourly.get(h) ?? hourly.set(h, clock.offset(h)).get(h)!;
  return offsetAt(h0) === offsetAt(h0 + 3_600_000) ? t + offsetAt(h0) : clock.naive(t);
}

/** First firing strictly after `after` within `horizon` minutes, or null. */
function oracleNext(expression: string, clock: IntlClock, after: number, horizon: number): number | null {
  const f = oracleParse(expression);
  const hourly = new Map<number, number>();
  // Start two hours early: a gap just before `after` may have moved skipped times past it.
  let t = (Math.floor(after / MINUTE) + 1) * MINUTE - 120 * MINUTE;
  let previous = wallOf(clock, t - MINUTE, hourly);
  let best: number | null = null;
  const take = (candidate: number) => {
    if (candidate > after && (best === null || candidate < best)) best = candidate;
  };
  for (let i = 0; i < horizon + 120; i++, t += MINUTE) {
    const wall = wallOf(clock, t, hourly);
    if (f.fixed && wall - previous > MINUTE) {
      // Clocks jumped forward: skipped wall times of a fixed-time expression run shifted by the gap.
      for (let skipped = previous + MINUTE; skipped < wall; skipped += MINUTE) {
        if (oracleMatch(f, skipped)) take(t - MINUTE + (skipped - previous));
      }
    }
    // A fixed time that already occurred (clocks set back) does not run again.
    const repeat = f.fixed && [30, 60, 120].some((m) => wallOf(clock, t - m * MINUTE, hourly) === wall);
    if (oracleMatch(f, wall) && !repeat) take(t);
    if (best !== null && best <= t) return best;
    previous = wall;
  }
  return best;
}

// ---------------------------------------------------------------------------

const clocks = new Map(ORACLE_ZONES.map((zone) => [zone, new IntlClock(zone)]));
const changes = new Map(ORACLE_ZONES.map((zone) => [zone, offsetChanges(clocks.get(zone)!)]));

describe("cron expressions against a brute-force wall-clock oracle", () => {
  it.each([
    ["30 2 * * *", "Europe/Berlin", "2028-10-28T12:00:00Z"], // 02:30 occurs twice: runs once
    ["57 1,2 * * *", "Europe/Berlin", "2028-10-28T23:00:00Z"],
    ["30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z"], // 02:30 skipped: runs at 03:30
    ["57 * * * *", "Pacific/Chatham", "2029-03-31T00:00:00Z"], // cron-parser: loop limit exceeded
    ["* 3 * * *", "Pacific/Chatham", "2029-09-29T13:00:00Z"], // 03:45-03:59 exist on the change day
    ["0 3 * * *", "Pacific/Chatham", "2029-09-29T00:00:00Z"], // 03:00 skipped: runs at 04:00
    ["15 2 * * *", "Australia/Lord_Howe", "2024-10-05T00:00:00Z"], // a 30-minute gap
    ["0 9 * * 0,7", "Asia/Kolkata", "2026-01-01T00:00:00Z"], // duplicate weekday (0 and 7 are Sunday)
    ["0 9 * * 1-5,5", "America/St_Johns", "2026-03-06T00:00:00Z"],
  ])("%s in %s from %s: five runs as the oracle says", (expression, zone, from) => {
    let after = Date.parse(from);
    const runs: string[] = [];
    const oracle: string[] = [];
    for (let k = 0; k < 5; k++) {
      oracle.push(iso(oracleNext(expression, clocks.get(zone as (typeof ORACLE_ZONES)[number])!, after, 8 * 24 * 60)));
      const next = nextCronOccurrence(expression, new Date(after), zone).getTime();
      runs.push(iso(next));
      after = next;
    }
    expect(runs).toEqual(oracle);
  });

  it("agree on three successive runs for 2000 random expressions, zones and starts", () => {
    const r = prng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const zone = r.pick(ORACLE_ZONES);
      const expression = randomExpression(r, false);
      let after = randomStart(r, changes.get(zone)!);
      const horizon = 3 * 24 * 60;
      for (let k = 0; k < 3; k++) {
        const expected = oracleNext(expression, clocks.get(zone)!, after, horizon);
        const actual = nextCronOccurrence(expression, new Date(after), zone).getTime();
        const ok = expected === null ? actual > after + horizon * MINUTE - MINUTE : actual === expected;
        if (!ok)
          failures.push(
            `#${i}.${k} "${expression}" ${zone} after ${iso(after)}: oracle ${iso(expected)}, got ${iso(actual)}`,
          );
        if (!ok || expected === null) break;
        after = actual;
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});

describe("cron expressions against croner", () => {
  /**
   * Accepted differences (also in docs/ARCHITECTURE.md):
   * - a fixed time the zone skips: croner runs it when the gap ends (03:00
   *   for 02:30 in New York); hrp-cron moves it forward by the gap (03:30),
   *   as RFC 5545 and Temporal do, and as its intervals do.
   */
  const gapEnd = (clock: IntlClock, at: number) => clock.offset(at - MINUTE) < clock.offset(at);

  it("agree on five successive runs for 4000 random cases", () => {
    const r = prng(SEED + 1);
    const failures: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      const zone = r.pick(ORACLE_ZONES);
      const expression = randomExpression(r, r.chance(0.2));
      const start = randomStart(r, changes.get(zone)!);
      const cron = new Cron(expression, { timezone: zone, paused: true, fixedTimeRule: "no-wildcard" });
      let after = start;
      for (let k = 0; k < 5; k++) {
        const actual = nextCronOccurrence(expression, new Date(after), zone).getTime();
        const theirs = cron.nextRun(new Date(after))?.getTime() ?? null;
        if (actual === theirs) {
          after = actual;
          continue;
        }
        const clock = clocks.get(zone)!;
        if (
          theirs !== null &&
          gapEnd(clock, theirs) &&
          actual > theirs &&
          actual - theirs < clock.offset(theirs) - clock.offset(theirs - MINUTE)
        ) {
          accepted++;
        } else {
          failures.push(
            `#${i}.${k} "${expression}" ${zone} after ${iso(after)}: croner ${iso(theirs)}, got ${iso(actual)}`,
          );
        }
        break;
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(accepted).toBeGreaterThan(0); // the gap rule was exercised
  });
});
