import type { Backend } from "../backend";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { ClaimedRun } from "../store/claims";
import type { BatchBody } from "./executor";
import type { Execution } from "./execution";
import type { ForegroundClaim } from "./foregroundClaim";
import type { LocalQueue } from "./localQueue";
import type { PreparedBatch } from "./preparedBatch";
import type { Slots } from "./slots";
import type { Wakeups } from "./wakeups";

/** What the feeder works with; owned by the {@link Dispatcher}, which builds them. */
export interface FeederParts {
  readonly backend: Backend;
  readonly options: Pick<ResolvedDispatcherOptions, "batchSize" | "logger">;
  /** Claimed, not started yet, and the claims that fill it. */
  readonly queue: LocalQueue;
  /** Batches in progress. */
  readonly slots: Slots;
  /** The claim of an idle slot. */
  readonly foreground: ForegroundClaim;
  /** Runs batches (in this thread or in sandbox threads). */
  readonly execution: Execution;
  /** Told when a batch ends (quietly or not); woken by a background claim's end. */
  readonly wakeups: Wakeups;
  /** False once the dispatcher stops: no new claim, no new batch. */
  readonly running: () => boolean;
}

/**
 * One pass of the worker's loop: claims only what its free slots (per queue
 * and in all) can take, and starts batches in them.
 *
 * With several slots it claims one round ahead, so a finishing slot usually
 * finds work already claimed: one claim round trip per batch, not per job
 * (see {@link LocalQueue}). A suspect job (see `CrashRecords`) runs alone in
 * this worker. Each batch's slot wakes the loop when it is free again.
 */
export class Feeder {
  constructor(private readonly parts: FeederParts) {}

  /**
   * Claims and starts batches until the slots are full, nothing more is due,
   * or the dispatcher stops. Resolves with when the loop may sleep until:
   * the earliest ready row's due time when a claim found nothing to take
   * (`"never"`: none waits), `null` when it need not wait for a due time
   * (the poll interval and wake-ups decide).
   * @throws the error a background claim ended with (the loop retries)
   */
  async fill(): Promise<Date | "never" | null> {
    const { queue, slots, foreground, backend, running } = this.parts;
    const { batchSize } = this.parts.options;
    const error = queue.takeError();
    if (error !== null) throw error;
    const room = (q: string) => slots.room(q);
    const prefetch = () => {
      queue.prefetchIfLow(Math.max(0, slots.free), room, running, () => this.parts.wakeups.wake());
      return idleUntil;
    };
    let idleUntil: Date | "never" | null = null;
    // The first batch after a claim, its transaction opened while the claim committed (see PreparedBatch).
    let prepared: PreparedBatch<BatchBody> | null = null;
    try {
      while (running()) {
        const free = slots.free;
        if (free <= 0) return prefetch();
        if (queue.size === 0) {
          if (queue.prefetchState === "claiming") return idleUntil; // its end wakes the loop
          const claimed = await foreground.claim(free, room);
          prepared = claimed.prepared;
          if (claimed.idleUntil !== null) idleUntil = claimed.idleUntil;
          if (queue.size === 0) return idleUntil;
        }
        const first = queue.first((run) => slots.room(run.cron.queue) > 0);
        if (!first) return prefetch();
        // A suspect runs alone in this worker: once no batch runs, and none beside it.
        if (slots.loneRunning || (first.cron.suspect && slots.busy > 0)) return idleUntil;
        // Spread what is buffered over the free slots (each takes at most batchSize), unless
        // transactions run one at a time anyway: then one full batch commits the most.
        const q = first.cron.queue;
        const spread = Math.min(queue.perSlot(), Math.ceil(queue.countIn(q) / slots.room(q)));
        const size = first.cron.suspect ? 1 : backend.serialTransactions ? batchSize : spread;
        this.startBatch(q, queue.take(q, size), first.cron.suspect, prepared ?? undefined);
        prepared = null;
      }
      return idleUntil;
    } finally {
      prepared?.cancel();
    }
  }

  /** Runs `batch` (of `queue`) in a slot; the slot wakes the loop when it is free again. */
  private startBatch(
    queue: string,
    batch: ClaimedRun[],
    alone: boolean,
    prepared: PreparedBatch<BatchBody> | undefined,
  ): void {
    const { execution, running, wakeups } = this.parts;
    const began = Date.now();
    // Quiet: it left nothing due that no wake-up names (see Wakeups).
    let quiet = false;
    const run = execution
      .batch(batch, running, prepared)
      .then((outcome) => {
        this.parts.queue.putBack(outcome.deferred);
        if (outcome.results.length > 0) this.parts.queue.observe((Date.now() - began) / outcome.results.length);
        quiet =
          outcome.deferred.length === 0 &&
          outcome.results.every((r) => r.outcome === "done") &&
          batch.every((r) => r.cron.numbercall === 1);
      })
      .catch((e: unknown) =>
        this.parts.options.logger.error("batch crashed; recovery will release its claims", {
          crons: batch.map((r) => r.cron.id),
          error: String(e),
        }),
      );
    this.parts.slots.occupy(queue, batch, alone, run, () => wakeups.batchEnded(quiet)); // a slot is free
  }
}
