// Types only: erased from the compiled JavaScript, which loads @opentelemetry/api when openTelemetryTracing() is called.
import type * as OtelApi from "@opentelemetry/api";
import { PackageNotInstalledError, ValidationError } from "../core/errors";
import { optionKeys } from "../core/options";
import type { JobTracing, RunSpan, RunSpanEnd, RunSpanStart } from "../core/tracing";
import { checkOptions } from "../core/validate";

/** Options of {@link openTelemetryTracing}. */
export interface OpenTelemetryTracingOptions {
  /**
   * Where the spans go: an OpenTelemetry `TracerProvider`. (Typed loosely so
   * that hrp-cron's types do not need `@opentelemetry/api`.)
   * @defaultValue the global one (`trace.getTracerProvider()`), which the OpenTelemetry SDK registers
   */
  readonly tracerProvider?: { getTracer(name: string, version?: string): unknown };
}

const KEYS = optionKeys<OpenTelemetryTracingOptions>({ tracerProvider: true });

/** The instrumentation scope of hrp-cron's spans, and the value of their `messaging.system`. */
const SCOPE = "hrp-cron";

/** `traceparent` (W3C Trace Context, version 00): version, trace id, parent span id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * OpenTelemetry traces for hrp-cron, on `@opentelemetry/api` (an optional
 * peer dependency: `npm install @opentelemetry/api`, loaded only by this
 * call). Pass the result as the `tracing` option of what enqueues
 * (`JobQueue`, `HrpCronJobService`, `Scheduler`) and of the `Dispatcher`:
 *
 * - at enqueue, the active span's context is stored with the job
 *   (`hrp_cron_job.trace_context`: the propagation headers your registered
 *   propagator writes — W3C `traceparent` / `tracestate` by default — as JSON;
 *   `traceparent` is always written, so the run finds its parent even
 *   without a registered propagator);
 * - each run gets a span `hrp-cron run <model.method>` (kind CONSUMER),
 *   the child of that context (a recurring cron's run, or a job enqueued
 *   outside any span, starts a trace of its own), active while the method,
 *   its catch-up calls and its `onSuccess` run, so your spans and
 *   instrumented database calls inside nest under it. A failed run sets
 *   status ERROR and records the exception. Attributes: `messaging.system`
 *   (`hrp-cron`), `messaging.operation.type` (`process`),
 *   `messaging.destination.name` (the queue), `messaging.message.id` (the
 *   job id), `hrp_cron.method`, `hrp_cron.job.id`, `hrp_cron.cron.id`,
 *   `hrp_cron.job.attempt`, `hrp_cron.user.id`, `hrp_cron.worker.id`, and
 *   at the end `hrp_cron.outcome` (`done`, `failed`, `stopped`,
 *   `interrupted`, `skipped`).
 *
 * Spans nest through the context manager your SDK registers (the Node SDK's
 * `AsyncLocalStorageContextManager`). A job that is retried gets one span
 * per run, each a child of the same enqueuer.
 *
 * ```ts
 * import { openTelemetryTracing } from "hrp-cron";
 * const tracing = openTelemetryTracing(); // after your OpenTelemetry SDK is set up
 * const jobs = new JobQueue(dataSource, { registry, tracing });
 * const dispatcher = new Dispatcher(dataSource, registry, { tracing });
 * ```
 * @throws PackageNotInstalledError when `@opentelemetry/api` is not installed
 */
export function openTelemetryTracing(options: OpenTelemetryTracingOptions = {}): JobTracing {
  const { tracerProvider } = checkOptions("options", options, KEYS);
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== "function")
    throw new ValidationError("tracerProvider", "expected an OpenTelemetry TracerProvider (with getTracer)", undefined);
  const api = loadApi();
  const provider = (tracerProvider as OtelApi.TracerProvider | undefined) ?? api.trace.getTracerProvider();
  // The global provider is a proxy: spans go to the SDK's provider whenever it is registered.
  const tracer = provider.getTracer(SCOPE);
  return {
    capture: () => capture(api),
    startRun: (run) => startRun(api, tracer, run),
  };
}

