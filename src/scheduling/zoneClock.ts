import { Info, type Zone } from "luxon";
import { ValidationError } from "../core/errors";

const HOUR_MS = 3_600_000;
/** Probe spacing when looking for offset changes: two changes closer than this that cancel out are not seen (none exist in the tz database's current rules). */
const PROBE_MS = 12 * HOUR_MS;
/** Beyond this a Date cannot hold the time (with room for offsets). */
const MAX_MS = 8.64e15 - 2 * 86_400_000;

/** An offset change of a zone: at instant `at` the UTC offset goes from `before` to `after` (ms). */
export interface Transition {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/**
 * Wall-clock arithmetic in one time zone, on epoch milliseconds.
 *
 * A "naive" time is a local wall-clock time encoded as if it were UTC
 * (`Date.UTC(y, m, d, h, mi, s)`), so calendar fields can be read and
 * stepped with the `getUTC*` methods whatever the zone. Converting a naive
 * time back to an instant follows RFC 5545 and Temporal's `"compatible"`
 * disambiguation: a wall time that occurs twice (clocks set back) is the
 * earlier instant; one that does not occur (clocks set forward) is read with
 * the offset in force before the gap, i.e. moved forward by the gap's length
 * (02:30 on a day that skips 02:00-03:00 is 03:30).
 *
 * Offsets come from the platform's tz database (through luxon's zone
 * objects); zones with 30/45-minute offsets and historical second-level
 * offsets (LMT) work the same way.
 */
export class ZoneClock {
  private constructor(
    private readonly zone: Zone,
    /** Name as given. */
    readonly name: string,
  ) {}

  /** @throws ValidationError (field `tz`) for an unknown zone */
  static of(name: string): ZoneClock {
    const zone = typeof name === "string" ? Info.normalizeZone(name) : null;
    if (!zone || !zone.isValid) {
      throw new ValidationError(
        "tz",
        `unknown time zone "${String(name)}"; use an IANA name such as "Asia/Shanghai" or "UTC"`,
        name,
      );
    }
    return new ZoneClock(zone, name);
  }

  /** UTC offset at instant `t`, in ms (positive east of Greenwich). */
  offsetMs(t: number): number {
    return Math.round(this.zone.offset(t) * 60_000);
  }

  /** The naive (wall-clock) time of instant `t`. */
  toNaive(t: number): number {
    return t + this.offsetMs(t);
  }

  /**
   * The first offset change in `(a, b]`, or null. Fixed-offset zones never
   * change; others are probed every 12 hours and the change is then located
   * to the millisecond by bisection.
   */
  nextTransition(a: number, b: number): Transition | null {
    if (this.zone.isUniversal || !(b > a) || !(Math.abs(a) < MAX_MS && Math.abs(b) < MAX_MS)) return null;
    const before = this.offsetMs(a);
    let lo = a;
    for (;;) {
      const hi = Math.min(lo + PROBE_MS, b);
      const after = this.offsetMs(hi);
      if (after !== before) return this.bisect(lo, hi, before);
      if (hi >= b) return null;
      lo = hi;
    }
  }

  /** The last offset change in `(t - lookbackMs, t]`, or null. */
  lastTransition(t: number, lookbackMs: number): Transition | null {
    if (this.zone.isUniversal) return null;
    const start = t - lookbackMs;
    const first = this.nextTransition(start, t);
    if (!first) return null;
    let last = first;
    for (let next = this.nextTransition(last.at, t); next; next = this.nextTransition(last.at, t)) last = next;
    return last;
  }

  /**
   * The instant of naive wall-clock time `naive`: the earlier one when it
   * occurs twice, moved forward by the gap when it does not occur.
   */
  toInstant(naive: number): number {
    if (!(Math.abs(naive) < MAX_MS)) return NaN;
    // Offsets lie within -12 h .. +14 h, so the instant is within [naive - 14 h, naive + 12 h].
    const lo = naive - 15 * HOUR_MS;
    const hi = naive + 13 * HOUR_MS;
    const change = this.nextTransition(lo, hi);
    if (!change) return naive - this.offsetMs(lo);
    const early = naive - change.before; // valid when before the change
    const late = naive - change.after; // valid when at or after it
    if (early < change.at) return early; // single (before the change) or the earlier of a repeated time
    if (late >= change.at) return late;
    return early; // in the gap: read with the offset before it
  }

  private bisect(lo: number, hi: number, before: number): Transition {
    // Invariant: offset(lo) === before, offset(hi) !== before.
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.offsetMs(mid) === before) lo = mid;
      else hi = mid;
    }
    return { at: hi, before, after: this.offsetMs(hi) };
  }
}
