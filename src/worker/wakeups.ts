import { joinUsers, type WorkBand } from "../backend/processLocal";
import type { DueBand } from "../store/claims";
import { WakeableSleep } from "./wakeableSleep";

/**
 * The dispatcher loop's wake-ups: its sleep ({@link WakeableSleep}), which
 * wake-ups concern it (those naming only queues it does not serve do not
 * wake it), and what an idle dispatcher knows about where new work is, so
 * that the work a wake-up names is claimed without first looking for due
 * bands: one statement less between an enqueue's commit and its job's start.
 *
 * It knows only while
 * 1. its last full claim took nothing — nothing was due — and the earliest
 *    ready row it saw is not due yet (`nextDue`),
 * 2. every wake-up heard since named its bands: due now, without
 *    concurrency keys, in queues this dispatcher claims without a global
 *    limit, and
 * 3. every claim of named bands since drained them (took less than it
 *    asked for), and every batch since ended quietly: one-shot jobs, all
 *    done, nothing deferred — nothing a batch did made other work due.
 *
 * Anything else — a wake-up that names no band (a reconnected LISTEN, a
 * trigger, stopping), a batch that failed, retried or ran a recurring cron,
 * the poll timer — makes the next claim a full one. Work that nobody
 * announced (a claim recovered meanwhile, another process behind a pooler)
 * is found by the next full claim — after the batch of the named work, when
 * nothing else is named — or by the poll, as before.
 */
export class Wakeups {
  private readonly alarm = new WakeableSleep();
  /** Known idle until this instant (ms since epoch); null when not known idle. */
  private idleUntil: number | null = null;
  /** Bands named since the last claim began, by key. */
  private named = new Map<string, DueBand>();
  /** A wake-up that named no band (or one unusable here) arrived during the full claim in progress. */
  private blurred = false;

  constructor(
    /** Whether this dispatcher serves `queue`. */
    private readonly serves: (queue: string) => boolean,
    /** Whether it claims `queue` by bands (it serves it, without `maxConcurrency`). */
    private readonly byBands: (queue: string) => boolean,
  ) {}

  /**
   * New work due at `at` in `bands` (null: anywhere), heard at `now`: wakes
   * the loop unless all of it is in queues this dispatcher does not serve.
   */
  heard(at: Date, bands: readonly WorkBand[] | null, now: Date): void {
    const ours = bands && bands.filter((band) => this.serves(band.queue));
    if (ours?.length === 0) return;
    if (ours === null || at.getTime() > now.getTime() || ours.some((b) => b.keyed || !this.byBands(b.queue))) {
      this.wake();
      return;
    }
    // Named work is always new one-shot jobs (enqueue, runByCron): claimed from the job rows.
    for (const b of ours) {
      const key = `${b.priority}:${b.queue}`;
      const seen = this.named.get(key);
      const users = seen ? joinUsers(seen.users, b.users) : b.users;
      this.named.set(key, { source: "job", queue: b.queue, priority: b.priority, ...(users ? { users } : {}) });
    }
    this.alarm.wake();
  }

  /** Wakes the loop for something no wake-up named (stopping, a background claim ended): the next claim looks everywhere. */
  wake(): void {
    this.forget();
    this.alarm.wake();
  }

  /**
   * A batch ended and freed its slot: wakes the loop. `quiet` (one-shot
   * jobs, all done, nothing deferred) keeps what is known; else the next
   * claim looks everywhere.
   */
  batchEnded(quiet: boolean): void {
    if (quiet) this.alarm.wake();
    else this.wake();
  }

  /** Forgets earlier wake-ups of the sleep: call before looking for work (see {@link WakeableSleep}). */
  rearm(): void {
    this.alarm.rearm();
  }

  /** Sleeps until a wake-up or `ms`; after `ms` (the poll) the next claim looks everywhere. */
  async sleep(ms: number): Promise<void> {
    if (!(await this.alarm.sleep(ms))) this.forget();
  }

  /**
   * The bands the next claim may take without looking for due bands, or
   * null: a full claim, whose outcome {@link claimed} must be told. Named
   * bands are taken once.
   */
  take(now: Date): DueBand[] | null {
    const named = [...this.named.values()];
    const usable = this.idleUntil !== null && this.idleUntil > now.getTime() && named.length > 0;
    this.named = new Map();
    this.blurred = false;
    if (!usable) this.idleUntil = null;
    return usable ? named : null;
  }

  /**
   * After a full claim: it took `took` runs, and the earliest ready row was
   * due at `nextDue` (null: none). Idle when it took none and nothing
   * blurred the picture meanwhile.
   */
  claimed(took: number, nextDue: Date | null): void {
    this.idleUntil = took === 0 && !this.blurred ? (nextDue?.getTime() ?? Number.POSITIVE_INFINITY) : null;
  }

  /** After a claim of named bands that took something: `full` (it took all it asked for) means more may be due there; also after a claim that did not look at all (true). */
  tookNamed(full: boolean): void {
    if (full) this.idleUntil = null;
  }

  private forget(): void {
    this.idleUntil = null;
    this.named.clear();
    this.blurred = true;
  }
}
