/**
 * How many jobs one run slot should take: as many as run in about
 * `batchMaxMs`, from 1 to `batchSize`, by a moving average of the wall time
 * per job of recent batches. It starts pessimistic (one job per slot), so a
 * worker's first claims never hoard slow jobs another worker could run.
 */
export class ClaimSizing {
  private jobMs: number;

  constructor(
    private readonly batchSize: number,
    private readonly batchMaxMs: number,
  ) {
    this.jobMs = batchMaxMs;
  }

  /** Jobs per slot now. */
  perSlot(): number {
    return Math.max(1, Math.min(this.batchSize, Math.floor(this.batchMaxMs / Math.max(this.jobMs, 0.01))));
  }

  /** Folds one batch's time per job into the average. */
  observe(msPerJob: number): void {
    this.jobMs = this.jobMs * 0.7 + msPerJob * 0.3;
  }
}
