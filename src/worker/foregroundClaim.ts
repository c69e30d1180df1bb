import type { BatchBody } from "./executor";
import type { Execution } from "./execution";
import type { LocalQueue } from "./localQueue";
import type { PreparedBatch } from "./preparedBatch";
import type { DueBand } from "../store/claims";
import type { Wakeups } from "./wakeups";

/** What a foreground claim left: the first batch's prepared transaction, or when the loop may sleep until. */
export interface ForegroundOutcome {
  /** The first batch's transaction, opened while the claim committed (null: none). */
  readonly prepared: PreparedBatch<BatchBody> | null;
  /** Nothing was taken: when the earliest ready row is due ("never": none); null when something was taken. */
  readonly idleUntil: Date | "never" | null;
}

/**
 * The dispatcher's claim when a slot is free and nothing is buffered: the
 * path of a job enqueued to an idle worker, kept short.
 *
 * - When wake-ups named the new work's bands and nothing else can be due,
 *   it claims those bands directly, without looking for due bands first
 *   (see {@link Wakeups}); if someone else took that work, it looks
 *   everywhere at once.
 * - With `overlap` (PostgreSQL: the batch runs on another connection than
 *   the claim), the first batch's transaction is opened while the claim
 *   runs — as the claim starts when wake-ups named the work, else once it
 *   has taken rows — and its users are looked up while the claim's last
 *   statements and COMMIT run (see {@link PreparedBatch}); SQLite's
 *   transactions run one at a time.
 */
export class ForegroundClaim {
  constructor(
    private readonly queue: LocalQueue,
    private readonly wakeups: Wakeups,
    private readonly execution: Execution,
    private readonly overlap: boolean,
    private readonly now: () => Date,
    private readonly running: () => boolean,
  ) {}

  /** Claims for `free` slots (`room(queue)`: slots a queue may take); the runs join the local queue. */
  async claim(free: number, room: (queue: string) => number): Promise<ForegroundOutcome> {
    // Asked once the claim's transaction has begun (see ClaimShortcuts.bands); each attempt asks again.
    let bands: DueBand[] | null = null;
    let looked = false;
    let opened = null as PreparedBatch<BatchBody> | null;
    const named = () => {
      looked = true;
      bands = this.wakeups.take(this.now());
      // Named work is there to take: the batch's BEGIN rides alongside the claim.
      if (bands && this.overlap) opened ??= this.execution.prepare(hintedUsers(bands), this.running);
      return bands;
    };
    const onClaimed = this.overlap
      ? (userIds: number[]) => {
          if (opened) opened.prefetch(userIds);
          else opened = this.execution.prepare(userIds, this.running);
        }
      : undefined;
    try {
      const claim = await this.queue.claimRound(free, room, { bands: named, onClaimed });
      if (this.queue.size > 0) {
        if (bands) this.wakeups.tookNamed(this.queue.backlogLikely);
        else this.wakeups.claimed(claim.runs.length, claim.nextDue);
        return { prepared: opened, idleUntil: null };
      }
      opened?.cancel();
      if (bands) return await this.claim(free, room); // taken elsewhere: look everywhere
      if (looked) this.wakeups.claimed(0, claim.nextDue);
      else this.wakeups.tookNamed(true); // nothing to claim for (no room): not known idle
      return { prepared: null, idleUntil: claim.nextDue ?? "never" };
    } catch (error) {
      opened?.cancel();
      throw error;
    }
  }
}

/** The users wake-ups said the named work runs as (looked up while the claim runs). */
function hintedUsers(bands: readonly DueBand[]): number[] {
  return [...new Set(bands.flatMap((band) => band.users ?? []))];
}
