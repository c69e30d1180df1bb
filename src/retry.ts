import type { Backend } from "./backend";

/**
 * Runs `work`, retrying it while it fails with a transient database error
 * (SQLite busy, serialization failure, deadlock, dropped connection), with
 * exponential backoff and jitter. Other errors, and the last transient one,
 * are thrown. `work` must be safe to repeat: a whole transaction.
 */
export async function withTransientRetry<T>(
  backend: Backend,
  options: { transientRetries: number; transientRetryBaseMs: number },
  work: () => Promise<T>,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= options.transientRetries || !backend.isTransientError(error)) throw error;
      onRetry?.(error, attempt + 1);
      const delay = options.transientRetryBaseMs * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
    }
  }
}
