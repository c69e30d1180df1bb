import { EventEmitter } from "node:events";
import type { Logger } from "./types";

/**
 * Typed events, by name, with their payload types given by `Events` (an
 * interface mapping each event name to its payload): the machinery of
 * `dispatcher.events` and `scheduler.events`, for metrics, traces and
 * alerts. Listeners run synchronously where the event happens, in the
 * order they were added; one that throws is logged (`warn`) and never
 * disturbs the emitter or the listeners after it. `on` returns the
 * function that removes the listener.
 *
 * ```ts
 * const off = dispatcher.events.on("job:failure", (e) => alert(`${e.name} failed: ${e.error}`));
 * scheduler.events.on("tick:error", (e) => alert(`scheduler tick failed: ${e.error}`));
 * off();
 * ```
 */
export class TypedEvents<Events extends object> {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  constructor(
    private readonly logger: Logger,
    /** Names the emitter in the warning about a throwing listener (`the worker goes on`). */
    private readonly owner = "the worker",
  ) {}

  /** Calls `listener` with each `name` event from now on; returns the function that stops it. */
  on<K extends keyof Events & string>(name: K, listener: (event: Events[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => void this.emitter.off(name, listener);
  }

  /** Whether anyone listens to `name` (an event nobody hears need not be built). */
  heard(name: keyof Events & string): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  /** Tells the listeners of `name`; a listener's error is logged, not thrown. */
  emit<K extends keyof Events & string>(name: K, event: Events[K]): void {
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (e: Events[K]) => void)(event);
      } catch (error) {
        this.logger.warn(`an event listener threw; ${this.owner} goes on`, { event: name, error: String(error) });
      }
    }
  }
}
