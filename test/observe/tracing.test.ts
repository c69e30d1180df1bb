import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  context,
  createTraceState,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  Dispatcher,
  HrpCronJob,
  HrpCronJobService,
  JobQueue,
  ModelRegistry,
  openTelemetryTracing,
  ValidationError,
  type JobEnv,
} from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * Issue 15: OpenTelemetry traces, on the real SDK (a tracer provider with
 * an in-memory exporter, the AsyncLocalStorage context manager): the trace
 * context of the code that enqueues a job is stored with it, and the job's
 * run is a span, the child of that code's span, active while the method runs.
 */
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const app = provider.getTracer("app");
const tracing = openTelemetryTracing({ tracerProvider: provider });

beforeAll(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
afterAll(() => context.disable());

/** Runs `work` inside a new active span of the application, named `name`; resolves with what it resolved with and the span. */
async function inSpan<T>(name: string, work: () => Promise<T>, parent = context.active()): Promise<[T, Span]> {
  return app.startActiveSpan(name, {}, parent, async (span): Promise<[T, Span]> => {
    try {
      return [await work(), span];
    } finally {
      span.end();
    }
  });
}

const finished = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe.each(BACKENDS)("OpenTelemetry tracing on %s", (kind) => {
  let db: TestDb;
  /** The active span id seen inside each run of `t.work`, by its argument. */
  const seenInside = new Map<string, string | undefined>();
  const registry = new ModelRegistry().register("t", {
    work(_env: JobEnv, key: string) {
      seenInside.set(key, trace.getActiveSpan()?.spanContext().spanId);
      // The application's own span inside the method (and its DB instrumentation, were there any) nests under the run.
      app.startActiveSpan("inner", (span) => span.end());
      return key;
    },
    boom() {
      throw new Error("boom");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    exporter.reset();
    seenInside.clear();
  });
  afterEach(() => db.close());

  const dispatcher = (withTracing = true) =>
    new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), ...(withTracing ? { tracing } : {}) });
  const storedContext = async (jobId: number) =>
    (await db.dataSource.manager.findOneByOrFail(HrpCronJob, { id: jobId })).traceContext;

  it("a job enqueued inside a span runs in a span that is that span's child, and spans started by the method are the run's", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, tracing });
    const [job, request] = await inSpan("request", () => jobs.enqueue("t.work", { args: ["a"], queue: "short" }));
    expect(JSON.parse((await storedContext(job.id))!)).toEqual({
      traceparent: `00-${request.spanContext().traceId}-${request.spanContext().spanId}-01`,
    });

    const [result] = await dispatcher().runDue();
    expect(result.outcome).toBe("done");
    const [run] = finished("hrp-cron run t.work");
    expect(run.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(run)).toBe(request.spanContext().spanId);
    expect(run.kind).toBe(SpanKind.CONSUMER);
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    expect(run.attributes).toEqual({
      "messaging.system": "hrp-cron",
      "messaging.operation.type": "process",
      "messaging.operation.name": "run",
      "messaging.destination.name": "short",
      "messaging.message.id": String(job.id),
      "hrp_cron.method": "t.work",
      "hrp_cron.name": "t.work",
      "hrp_cron.job.id": job.id,
      "hrp_cron.job.attempt": 1,
      "hrp_cron.user.id": 1,
      "hrp_cron.worker.id": expect.any(String),
      "hrp_cron.outcome": "done",
    });
    // Inside the method the run's span is the active one, and the application's spans are its children.
    expect(seenInside.get("a")).toBe(run.spanContext().spanId);
    const [inner] = finished("inner");
    expect([inner.spanContext().traceId, parentOf(inner)]).toEqual([
      run.spanContext().traceId,
      run.spanContext().spanId,
    ]);
  });

  it("a failure sets status ERROR and records the exception; a retry is told by job:retry and runs in a second span under the same parent", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, tracing });
    const [job, request] = await inSpan("request", () =>
      jobs.enqueue("t.boom", { maxRetries: 1, retryBackoffMs: [0] }),
    );
    const worker = dispatcher();
    const retries: number[] = [];
    worker.events.on("job:retry", (e) => void retries.push(e.retry.attempt));
    const failures: number[] = [];
    worker.events.on("job:failure", (e) => void failures.push(e.jobId!));
    // Retried at once (no backoff): runDue runs it again.
    expect((await worker.runDue()).map((r) => [r.outcome, r.retry?.attempt])).toEqual([
      ["failed", 1],
      ["failed", undefined],
    ]);
    expect(retries).toEqual([1]);
    expect(failures).toEqual([job.id]); // the second failure is final: job:failure, not job:retry

    const runs = finished("hrp-cron run t.boom");
    expect(runs.map((s) => s.attributes["hrp_cron.job.attempt"])).toEqual([1, 2]);
    for (const run of runs) {
      expect(parentOf(run)).toBe(request.spanContext().spanId);
      expect(run.attributes["messaging.message.id"]).toBe(String(job.id));
      expect(run.attributes["hrp_cron.outcome"]).toBe("failed");
      expect(run.status).toEqual({ code: SpanStatusCode.ERROR, message: "boom" });
      expect(run.events.map((e) => [e.name, e.attributes?.["exception.message"]])).toEqual([["exception", "boom"]]);
    }
  });

  it("batched runs each get their own span under their own enqueuer; a recurring cron's run is a root span", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, tracing });
    const service = new HrpCronJobService(db.dataSource, { registry, tracing });
    const [, first] = await inSpan("request 1", () => jobs.enqueue("t.work", { args: ["one"] }));
    const [, second] = await inSpan("request 2", () => jobs.enqueue("t.work", { args: ["two"] }));
    const cron = await inSpan("admin request", () =>
      service.createCron({
        name: "Hourly work",
        model: "t",
        function: "work",
        args: ["cron"],
        intervalType: "hours",
        nextcall: new Date(Date.now() - 1000),
      }),
    );
    const results = await dispatcher().runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    const runs = finished("hrp-cron run t.work");
    const byKey = new Map(
      [...seenInside].map(([key, spanId]) => [key, runs.find((r) => r.spanContext().spanId === spanId)!]),
    );
    expect(parentOf(byKey.get("one")!)).toBe(first.spanContext().spanId);
    expect(parentOf(byKey.get("two")!)).toBe(second.spanContext().spanId);
    const recurring = byKey.get("cron")!;
    expect(recurring.parentSpanContext).toBeUndefined();
    expect(recurring.spanContext().traceId).not.toBe(cron[1].spanContext().traceId);
    expect(recurring.attributes).toMatchObject({ "hrp_cron.cron.id": cron[0].id, "hrp_cron.name": "Hourly work" });
    expect(recurring.attributes).not.toHaveProperty("hrp_cron.job.id");
    expect(recurring.attributes).not.toHaveProperty("hrp_cron.job.attempt");
  });

  it("enqueueBulk, runByCron and runByCronBulk store the enqueuer's context too", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, tracing });
    const service = new HrpCronJobService(db.dataSource, { registry, tracing });
    const [bulk, bulkSpan] = await inSpan("bulk request", () =>
      jobs.enqueueBulk([
        { method: "t.work", options: { args: ["b1"] } },
        { method: "t.work", options: { args: ["b2"] } },
      ]),
    );
    const [automated, automatedSpan] = await inSpan("automated request", () =>
      service.runByCron("Automated", "t", "work", ["r1"]),
    );
    const [automatedBulk, automatedBulkSpan] = await inSpan("automated bulk request", () =>
      service.runByCronBulk([{ name: "Automated bulk", model: "t", function: "work", args: ["r2"] }]),
    );
    await dispatcher().runDue();
    const runs = finished("hrp-cron run t.work");
    const parentFor = (key: string) => parentOf(runs.find((r) => r.spanContext().spanId === seenInside.get(key))!);
    expect(parentFor("b1")).toBe(bulkSpan.spanContext().spanId);
    expect(parentFor("b2")).toBe(bulkSpan.spanContext().spanId);
    expect(parentFor("r1")).toBe(automatedSpan.spanContext().spanId);
    expect(parentFor("r2")).toBe(automatedBulkSpan.spanContext().spanId);
    for (const job of [...bulk, automated, ...automatedBulk])
      expect(await storedContext(job.id)).toMatch(/traceparent/);
  });

  it("uses the registered propagator (tracestate included), and runs a job whose stored context is unreadable as a root span", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    try {
      const jobs = new JobQueue(db.dataSource, { registry, tracing });
      // A request that arrived with a W3C trace state (a remote parent).
      const remote = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: 1,
        isRemote: true,
        traceState: createTraceState("vendor=value"),
      });
      const [job, request] = await inSpan("request", () => jobs.enqueue("t.work", { args: ["w3c"] }), remote);
      expect(JSON.parse((await storedContext(job.id))!)).toEqual({
        traceparent: `00-0af7651916cd43dd8448eb211c80319c-${request.spanContext().spanId}-01`,
        tracestate: "vendor=value",
      });
      const broken = await inSpan("request", () => jobs.enqueue("t.work", { args: ["broken"] }));
      await db.dataSource.manager.update(HrpCronJob, { id: broken[0].id }, { traceContext: "not json" });

      await dispatcher().runDue();
      const runs = finished("hrp-cron run t.work");
      const run = (key: string) => runs.find((r) => r.spanContext().spanId === seenInside.get(key))!;
      expect(run("w3c").spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
      expect(parentOf(run("w3c"))).toBe(request.spanContext().spanId);
      expect(run("w3c").spanContext().traceState?.serialize()).toBe("vendor=value");
      expect(run("broken").parentSpanContext).toBeUndefined();
      expect(run("broken").attributes["hrp_cron.outcome"]).toBe("done");
    } finally {
      propagation.disable();
    }
  });

  it("without the tracing option nothing is stored and no span is started, inside a span or not", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    const [job] = await inSpan("request", () => jobs.enqueue("t.work", { args: ["off"] }));
    expect(await storedContext(job.id)).toBeNull();
    // Enqueued with tracing but run by a dispatcher without it: no span either.
    const [traced] = await inSpan("request", () =>
      new JobQueue(db.dataSource, { registry, tracing }).enqueue("t.work", { args: ["on"] }),
    );
    expect(await storedContext(traced.id)).not.toBeNull();
    expect((await dispatcher(false).runDue()).map((r) => r.outcome)).toEqual(["done", "done"]);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["request", "request", "inner", "inner"]);
  });
});

