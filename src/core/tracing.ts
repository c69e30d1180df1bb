import type { RunResult } from "./types";

/**
 * The seam through which hrp-cron carries a trace from the code that
 * enqueues a job to the run of that job, without depending on a tracing
 * library: `openTelemetryTracing()` (the `tracing` option) implements it on
 * `@opentelemetry/api`. Without the option nothing is captured, stored or
 * started: the `trace_context` column stays null and no tracing code runs.
 *
 * - At enqueue (`enqueue`, `enqueueDoc`, `enqueueBulk`, `runByCron`,
 *   `runByCronBulk`), {@link capture} serialises the active trace context;
 *   it is stored with the job (`hrp_cron_job.trace_context`). Recurring
 *   crons store none.
 * - At run, the worker calls {@link startRun} per run (each run of a batch
 *   on its own, with its own stored context), runs the method, its catch-up
 *   calls and its `onSuccess` inside {@link RunSpan.within}, and ends the
 *   span with the run's outcome as the method left it.
 */
export interface JobTracing {
  /**
   * The active trace context as text to store with a job (a JSON object of
   * propagation headers such as `traceparent` and `tracestate`), or null
   * when no span is active. Called once per enqueue call (a bulk's jobs
   * share it); must not throw.
   */
  capture(): string | null;
  /** Starts the span of one run; `run.traceContext` is what {@link capture} stored (null: none). */
  startRun(run: RunSpanStart): RunSpan;
}

/** What a run's span is started with. */
export interface RunSpanStart {
  /** `model.method`. */
  readonly method: string;
  /** The job's (or cron's) name. */
  readonly name: string;
  readonly queue: string;
  readonly cronId: number;
  /** The `hrp_cron_job` id; null for a recurring cron. */
  readonly jobId: number | null;
  readonly userId: number;
  /** The job's run number (1: first run; counted like `hrp_cron_job.attempts`); null for a recurring cron. */
  readonly attempt: number | null;
  readonly workerId: string;
  /** What {@link JobTracing.capture} stored at enqueue; null for a recurring cron or a job enqueued outside a span. */
  readonly traceContext: string | null;
}

/** How a run ended, as its span is told. */
export interface RunSpanEnd {
  /** `done`, `failed`, `stopped`, `interrupted` or `skipped` (the batch's commit may still change a `done`). */
  readonly outcome: RunResult["outcome"];
  /** What the method threw (failed), or the message of why it did not end `done`. */
  readonly error?: unknown;
}

/** The span of one run. */
export interface RunSpan {
  /** Calls `work` with this span as the active one, so spans started inside it are its children. */
  within<T>(work: () => T): T;
  /** Ends the span; called exactly once. */
  end(end: RunSpanEnd): void;
}
