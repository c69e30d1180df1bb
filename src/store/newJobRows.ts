import type { HrpCronJob, HrpCronJobLifecycle } from "../schema/entities/HrpCronJob";

/** The columns of a new `hrp_cron_job` row (everything but its id and the lifecycle the engine writes). */
export type NewJob = Omit<HrpCronJob, "id" | HrpCronJobLifecycle>;

/** When the job is due, and (for its `ir_cron` row, `runByCron` only) whether a catch-up replays missed calls. */
export interface NewJobSchedule {
  readonly nextcall: Date;
  readonly doall: boolean;
}

/**
 * Most jobs one bulk statement writes. With {@link MAX_CHUNK_ARGS_CHARS} it
 * keeps each statement's parameters (and the server's memory for them) well
 * within what PostgreSQL and SQLite accept (a bound value of up to 1 GB),
 * whatever a caller passes to `enqueueBulk`. Measured: at 1,000 jobs per
 * statement the per-statement overhead is already under 2% of a job's cost,
 * so larger chunks gain nothing.
 */
export const MAX_CHUNK_JOBS = 5_000;

/** Most characters of `args` one bulk statement carries (a chunk holds at least one job, however large). */
export const MAX_CHUNK_ARGS_CHARS = 16 * 1024 * 1024;

/** The columns that make up a job's shape: every column but `args` (the type makes the list complete). */
const SHAPE_COLUMNS: Record<Exclude<keyof NewJob, "args">, true> = {
  name: true,
  model: true,
  function: true,
  priority: true,
  userId: true,
  userKey: true,
  dateCreated: true,
  state: true,
  dateStarted: true,
  dateDone: true,
  excInfo: true,
  createUid: true,
  createDate: true,
  kind: true,
  jobKey: true,
  maxRetries: true,
  attempts: true,
  retryBackoffMs: true,
  workerId: true,
  onSuccess: true,
  onFailure: true,
  queue: true,
  timeoutMs: true,
  concurrencyKey: true,
  concurrencyLimit: true,
  traceContext: true,
};
const SHAPE_PROPS = Object.keys(SHAPE_COLUMNS) as Array<keyof typeof SHAPE_COLUMNS>;
/**
 * New jobs as two row sets for one bulk statement: the distinct shapes (a
 * job's columns but `args`, with its schedule: a bulk's jobs usually share
 * them all — the same method, queue, user and creation time), and per job
 * only its shape's index and its args. The statement joins them back into
 * whole rows, so the database parses two fields per job instead of thirty,
 * and JavaScript encodes one small object per job.
 */
export interface ShapedJobs {
  /** The distinct shapes, in order of first use, each as the first job that has it; `i` is the index jobs refer to. */
  readonly shapes: ReadonlyArray<{ readonly i: number; readonly job: NewJob; readonly schedule: NewJobSchedule }>;
  /** Per job, in the order given: its shape's index and its args. */
  readonly rows: Array<{ readonly s: number; readonly args: string }>;
}

/** Groups `jobs` (with their schedules, index for index) by shape; see {@link ShapedJobs}. */
export function shapeJobs(jobs: readonly NewJob[], schedules: readonly NewJobSchedule[]): ShapedJobs {
  const shapes: Array<{ i: number; job: NewJob; schedule: NewJobSchedule }> = [];
  const rows: Array<{ s: number; args: string }> = [];
  const byKey = new Map<string, number>();
  let last = -1;
  for (let j = 0; j < jobs.length; j++) {
    const job = jobs[j];
    const schedule = schedules[j];
    // A bulk's jobs are usually alike: compare with the previous job's shape before building a key.
    if (last < 0 || !sameShape(shapes[last], job, schedule)) {
      const key = shapeKey(job, schedule);
      let index = byKey.get(key);
      if (index === undefined) {
        index = shapes.length;
        byKey.set(key, index);
        shapes.push({ i: index, job, schedule });
      }
      last = index;
    }
    rows.push({ s: last, args: job.args });
  }
  return { shapes, rows };
}

/**
 * `[start, end)` index ranges cutting `jobs` into chunks of at most
 * {@link MAX_CHUNK_JOBS} jobs and about {@link MAX_CHUNK_ARGS_CHARS}
 * characters of args each.
 */
export function chunkRanges(jobs: readonly NewJob[]): Array<readonly [number, number]> {
  const ranges: Array<readonly [number, number]> = [];
  let start = 0;
  let chars = 0;
  for (let j = 0; j < jobs.length; j++) {
    const size = jobs[j].args.length;
    if (j > start && (j - start >= MAX_CHUNK_JOBS || chars + size > MAX_CHUNK_ARGS_CHARS)) {
      ranges.push([start, j]);
      start = j;
      chars = 0;
    }
    chars += size;
  }
  if (jobs.length > start) ranges.push([start, jobs.length]);
  return ranges;
}

/**
 * Whether `job` has `shape`: every column of SHAPE_COLUMNS but args, written out (a loop over property
 * names costs ten times as much per job); test/api/bulkShapes.test.ts changes each column in turn.
 */
function sameShape(shape: ShapedJobs["shapes"][number], job: NewJob, schedule: NewJobSchedule): boolean {
  const a = shape.job;
  return (
    a.name === job.name &&
    a.model === job.model &&
    a.function === job.function &&
    a.priority === job.priority &&
    a.userId === job.userId &&
    a.userKey === job.userKey &&
    sameDate(a.dateCreated, job.dateCreated) &&
    a.state === job.state &&
    sameDate(a.dateStarted, job.dateStarted) &&
    sameDate(a.dateDone, job.dateDone) &&
    a.excInfo === job.excInfo &&
    a.createUid === job.createUid &&
    sameDate(a.createDate, job.createDate) &&
    a.kind === job.kind &&
    a.jobKey === job.jobKey &&
    a.maxRetries === job.maxRetries &&
    a.attempts === job.attempts &&
    a.retryBackoffMs === job.retryBackoffMs &&
    a.workerId === job.workerId &&
    a.onSuccess === job.onSuccess &&
    a.onFailure === job.onFailure &&
    a.queue === job.queue &&
    a.timeoutMs === job.timeoutMs &&
    a.concurrencyKey === job.concurrencyKey &&
    a.concurrencyLimit === job.concurrencyLimit &&
    a.traceContext === job.traceContext &&
    sameDate(shape.schedule.nextcall, schedule.nextcall) &&
    shape.schedule.doall === schedule.doall
  );
}

function sameDate(a: Date | null, b: Date | null): boolean {
  return a === b || (a !== null && b !== null && a.getTime() === b.getTime());
}

function shapeKey(job: NewJob, schedule: NewJobSchedule): string {
  // Each column holds one type (or null), so values of different columns never need telling apart.
  const values: unknown[] = SHAPE_PROPS.map((prop) => keyValue(job[prop]));
  values.push(keyValue(schedule.nextcall), schedule.doall);
  return JSON.stringify(values);
}

function keyValue(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : value;
}
