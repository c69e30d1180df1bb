/**
 * The dispatcher loop's sleep: `sleep(ms)` ends after `ms` or at the next
 * `wake()`, whichever comes first. A wake-up that arrives while the loop is
 * busy (not sleeping) is remembered until `rearm()`, so it is never lost.
 *
 * ```ts
 * const alarm = new WakeableSleep();
 * for (;;) { alarm.rearm(); await work(); await alarm.sleep(5_000); } // alarm.wake() from elsewhere cuts a sleep short
 * ```
 */
export class WakeableSleep {
  private woken = false;
  private wakeSleeper: (() => void) | null = null;

  /** Forgets earlier wake-ups: call before looking for work. */
  rearm(): void {
    this.woken = false;
  }

  /** Ends the current sleep, or the next one if none is in progress. */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Sleeps; resolves true when a wake-up ended it (or came before it), false when `ms` ran out. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.woken) return resolve(true);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve(woken);
      };
      const timer = setTimeout(() => done(false), ms);
      this.wakeSleeper = () => done(true);
    });
  }
}
