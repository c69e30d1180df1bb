import { ValidationError } from "../core/errors";
import { checkArray, checkOptions, describe, isPlainObject, optionalBool } from "../core/validate";
import { keyRecord, optionKeys, SHARED_OPTION_KEYS, type QueueSettings, type SharedOptions } from "../core/options";
import type { ModelRegistry } from "../core/registry";
import type { EventName, Frequency } from "../scheduling/frequencies";

/** App-declared events, Frappe hooks style: `{ daily: ["app.tasks.cleanup"], cron: { "0 2 * * *": ["app.tasks.backup"] } }`. */
export type SchedulerEvents = Partial<Record<EventName, readonly string[]>> & {
  readonly cron?: Readonly<Record<string, readonly string[]>>;
  readonly cron_long?: Readonly<Record<string, readonly string[]>>;
};

export interface SchedulerOptions extends SharedOptions {
  readonly registry: ModelRegistry;
  readonly workers?: Readonly<Record<string, QueueSettings>>;
  readonly schedulerEvents?: SchedulerEvents;
  /** Period of the `all` event, in minutes (Frappe's `scheduler_interval`). @defaultValue 4 */
  readonly schedulerIntervalMinutes?: number;
  /** How often `start()` ticks. @defaultValue 15000 */
  readonly tickIntervalMs?: number;
  /** The leader's lease; a dead leader is replaced within this long. @defaultValue 20000 */
  readonly leaseMs?: number;
  /** Replay missed periods (bounded by `maxCatchUp`) instead of one run for all of them. @defaultValue false */
  readonly catchUp?: boolean;
  /** @defaultValue 24 */
  readonly maxCatchUp?: number;
}

/** A Scheduled Job Type to create with {@link Scheduler.createType}. */
export interface JobTypeSpec {
  readonly method: string;
  readonly frequency: Frequency;
  readonly cronFormat?: string;
  readonly queue?: string;
  /** @defaultValue 1 (Administrator) */
  readonly userId?: number;
  readonly timeZone?: string;
  readonly stopped?: boolean;
}

/** Every key of {@link SchedulerOptions}. */
export const SCHEDULER_OPTION_KEYS = optionKeys<SchedulerOptions>({
  ...keyRecord(SHARED_OPTION_KEYS),
  registry: true,
  workers: true,
  schedulerEvents: true,
  schedulerIntervalMinutes: true,
  tickIntervalMs: true,
  leaseMs: true,
  catchUp: true,
  maxCatchUp: true,
});

const JOB_TYPE_SPEC_KEYS = optionKeys<JobTypeSpec>({
  method: true,
  frequency: true,
  cronFormat: true,
  queue: true,
  userId: true,
  timeZone: true,
  stopped: true,
});

/** What {@link Scheduler.setControl} changes. */
export interface SchedulerControl {
  readonly paused?: boolean;
  readonly enabled?: boolean;
}

/** `setControl`'s change: known keys, booleans only. @throws ValidationError */
export function checkSchedulerControl(change: SchedulerControl): SchedulerControl {
  const c = checkOptions("change", change, optionKeys<SchedulerControl>({ paused: true, enabled: true }));
  optionalBool("paused", c.paused, false);
  optionalBool("enabled", c.enabled, true);
  return c;
}

/** Up-front checks of what the {@link Scheduler} receives: job type specs and declared events. Each returns a plain copy. */

/**
 * A {@link JobTypeSpec}: known keys only, `stopped` a boolean, and a
 * `cronFormat` only with the `Cron` frequency (with another frequency it
 * used to be dropped silently).
 * @throws ValidationError
 */
export function checkJobTypeSpec(spec: JobTypeSpec): JobTypeSpec {
  if (spec === undefined) throw new ValidationError("spec", "expected { method, frequency, ... }", spec);
  const s = checkOptions("spec", spec, JOB_TYPE_SPEC_KEYS);
  optionalBool("stopped", s.stopped, false);
  if (s.cronFormat !== undefined && s.frequency !== "Cron") {
    throw new ValidationError(
      "cronFormat",
      `is only used with frequency "Cron" (got frequency ${describe(s.frequency)}); pass one or the other`,
      s.cronFormat,
    );
  }
  if (s.queue !== undefined && typeof s.queue !== "string")
    throw new ValidationError("queue", "expected a queue name", s.queue);
  return s;
}

/**
 * `schedulerEvents`: `{ event: ["model.method", ...] }`, and for `cron` /
 * `cron_long` `{ expression: ["model.method", ...] }`. A string where a
 * list is expected is refused (it used to be read letter by letter).
 * @throws ValidationError
 */
export function checkSchedulerEvents(events: SchedulerEvents | undefined): SchedulerEvents {
  const out: Record<string, unknown> = {};
  for (const [event, value] of Object.entries(checkOptions("schedulerEvents", events, null))) {
    const field = `schedulerEvents.${event}`;
    if (event === "cron" || event === "cron_long") {
      if (!isPlainObject(value))
        throw new ValidationError(field, 'expected { "cron expression": ["model.method", ...] }', value);
      out[event] = Object.fromEntries(
        Object.entries(value).map(([expression, list]) => [expression, methodList(`${field}.${expression}`, list)]),
      );
    } else {
      out[event] = methodList(field, value);
    }
  }
  return out as SchedulerEvents;
}

function methodList(field: string, value: unknown): string[] {
  const list = checkArray(field, value);
  for (const item of list)
    if (typeof item !== "string")
      throw new ValidationError(field, `expected "model.method" names, got ${typeof item}`, item);
  return list as string[];
}
