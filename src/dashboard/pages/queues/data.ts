import { BUILTIN_QUEUES } from "../../../core/queues";
import { ValidationError } from "../../../core/errors";
import type { PageContext } from "../../context";

/** What the queues pages show of one queue, gathered from `JobAdmin.stats`, `queueDelays` and `queuePauses`. */
export interface QueueLine {
  readonly queue: string;
  /** Claimed by a worker now. */
  readonly running: number;
  /** Due and not claimed yet (the queue's depth now). */
  readonly waiting: number;
  /** Pending and due later (delayed, or waiting for a retry's backoff). */
  readonly scheduled: number;
  /** When the oldest waiting work became due (latency: how long it has waited); null when nothing waits. */
  readonly oldestDue: Date | null;
  /** Concurrency keys with live work: runs now and the key's limit. */
  readonly keys: ReadonlyArray<{
    readonly key: string;
    readonly running: number;
    readonly waiting: number;
    readonly limit: number | null;
  }>;
  /** Its pause, when it was ever paused (`paused` false once resumed). */
  readonly pause: {
    readonly paused: boolean;
    readonly changedAt: Date;
    readonly changedBy: string;
    readonly reason: string | null;
  } | null;
}

/**
 * Every queue with live work or a pause, and the built-in ones
 * (`short`, `default`, `long`), by name: counts at the dashboard's `now`.
 */
export async function queueLines(ctx: PageContext): Promise<QueueLine[]> {
  const [stats, delays, pauses] = await Promise.all([
    ctx.admin.stats(ctx.now),
    ctx.admin.queueDelays(ctx.now),
    ctx.admin.queuePauses(),
  ]);
  const names = new Set<string>([...BUILTIN_QUEUES, ...stats.map((s) => s.queue), ...pauses.map((p) => p.queue)]);
  return [...names].sort().map((queue) => {
    const own = stats.filter((s) => s.queue === queue);
    const delay = delays.filter((d) => d.queue === queue);
    const oldest = delay.map((d) => d.oldestDue).filter((d): d is Date => d !== null);
    const pause = pauses.find((p) => p.queue === queue);
    return {
      queue,
      running: sum(own.map((s) => s.running)),
      waiting: sum(own.map((s) => s.waiting)),
      scheduled: sum(own.map((s) => s.scheduled)),
      oldestDue: oldest.length === 0 ? null : new Date(Math.min(...oldest.map((d) => d.getTime()))),
      keys: own
        .filter((s) => s.concurrencyKey !== null)
        .map((s) => ({
          key: s.concurrencyKey!,
          running: s.running,
          waiting: s.waiting,
          limit: delay.find((d) => d.concurrencyKey === s.concurrencyKey)?.limit ?? null,
        })),
      pause: pause
        ? { paused: pause.paused, changedAt: pause.changedAt, changedBy: pause.changedBy, reason: pause.reason }
        : null,
    };
  });
}

/** The route's queue name, as queues are named (1-64 letters, digits, `_`, `.`, `-`). @throws ValidationError */
export function queueNameOf(text: string | undefined): string {
  if (!text || !/^[A-Za-z0-9_.-]{1,64}$/.test(text))
    throw new ValidationError("queue", 'queue names are 1-64 letters, digits, "_", "." or "-"', text);
  return text;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
