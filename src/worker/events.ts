import { EventEmitter } from "node:events";
import { joinMethodName } from "../core/methodName";
import type { Logger, RunResult } from "../core/types";

/** A run's method is about to be called (inside its batch's transaction: nothing of it is committed yet). */
export interface JobStartEvent {
  readonly workerId: string;
  readonly cronId: number;
  /** The `hrp_cron_job` id; null for a recurring cron. */
  readonly jobId: number | null;
  readonly name: string;
  /** `model.method`. */
  readonly method: string;
  readonly queue: string;
  readonly userId: number;
  readonly startedAt: Date;
}

/** A run ended and what it wrote is committed (or rolled back, for a failure): its result, with its queue and duration. */
export interface JobEndEvent extends RunResult {
  readonly workerId: string;
  readonly queue: string;
  /** From the batch's start to its commit, divided evenly among its runs for batched runs. */
  readonly durationMs: number;
}

/** A batch transaction ended (committed, or its runs were recorded one by one after a failure). */
export interface BatchEndEvent {
  readonly workerId: string;
  readonly queue: string;
  readonly runs: number;
  readonly done: number;
  readonly failed: number;
  /** Runs claimed but left for the next batch (the batch's time budget, a stopping worker). */
  readonly deferred: number;
  readonly durationMs: number;
}

/** This worker started (registered) or stopped (unregistered). */
export interface WorkerEvent {
  readonly workerId: string;
}

/** Claims of dead workers this worker released (their runs are due again), or failed at their crash limit. */
export interface ClaimsRecoveredEvent {
  readonly workerId: string;
  readonly recovered: number;
}

/** Every event a {@link Dispatcher} emits, by name, with its payload. */
export interface DispatcherEventMap {
  "job:start": JobStartEvent;
  /** Every committed run end: the outcome is in the payload (`done`, `failed`, `skipped`, `interrupted`, `stopped`). */
  "job:end": JobEndEvent;
  /** A run that ended `done`. */
  "job:success": JobEndEvent;
  /** A run that ended `failed` (a job with retries left is `pending` again, due after its backoff). */
  "job:failure": JobEndEvent;
  "batch:end": BatchEndEvent;
  "worker:start": WorkerEvent;
  "worker:stop": WorkerEvent;
  "claims:recovered": ClaimsRecoveredEvent;
}

/**
 * The dispatcher's typed events (`dispatcher.events`), for metrics, traces
 * and alerts. Listeners run synchronously where the event happens; one that
 * throws is logged (`warn`) and never disturbs the worker. `on` returns the
 * function that removes the listener.
 *
 * ```ts
 * const off = dispatcher.events.on("job:failure", (e) => alert(`${e.name} failed: ${e.error}`));
 * dispatcher.events.on("job:end", (e) => histogram.observe({ queue: e.queue, outcome: e.outcome }, e.durationMs / 1000));
 * ```
 */
export class DispatcherEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  constructor(private readonly logger: Logger) {}

  /** Calls `listener` with each `name` event from now on; returns the function that stops it. */
  on<K extends keyof DispatcherEventMap>(name: K, listener: (event: DispatcherEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => void this.emitter.off(name, listener);
  }

  /** Whether anyone listens to `name` (an event nobody hears is not built). */
  heard(name: keyof DispatcherEventMap): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  /** Tells the listeners of `name`; a listener's error is logged, not thrown. */
  emit<K extends keyof DispatcherEventMap>(name: K, event: DispatcherEventMap[K]): void {
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (e: DispatcherEventMap[K]) => void)(event);
      } catch (error) {
        this.logger.warn("an event listener threw; the worker goes on", { event: name, error: String(error) });
      }
    }
  }
}

/** The `job:start` event of `run` (a claimed cron or job) starting at `startedAt`. */
export function startEvent(
  run: {
    readonly cron: {
      id: number;
      hrpCronJobId: number | null;
      name: string;
      model: string;
      function: string;
      queue: string;
      userId: number;
    };
  },
  workerId: string,
  startedAt: Date,
): JobStartEvent {
  const { cron } = run;
  return {
    workerId,
    cronId: cron.id,
    jobId: cron.hrpCronJobId,
    name: cron.name,
    method: joinMethodName(cron.model, cron.function),
    queue: cron.queue,
    userId: cron.userId,
    startedAt,
  };
}
