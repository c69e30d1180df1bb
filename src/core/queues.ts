import { UnknownQueueError, ValidationError } from "./errors";
import { DEFAULTS, optionKeys, type QueueConfig, type QueueSettings } from "./options";
import { checkInt, checkOptions, guarded } from "./validate";

/** Frappe's three queues with their timeouts (short 300 s, default 300 s, long 1500 s). */
export const BUILTIN_QUEUES = ["short", "default", "long"] as const;

const BASE: Omit<QueueConfig, "timeoutMs"> = DEFAULTS.queue;
const BUILTIN_TIMEOUTS_MS: Readonly<Record<(typeof BUILTIN_QUEUES)[number], number>> = DEFAULTS.queueTimeoutsMs;
/** Longest run timeout (7 days), well within Node's timer limit (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
/** Every key of {@link QueueConfig} (the compiler checks the list is complete). */
const SETTING_KEYS = optionKeys<QueueConfig>({
  timeoutMs: true,
  backgroundWorkers: true,
  maxConcurrency: true,
  maxRetries: true,
  retryBackoffMs: true,
  maxCrashes: true,
});
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The known queues: the built-in `short`, `default`, `long` plus custom ones
 * from configuration, which may also override the built-ins' settings.
 *
 * ```ts
 * const queues = new QueueSet({ reports: { timeoutMs: 5_000_000, backgroundWorkers: 4, maxConcurrency: 8 } });
 * queues.get("reports").timeoutMs; // 5000000
 * ```
 */
export class QueueSet {
  private readonly queues = new Map<string, QueueConfig>();

  constructor(custom: Readonly<Record<string, QueueSettings>> = {}) {
    for (const name of BUILTIN_QUEUES) this.queues.set(name, { ...BASE, timeoutMs: BUILTIN_TIMEOUTS_MS[name] });
    for (const [name, given] of Object.entries(checkOptions("workers", custom, null))) {
      if (!QUEUE_NAME.test(name))
        throw new ValidationError(
          "queue",
          `queue names are 1-64 letters, digits, "_", "." or "-", got ${JSON.stringify(name)}`,
          name,
        );
      // Unknown keys are refused: Frappe's `timeout` (in seconds) would otherwise be ignored silently.
      const settings = checkOptions(`workers.${name}`, given, SETTING_KEYS, ["maxConcurrency"]);
      const merged = { ...BASE, timeoutMs: BUILTIN_TIMEOUTS_MS.default, ...this.queues.get(name), ...settings };
      checkQueueConfig(name, merged);
      this.queues.set(name, merged);
    }
  }

  /** @throws UnknownQueueError (naming `item`, the bulk call's entry that asked for the queue, when given) */
  get(name: string, item?: string): QueueConfig {
    const queue = this.queues.get(name);
    if (!queue) throw new UnknownQueueError(name, this.names(), item);
    return queue;
  }

  has(name: string): boolean {
    return this.queues.has(name);
  }

  /** Built-ins first (short, default, long), then custom queues in configuration order. */
  names(): string[] {
    return [...this.queues.keys()];
  }
}

function checkQueueConfig(name: string, q: QueueConfig): void {
  const field = (f: string) => `workers.${name}.${f}`;
  checkInt(field("timeoutMs"), q.timeoutMs, 1, MAX_TIMEOUT_MS);
  checkInt(field("backgroundWorkers"), q.backgroundWorkers, 1, 1000);
  if (q.maxConcurrency !== null) checkInt(field("maxConcurrency"), q.maxConcurrency, 1, 1_000_000);
  checkInt(field("maxRetries"), q.maxRetries, 0, 1000);
  checkInt(field("maxCrashes"), q.maxCrashes, 1, 1000);
  checkBackoff(field("retryBackoffMs"), q.retryBackoffMs);
}

export function checkBackoff(field: string, value: unknown): readonly number[] {
  const delays = guarded(field, () => (Array.isArray(value) ? [...value] : null));
  if (delays === null || delays.length === 0)
    throw new ValidationError(field, "expected a non-empty array of delays in ms", value);
  for (const delay of delays) checkInt(field, delay, 0, MAX_TIMEOUT_MS);
  return delays as number[];
}

export { MAX_TIMEOUT_MS };

/** Worker deaths attributed to a job of `queue` before it is failed: its `maxCrashes`, else the default. */
export function maxCrashesOf(queues: QueueSet, queue: string): number {
  return queues.has(queue) ? queues.get(queue).maxCrashes : DEFAULTS.queue.maxCrashes;
}
