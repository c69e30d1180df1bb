import { joinMethodName } from "../core/methodName";
import type { IrCron } from "../schema/entities/IrCron";

/** At most this many methods are remembered (the oldest is forgotten first). */
const MAX_METHODS = 10_000;

/**
 * Moving average of the run time of each `model.function`, so that a batch
 * can start a method known to be slow in a batch of its own instead of
 * holding back the commit of quick ones.
 */
export class MethodTimes {
  private readonly ms = new Map<string, number>();

  /** The expected run time of `cron`'s method (0 when unknown). */
  expectedMs(cron: IrCron): number {
    return this.ms.get(joinMethodName(cron.model, cron.function)) ?? 0;
  }

  /** Folds one run's time into the average of its method. */
  observe(cron: IrCron, ms: number): void {
    const key = joinMethodName(cron.model, cron.function);
    const before = this.ms.get(key);
    this.ms.set(key, before === undefined ? ms : before * 0.7 + ms * 0.3);
    if (this.ms.size > MAX_METHODS) this.ms.delete(this.ms.keys().next().value!);
  }
}