/** `@opentelemetry/api`, loaded now. @throws PackageNotInstalledError */
function loadApi(): typeof OtelApi {
  try {
    // A plain require, here and only here: the package is optional, and loaded only when tracing is asked for.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@opentelemetry/api") as typeof OtelApi;
  } catch (error) {
    if ((error as { code?: string }).code !== "MODULE_NOT_FOUND") throw error;
    throw new PackageNotInstalledError("@opentelemetry/api", "openTelemetryTracing()", { cause: error });
  }
}

/** The active span's context as propagation headers (JSON), or null when no valid span is active. */
function capture(api: typeof OtelApi): string | null {
  const active = api.context.active();
  const spanContext = api.trace.getSpanContext(active);
  if (!spanContext || !api.trace.isSpanContextValid(spanContext)) return null;
  const carrier: Record<string, string> = {};
  api.propagation.inject(active, carrier);
  if (carrier.traceparent === undefined) {
    // No W3C propagator registered (none at all, or another format): write the parent ourselves.
    const flags = spanContext.traceFlags.toString(16).padStart(2, "0");
    carrier.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
    const state = spanContext.traceState?.serialize();
    if (state) carrier.tracestate = state;
  }
  return JSON.stringify(carrier);
}

/** The context a stored trace context stands for: the enqueuer's span as a remote parent (ROOT when none or unreadable). */
function parentOf(api: typeof OtelApi, stored: string | null): OtelApi.Context {
  if (stored === null) return api.ROOT_CONTEXT;
  let carrier: Record<string, unknown>;
  try {
    carrier = JSON.parse(stored) as Record<string, unknown>;
  } catch {
    return api.ROOT_CONTEXT;
  }
  if (typeof carrier !== "object" || carrier === null) return api.ROOT_CONTEXT;
  const extracted = api.propagation.extract(api.ROOT_CONTEXT, carrier);
  if (api.trace.getSpanContext(extracted)) return extracted;
  const match = typeof carrier.traceparent === "string" ? TRACEPARENT.exec(carrier.traceparent) : null;
  if (!match) return extracted;
  const spanContext: OtelApi.SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16),
    isRemote: true,
    traceState: typeof carrier.tracestate === "string" ? api.createTraceState(carrier.tracestate) : undefined,
  };
  return api.trace.isSpanContextValid(spanContext) ? api.trace.setSpanContext(extracted, spanContext) : extracted;
}

/** Starts the span of one run, the child of its stored context. */
function startRun(api: typeof OtelApi, tracer: OtelApi.Tracer, run: RunSpanStart): RunSpan {
  const parent = parentOf(api, run.traceContext);
  const attributes: OtelApi.Attributes = {
    "messaging.system": SCOPE,
    "messaging.operation.type": "process",
    "messaging.operation.name": "run",
    "messaging.destination.name": run.queue,
    "hrp_cron.method": run.method,
    "hrp_cron.name": run.name,
    "hrp_cron.user.id": run.userId,
    "hrp_cron.worker.id": run.workerId,
  };
  if (run.jobId !== null) {
    attributes["messaging.message.id"] = String(run.jobId);
    attributes["hrp_cron.job.id"] = run.jobId;
  }
  if (run.cronId !== 0) attributes["hrp_cron.cron.id"] = run.cronId;
  if (run.attempt !== null) attributes["hrp_cron.job.attempt"] = run.attempt;
  const span = tracer.startSpan(`hrp-cron run ${run.method}`, { kind: api.SpanKind.CONSUMER, attributes }, parent);
  const active = api.trace.setSpan(parent, span);
  return {
    within: (work) => api.context.with(active, work),
    end: (end) => endSpan(api, span, end),
  };
}

/** Ends a run's span with its outcome: a failure sets status ERROR and records the exception. */
function endSpan(api: typeof OtelApi, span: OtelApi.Span, { outcome, error }: RunSpanEnd): void {
  span.setAttribute("hrp_cron.outcome", outcome);
  if (outcome === "failed") {
    const message = error instanceof Error ? error.message : String(error);
    span.recordException(error instanceof Error ? error : message);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
  } else if (outcome !== "done" && error !== undefined) {
    span.setAttribute("hrp_cron.error", String(error));
  }
  span.end();
}
