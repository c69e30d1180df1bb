import { ValidationError } from "../core/errors";
import { checkArray, checkOptions, describe, isPlainObject, optionalBool } from "../core/validate";
import type { JobTypeSpec, SchedulerEvents } from "./scheduler";

/** Up-front checks of what the {@link Scheduler} receives: job type specs and declared events. Each returns a plain copy. */

/**
 * A {@link JobTypeSpec}: known keys only, `stopped` a boolean, and a
 * `cronFormat` only with the `Cron` frequency (with another frequency it
 * used to be dropped silently).
 * @throws ValidationError
 */
export function checkJobTypeSpec(spec: JobTypeSpec): JobTypeSpec {
  if (spec === undefined) throw new ValidationError("spec", "expected { method, frequency, ... }", spec);
  const s = checkOptions("spec", spec, ["method", "frequency", "cronFormat", "queue", "userId", "timeZone", "stopped"]);
  optionalBool("stopped", s.stopped, false);
  if (s.cronFormat !== undefined && s.frequency !== "Cron") {
    throw new ValidationError("cronFormat", `is only used with frequency "Cron" (got frequency ${describe(s.frequency)}); pass one or the other`, s.cronFormat);
  }
  if (s.queue !== undefined && typeof s.queue !== "string") throw new ValidationError("queue", "expected a queue name", s.queue);
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
      if (!isPlainObject(value)) throw new ValidationError(field, "expected { \"cron expression\": [\"model.method\", ...] }", value);
      out[event] = Object.fromEntries(Object.entries(value).map(([expression, list]) => [expression, methodList(`${field}.${expression}`, list)]));
    } else {
      out[event] = methodList(field, value);
    }
  }
  return out as SchedulerEvents;
}

function methodList(field: string, value: unknown): string[] {
  const list = checkArray(field, value);
  for (const item of list) if (typeof item !== "string") throw new ValidationError(field, `expected "model.method" names, got ${typeof item}`, item);
  return list as string[];
}
