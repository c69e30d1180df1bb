import { backendFor } from "../../../backend";
import { ValidationError } from "../../../core/errors";
import { DEFAULTS } from "../../../core/options";
import { doctorFacts, type DoctorFacts } from "../../../store/doctor";
import {
  failingMethods,
  jobCounts,
  oldestDue,
  recentEnqueueFailures,
  runsOverTime,
  type FailingMethod,
  type JobCount,
  type OldestDue,
  type RunBucket,
  type TypeEnqueueFailure,
} from "../../../store/health";
import { failingTypes, schedulerStatus, type FailingType, type SchedulerStatus } from "../../../store/scheduler";
import { listWorkers, type WorkerInfo } from "../../../store/workers";
import type { PageContext } from "../../context";

/**
 * What the overview shows, read in one go. Each read is one statement on the
 * DataSource's manager, outside any transaction: on SQLite a transaction
 * would wait for the write lock that a running batch of this process holds
 * for as long as its job runs.
 */

/** A time window of the throughput chart, chosen with `?range=`. */
export interface ChartRange {
  readonly key: string;
  readonly periodMs: number;
  readonly periods: number;
  /** Label every n-th period on the time axis. */
  readonly tickEvery: number;
}

/** The windows offered: the last 24 hours by hour (the default), the last hour by minute. */
export const RANGES: readonly ChartRange[] = [
  { key: "24h", periodMs: 3_600_000, periods: 24, tickEvery: 3 },
  { key: "60m", periodMs: 60_000, periods: 60, tickEvery: 10 },
];

/** How many failing methods, crons and scheduler errors the overview lists. */
const TOP = 10;

export interface OverviewData {
  readonly range: ChartRange;
  /** The window's start: the chart's first period, and where failures are counted from. */
  readonly since: Date;
  readonly counts: readonly JobCount[];
  readonly buckets: readonly RunBucket[];
  readonly oldest: OldestDue | null;
  readonly workers: readonly WorkerInfo[];
  readonly facts: DoctorFacts;
  readonly scheduler: SchedulerStatus;
  readonly failingTypes: readonly FailingType[];
  readonly enqueueFailures: readonly TypeEnqueueFailure[];
  readonly failingMethods: readonly FailingMethod[];
}

/** The range `?range=` names (the first when absent). @throws ValidationError for an unknown one */
export function rangeOf(query: URLSearchParams): ChartRange {
  const key = query.get("range");
  if (key === null || key === "") return RANGES[0];
  const range = RANGES.find((r) => r.key === key);
  if (!range) throw new ValidationError("range", `must be one of ${RANGES.map((r) => r.key).join(", ")}`, key);
  return range;
}

/**
 * The window of `range` ending with the period `now` is in (periods are
 * whole hours or minutes since the epoch), so the last bar is the current,
 * partial period.
 */
export function windowStart(range: ChartRange, now: Date): Date {
  const end = (Math.floor(now.getTime() / range.periodMs) + 1) * range.periodMs;
  return new Date(end - range.periods * range.periodMs);
}

/** Reads everything the overview shows, at `ctx.now`. */
export async function overviewData(ctx: PageContext): Promise<OverviewData> {
  const backend = backendFor(ctx.dataSource);
  const m = ctx.dataSource.manager;
  const range = rangeOf(ctx.query);
  const since = windowStart(range, ctx.now);
  return {
    range,
    since,
    counts: await jobCounts(backend, m),
    buckets: await runsOverTime(backend, m, since, range.periodMs, range.periods),
    oldest: await oldestDue(backend, m, ctx.now),
    workers: await listWorkers(backend, m),
    facts: await doctorFacts(backend, DEFAULTS.workerTimeoutMs, m),
    scheduler: await schedulerStatus(backend, m),
    failingTypes: await failingTypes(backend, m),
    enqueueFailures: await recentEnqueueFailures(backend, m, TOP),
    failingMethods: await failingMethods(backend, m, since, TOP),
  };
}

/**
 * Whether a worker is alive: it heartbeat within `workerTimeoutMs`
 * (`DEFAULTS.workerTimeoutMs`, the dispatchers' default) before `now`. A
 * worker past it is presumed dead: live workers recover its claims (its
 * registration stays, showing when it was last heard of).
 */
export function isAlive(worker: Pick<WorkerInfo, "lastSeenAt">, now: Date): boolean {
  return worker.lastSeenAt !== null && now.getTime() - worker.lastSeenAt.getTime() <= DEFAULTS.workerTimeoutMs;
}
