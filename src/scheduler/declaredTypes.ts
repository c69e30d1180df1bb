import { UnknownMethodError, ValidationError } from "../core/errors";
import { splitMethodName } from "../core/methodName";
import type { ModelRegistry } from "../core/registry";
import { describe } from "../core/validate";
import {
  EVENT_NAMES,
  expressionOf,
  frequencyOfEvent,
  queueOfFrequency,
  type EventName,
  type Frequency,
} from "../scheduling/frequencies";
import { checkSchedulerEvents, type SchedulerEvents } from "./schedulerInput";

/** A Scheduled Job Type an app declares (`schedulerEvents`), as `Scheduler.sync` writes it. */
export interface DeclaredType {
  readonly method: string;
  readonly frequency: Frequency;
  readonly cronFormat: string | null;
  readonly queue: string;
}

/**
 * The types `schedulerEvents` declares, checked: known events, registered
 * methods, valid schedules (`allMinutes`: the `all` event's period), no
 * method declared twice. `cron_long` and the `..._long` events go to the
 * `long` queue.
 * @throws ValidationError, UnknownMethodError
 */
export function declaredTypes(
  schedulerEvents: SchedulerEvents | undefined,
  registry: ModelRegistry,
  allMinutes: number,
): DeclaredType[] {
  const events = checkSchedulerEvents(schedulerEvents);
  const out: DeclaredType[] = [];
  const add = (method: string, frequency: Frequency, cronFormat: string | null, queue: string) => {
    checkTypeMethod(registry, method);
    expressionOf(frequency, cronFormat, allMinutes);
    if (out.some((o) => o.method === method))
      throw new ValidationError("schedulerEvents", `${method} is declared twice`, method);
    out.push({ method, frequency, cronFormat, queue });
  };
  for (const [event, methods] of Object.entries(events)) {
    if (event === "cron" || event === "cron_long") {
      for (const [expression, list] of Object.entries(methods as Record<string, string[]>)) {
        for (const method of list) add(method, "Cron", expression, event === "cron_long" ? "long" : "default");
      }
    } else if ((EVENT_NAMES as readonly string[]).includes(event)) {
      const frequency = frequencyOfEvent(event as EventName);
      for (const method of methods as string[]) add(method, frequency, null, queueOfFrequency(frequency));
    } else {
      throw new ValidationError(
        "schedulerEvents",
        `unknown event "${event}"; use ${[...EVENT_NAMES, "cron", "cron_long"].join(", ")}`,
        event,
      );
    }
  }
  return out;
}

/** A type's `model.method`, registered. @throws ValidationError, UnknownMethodError */
export function checkTypeMethod(registry: ModelRegistry, method: string): string {
  const split = typeof method === "string" ? splitMethodName(method) : null;
  if (split === null || split.model === "")
    throw new ValidationError("method", `expected "model.method", got ${describe(method)}`, method);
  if (!registry.has(split.model, split.method)) throw new UnknownMethodError(split.model, split.method);
  return method;
}
