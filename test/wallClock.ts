/**
 * Test-only tools for the schedule oracles: a seeded PRNG and wall-clock
 * conversions done with the platform's Intl API directly (independent of
 * luxon and of src/schedule).
 */

/** mulberry32: a tiny seeded PRNG, so every failing case can be replayed from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}
export type Prng = ReturnType<typeof prng>;

/** Zones with 30/45-minute offsets, half-hour DST, southern-hemisphere DST, no DST. */
export const ORACLE_ZONES = [
  "Pacific/Chatham",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
  "America/St_Johns",
  "Europe/Berlin",
  "America/New_York",
  "Asia/Shanghai",
  "UTC",
] as const;

/** Local wall-clock fields of an instant. */
export interface Local {
  readonly y: number;
  readonly mo: number; // 1-12
  readonly d: number;
  readonly h: number;
  readonly mi: number;
  readonly s: number;
  /** Day of the week, 0 = Sunday. */
  readonly dow: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Converts instants to wall-clock fields in one zone, with Intl. */
export class IntlClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly zone: string) {
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  local(t: number): Local {
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(t)) parts[p.type] = p.value;
    return {
      y: +parts.year,
      mo: +parts.month,
      d: +parts.day,
      h: +parts.hour,
      mi: +parts.minute,
      s: +parts.second,
      dow: WEEKDAYS.indexOf(parts.weekday),
    };
  }

  /** Wall-clock time of `t` encoded as UTC milliseconds ("naive"). */
  naive(t: number): number {
    const l = this.local(t);
    return Date.UTC(l.y, l.mo - 1, l.d, l.h, l.mi, l.s);
  }

  /** UTC offset at `t`, ms. */
  offset(t: number): number {
    return this.naive(t) - Math.floor(t / 1000) * 1000;
  }

  /**
   * Instant of a wall-clock time by search: every instant whose wall clock
   * reads `naive` (offsets seen a day either side); the earlier of two; in a
   * gap, read with the offset of the day before (moved forward by the gap).
   */
  instantOf(naive: number): number {
    const offsets = new Set([this.offset(naive - 86_400_000), this.offset(naive), this.offset(naive + 86_400_000)]);
    const valid = [...offsets]
      .map((o) => naive - o)
      .filter((t) => this.naive(t) === naive)
      .sort((a, b) => a - b);
    return valid.length > 0 ? valid[0] : naive - this.offset(naive - 86_400_000);
  }
}

/** Offset changes of a zone in 2024-2032, found with Intl (daily scan, then minute bisection). */
export function offsetChanges(clock: IntlClock): number[] {
  const out: number[] = [];
  let t = Date.UTC(2024, 0, 1);
  let before = clock.offset(t);
  for (; t < Date.UTC(2032, 0, 1); t += 86_400_000) {
    const after = clock.offset(t + 86_400_000);
    if (after === before) continue;
    let lo = t;
    let hi = t + 86_400_000;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 2 / 60_000) * 60_000;
      if (clock.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    out.push(hi);
    before = after;
  }
  return out;
}

export const iso = (t: number | null | undefined) =>
  t === null || t === undefined ? String(t) : new Date(t).toISOString();