describe("the tracing option", () => {
  it("refuses what is not a tracing, and options openTelemetryTracing does not know", async () => {
    const db = await openTestDb("sqlite");
    try {
      expect(() => new JobQueue(db.dataSource, { registry: new ModelRegistry(), tracing: {} as never })).toThrow(
        ValidationError,
      );
    } finally {
      await db.close();
    }
    expect(() => openTelemetryTracing({ tracer: provider } as never)).toThrow(/unknown option tracer/);
    expect(() => openTelemetryTracing({ tracerProvider: {} as never })).toThrow(/TracerProvider/);
  });

  it("never loads @opentelemetry/api when tracing is off: a process that enqueues and runs jobs has not required it", () => {
    // The compiled package (the suite's global setup built dist/), in a process of its own: require.cache is real there.
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-no-otel-"));
    try {
      const root = join(__dirname, "..", "..");
      const script = `
        const { DataSource } = require("typeorm");
        const hrp = require(${JSON.stringify(join(root, "dist", "src", "index.js"))});
        (async () => {
          const dataSource = new DataSource({ type: "better-sqlite3", database: ${JSON.stringify(join(dir, "db.sqlite"))}, entities: hrp.ENTITIES });
          await dataSource.initialize();
          await hrp.migrate(dataSource);
          const registry = new hrp.ModelRegistry().register("t", { work: () => 1 });
          const job = await new hrp.JobQueue(dataSource, { registry }).enqueue("t.work");
          const [result] = await new hrp.Dispatcher(dataSource, registry).runDue();
          const row = await dataSource.manager.findOneByOrFail(hrp.HrpCronJob, { id: job.id });
          const loaded = Object.keys(require.cache).filter((path) => path.includes("@opentelemetry"));
          console.log(JSON.stringify({ outcome: result.outcome, traceContext: row.traceContext, loaded }));
          await dataSource.destroy();
        })().catch((error) => { console.error(error); process.exit(1); });`;
      const child = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", timeout: 30_000 });
      expect(child.stderr).toBe("");
      expect(JSON.parse(child.stdout)).toEqual({ outcome: "done", traceContext: null, loaded: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
