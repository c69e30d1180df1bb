import type { Claim, ClaimedRun, ClaimShortcuts } from "../store/claims";
import { ClaimSizing } from "./claimSizing";

/**
 * The background claim's state:
 * - `idle`: none running;
 * - `claiming`: a claim runs while batches run (its runs join the buffer when it ends);
 * - `failed`: the last one failed; the error is handed to the loop once ({@link LocalQueue.takeError}).
 */
export type PrefetchState =
  | { readonly state: "idle" }
  | { readonly state: "claiming"; readonly done: Promise<void> }
  | { readonly state: "failed"; readonly error: unknown };

/**
 * A dispatcher's claimed-but-unstarted runs: claimed ahead, or deferred by
 * a batch. It sizes claims (about `batchMaxMs` of work per free slot, plus
 * one round ahead with several slots: see {@link ClaimSizing}), and while a
 * backlog lasts (the last claim got all it asked for) it claims the next
 * round in the background as soon as less than a round is buffered, so
 * slots do not wait for the claim.
 *
 * Its state is explicit: the buffer, whether a backlog is likely
 * (`backlog`), and the background claim ({@link PrefetchState}).
 */
export class LocalQueue {
  private readonly buffered: ClaimedRun[] = [];
  private readonly sizing: ClaimSizing;
  private prefetch: PrefetchState = { state: "idle" };
  /** The last claim got all it asked for: more is probably due. */
  private backlog = false;

  constructor(
    batchSize: number,
    batchMaxMs: number,
    /** Slots of the dispatcher (`concurrency`): with more than one, claims go one round ahead. */
    private readonly slots: number,
    /**
     * Claims up to `want` runs in all, at most `perQueue(queue)` from a queue
     * (the dispatcher's claim: retried, gated, tracked as in flight); `keep`
     * must be called with what was claimed before the claim stops counting
     * as in flight; `shortcuts` as in `ClaimStore.claimDue`.
     */
    private readonly claim: (
      perQueue: (queue: string) => number,
      want: number,
      keep: (claimed: Claim) => void,
      shortcuts?: ClaimShortcuts,
    ) => Promise<Claim>,
  ) {
    this.sizing = new ClaimSizing(batchSize, batchMaxMs);
  }

  get size(): number {
    return this.buffered.length;
  }

  /** Whether the last claim got all it asked for (more is probably due). */
  get backlogLikely(): boolean {
    return this.backlog;
  }

  /** The background claim's state. */
  get prefetchState(): PrefetchState["state"] {
    return this.prefetch.state;
  }

  /** The buffered runs, in order. */
  runs(): readonly ClaimedRun[] {
    return this.buffered;
  }

  /** Buffered runs of `queue`. */
  countIn(queue: string): number {
    return this.buffered.filter((run) => run.cron.queue === queue).length;
  }

  /** Jobs per slot now (see {@link ClaimSizing}). */
  perSlot(): number {
    return this.sizing.perSlot();
  }

  /** Folds a finished batch's time per job into the claim sizing. */
  observe(msPerJob: number): void {
    this.sizing.observe(msPerJob);
  }

  /** The first buffered run that `fits` (its queue has room). */
  first(fits: (run: ClaimedRun) => boolean): ClaimedRun | undefined {
    return this.buffered.find(fits);
  }

  /** Takes up to `size` buffered runs of `queue`, in order. */
  take(queue: string, size: number): ClaimedRun[] {
    const batch: ClaimedRun[] = [];
    for (let i = 0; i < this.buffered.length && batch.length < size;) {
      if (this.buffered[i].cron.queue === queue) batch.push(...this.buffered.splice(i, 1));
      else i++;
    }
    return batch;
  }

  /** Puts runs a batch deferred back in front. */
  putBack(runs: readonly ClaimedRun[]): void {
    this.buffered.unshift(...runs);
  }

  /** Empties the buffer (stopping: the caller releases these claims). */
  drain(): ClaimedRun[] {
    return this.buffered.splice(0);
  }

  /** The background claim's error, once; null when there is none. */
  takeError(): unknown {
    if (this.prefetch.state !== "failed") return null;
    const { error } = this.prefetch;
    this.prefetch = { state: "idle" };
    return error;
  }

  /** Resolves when the background claim (if any) has ended. */
  async settled(): Promise<void> {
    if (this.prefetch.state === "claiming") await this.prefetch.done;
  }

  /**
   * Claims what `free` slots can start within about `batchMaxMs` (from the
   * measured time per job), plus one round ahead, less what is buffered
   * (`room(queue)`: slots a queue may still take): full batches for quick
   * jobs, and a slow job is never hoarded by a busy worker while another one
   * sits idle. The runs join the buffer. `shortcuts`: see `ClaimStore.claimDue`.
   */
  async claimRound(free: number, room: (queue: string) => number, shortcuts?: ClaimShortcuts): Promise<Claim> {
    const perSlot = this.sizing.perSlot();
    const ahead = this.slots > 1 ? this.slots : 0;
    const perQueue = (queue: string) => Math.max(0, (Math.max(0, room(queue)) + ahead) * perSlot - this.countIn(queue));
    const want = Math.max(0, (free + ahead) * perSlot - this.buffered.length);
    if (want === 0) return { runs: [], nextDue: null };
    const claim = await this.claim(perQueue, want, (claimed) => this.buffered.push(...claimed.runs), shortcuts);
    this.backlog = claim.runs.length >= want;
    return claim;
  }

  /**
   * Starts the next claim in the background when less than one round is
   * buffered and the last claim suggests more is due (only with several
   * slots, while `running()`). Its runs join the buffer; an error is kept for
   * {@link takeError}. `done` runs when it ends (the dispatcher's wake-up).
   */
  prefetchIfLow(free: number, room: (queue: string) => number, running: () => boolean, done: () => void): void {
    if (this.prefetch.state === "claiming" || !this.backlog || !running() || this.slots <= 1) return;
    if (this.buffered.length >= this.slots * this.sizing.perSlot()) return;
    const claiming = this.claimRound(free, room).then(
      () => {
        this.prefetch = { state: "idle" };
      },
      (error: unknown) => {
        this.backlog = false;
        this.prefetch = { state: "failed", error };
      },
    );
    this.prefetch = { state: "claiming", done: claiming.finally(done) };
  }
}
