import type { ClaimedRun } from "../store/claims";

/**
 * A dispatcher's run slots: the batches in progress, each with its queue
 * and runs, and the one batch of a suspect cron, which runs alone in this
 * worker. Answers how many slots a queue may still take: free slots,
 * within the queue's cap in this worker.
 */
export class Slots {
  private readonly inflight = new Map<
    Promise<unknown>,
    { readonly queue: string; readonly runs: readonly ClaimedRun[] }
  >();
  /** The batch of a suspect cron, or null. */
  private lone: Promise<unknown> | null = null;

  constructor(
    /** Slots in all (`concurrency`). */
    private readonly total: number,
    /** Per-queue caps (a queue's `backgroundWorkers`), else `total`. */
    private readonly caps: ReadonlyMap<string, number>,
  ) {}

  /** Batches in progress. */
  get busy(): number {
    return this.inflight.size;
  }

  /** Slots not running a batch. */
  get free(): number {
    return this.total - this.inflight.size;
  }

  /** Whether a suspect's batch runs now (nothing else may start). */
  get loneRunning(): boolean {
    return this.lone !== null;
  }

  /** Slots a batch of `queue` may still take. */
  room(queue: string): number {
    const runningIn = [...this.inflight.values()].filter((b) => b.queue === queue).length;
    const cap = this.caps.get(queue) ?? this.total;
    return Math.min(this.total - this.inflight.size, cap - runningIn);
  }

  /**
   * Runs a batch of `queue` in a slot (`alone`: a suspect's); the slot is
   * free again when `batch` settles, and then `freed` runs.
   */
  occupy(queue: string, runs: readonly ClaimedRun[], alone: boolean, batch: Promise<unknown>, freed: () => void): void {
    const settled: Promise<unknown> = batch.finally(() => {
      this.inflight.delete(settled);
      if (this.lone === settled) this.lone = null;
      freed();
    });
    this.inflight.set(settled, { queue, runs });
    if (alone) this.lone = settled;
  }

  /** Resolves when every batch in progress has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.inflight.keys());
  }

  /** The runs of the batches in progress. */
  *runs(): Iterable<ClaimedRun> {
    for (const batch of this.inflight.values()) yield* batch.runs;
  }
}
