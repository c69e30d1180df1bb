import type { DataSource } from "typeorm";
import { JobAdmin } from "../api/jobAdmin";
import { DrainLimitError, JobsFailedError } from "./errors";
import { DEFAULTS, DISPATCHER_OPTION_KEYS, keyRecord, optionKeys, type DispatcherOptions } from "../core/options";
import { QueueSet } from "../core/queues";
import type { ModelRegistry } from "../core/registry";
import type { RunResult } from "../core/types";
import { checkId, checkInt, checkOptions, guarded, optionalBool } from "../core/validate";
import { Dispatcher } from "../worker/dispatcher";

/** One run made by {@link drain} or {@link runJob}: `Dispatcher.runDue`'s result, plus its method's full name. */
export interface DrainedRun extends RunResult {
  /** `model.function`, as `enqueue` and the listings name it. */
  readonly method: string;
}

/**
 * Options of {@link runJob}: a dispatcher's (pass the same `now`, `userResolver`
 * and `workers` as the application's service or queue) plus what to do
 * with a failure.
 */
export interface RunJobOptions extends DispatcherOptions {
  /** Throw {@link JobsFailedError} when the run failed (it is recorded either way). @defaultValue false */
  readonly throwOnFailure?: boolean;
}

/** Options of {@link drain}: those of {@link runJob}, plus a bound on the runs. */
export interface DrainOptions extends RunJobOptions {
  /**
   * Most runs one drain makes. When it has made them and work is still due,
   * it throws {@link DrainLimitError}: a job that enqueues itself (or a
   * follow-up) due at once would otherwise keep it going forever.
   * @defaultValue 1000
   */
  readonly maxRuns?: number;
}

const RUN_JOB_OPTION_KEYS = optionKeys<RunJobOptions>({ ...keyRecord(DISPATCHER_OPTION_KEYS), throwOnFailure: true });
const DRAIN_OPTION_KEYS = optionKeys<DrainOptions>({ ...keyRecord(RUN_JOB_OPTION_KEYS), maxRuns: true });

/**
 * Runs every job and cron that is due at the clock's time (`now`), in this
 * process, until none is due, and resolves with what ran, in run order: the
 * jobs a test's code enqueued, the follow-ups those jobs enqueued when they
 * are due at once, and recurring crons whose time has come. Each runs as a
 * worker would run it: as its stored user, in a transaction, recorded in
 * the audit tables. Nothing runs in the background; when it resolves, the
 * work and its bookkeeping are committed.
 *
 * A failed run does not throw (it is in the result, `outcome: "failed"`,
 * with its `error`) unless `throwOnFailure` is set. Every queue is served:
 * the built-in ones, those of `workers`, and any other queue that holds
 * work (with default settings), unless `queues` names some.
 *
 * ```ts
 * const clock = testClock("2026-03-02T09:00:00Z");
 * // ... the code under test schedules a job 30 s ahead, with `now: clock.now` ...
 * expect(await drain(dataSource, registry, { now: clock.now })).toEqual([]); // not due yet
 * clock.advance({ seconds: 30 });
 * const [run] = await drain(dataSource, registry, { now: clock.now });
 * expect([run.method, run.outcome]).toEqual(["hrp.asset.receiving.application.createMove", "done"]);
 * ```
 * @throws DrainLimitError when `maxRuns` runs were made and work is still due
 * @throws JobsFailedError with `throwOnFailure`, when a run failed
 * @throws ValidationError for unknown or malformed options
 */
export async function drain(
  dataSource: DataSource,
  registry: ModelRegistry,
  options: DrainOptions = {},
): Promise<DrainedRun[]> {
  const { maxRuns, throwOnFailure, ...rest } = checkOptions("options", options, DRAIN_OPTION_KEYS);
  const limit = checkInt("maxRuns", maxRuns ?? DEFAULTS.drainMaxRuns, 1, Number.MAX_SAFE_INTEGER);
  const throwing = optionalBool("throwOnFailure", throwOnFailure, false);
  new Dispatcher(dataSource, registry, rest); // checks the dispatcher's options before anything is read
  const admin = new JobAdmin(dataSource);
  const now = rest.now ?? (() => new Date());
  const served = rest.queues === undefined ? await servingAll(admin, rest, now()) : rest;
  const runs = await withDispatcher(dataSource, registry, served, (d) => d.runDue({ maxRuns: limit }));
  if (runs.length >= limit) {
    const queues = new Set(served.queues ?? new QueueSet(served.workers).names());
    const due = (await admin.stats(now())).filter((s) => queues.has(s.queue)).reduce((n, s) => n + s.waiting, 0);
    if (due > 0) throw new DrainLimitError(limit, runs, due);
  }
  return checked(runs, throwing);
}

/**
 * Runs job `job` (its id, or the job `enqueue` / `runByCron` returned) now,
 * whether or not it is due, in this process, as its stored user, and
 * resolves with the run (Oban's `perform_job`, Odoo's "Run Manually"). A
 * failure is recorded as any run's (retries, `onFailure`) and returned,
 * not thrown, unless `throwOnFailure` is set.
 * @throws NotFoundError, InvalidStateError (the job is not pending), CurrentlyRunningError
 * @throws JobsFailedError with `throwOnFailure`, when the run failed
 */
export async function runJob(
  dataSource: DataSource,
  registry: ModelRegistry,
  job: number | { readonly id: number },
  options: RunJobOptions = {},
): Promise<DrainedRun> {
  const jobId = checkId(
    "job",
    guarded("job", () => (typeof job === "object" && job !== null ? job.id : job)),
  );
  const { throwOnFailure, ...rest } = checkOptions("options", options, RUN_JOB_OPTION_KEYS);
  const throwing = optionalBool("throwOnFailure", throwOnFailure, false);
  const run = await withDispatcher(dataSource, registry, rest, async (d) => [await d.runJob(jobId)]);
  return checked(run, throwing)[0];
}

/** A dispatcher for one call, whose sandbox threads (if any) are closed after it. */
async function withDispatcher(
  dataSource: DataSource,
  registry: ModelRegistry,
  options: DispatcherOptions,
  work: (dispatcher: Dispatcher) => Promise<RunResult[]>,
): Promise<RunResult[]> {
  const dispatcher = new Dispatcher(dataSource, registry, options);
  try {
    return await work(dispatcher);
  } finally {
    await dispatcher.stop();
  }
}

/** `options` with every queue that holds work and is not configured added to `workers`, with default settings. */
async function servingAll(admin: JobAdmin, options: DispatcherOptions, now: Date): Promise<DispatcherOptions> {
  const known = new QueueSet(options.workers);
  const extra = (await admin.stats(now)).map((s) => s.queue).filter((q) => !known.has(q));
  if (extra.length === 0) return options;
  return { ...options, workers: { ...options.workers, ...Object.fromEntries(extra.map((q) => [q, {}])) } };
}

/** The runs with their method names; throws for failed ones when asked to. */
function checked(runs: readonly RunResult[], throwOnFailure: boolean): DrainedRun[] {
  const drained = runs.map((run) => ({ ...run, method: `${run.model}.${run.function}` }));
  const failed = drained.filter((run) => run.outcome === "failed");
  if (throwOnFailure && failed.length > 0) throw new JobsFailedError(failed, drained);
  return drained;
}
