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

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.woken) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }
}
