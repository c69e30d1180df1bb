import type { DataSource } from "typeorm";
import { JobAdmin } from "../api/jobAdmin";
import { MAX_LIST_LIMIT } from "../api/serviceInput";
import { JobExpectationError } from "./errors";
import { optionKeys } from "../core/options";
import { checkDate, checkId, checkKwargs, checkName, checkOptions, serializeArgs } from "../core/validate";
import { HRP_CRON_JOB_STATES, type HrpCronJob, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import {
  canonicalJson,
  checkStates,
  describeChecks,
  differences,
  fieldCheck,
  listed,
  methodOf,
  show,
  stateCheck,
  type FieldCheck,
  type MethodMatch,
} from "./match";

/** A job (`hrp_cron_job` row) as the expectations read it: arguments parsed, method named in full. */
export interface EnqueuedJob {
  readonly id: number;
  /** `cron` for `runByCron`, `queue` for `enqueue`. */
  readonly kind: "cron" | "queue";
  /** Its name in listings (`runByCron`'s name; `enqueue`'s `jobName`, else the method). */
  readonly name: string;
  /** `model.method`. */
  readonly method: string;
  /** The stored arguments: `runByCron`'s `args`; `enqueue`'s `args`, or `[kwargs]`. */
  readonly args: unknown[];
  /** The user it runs as. */
  readonly userId: number;
  readonly queue: string;
  readonly priority: number;
  /** When it is due (its next run: the first, or a retry after its backoff). */
  readonly runAt: Date;
  readonly state: HrpCronJobState;
  /** Runs started so far. */
  readonly attempts: number;
  /** Message and stack of its last failure, or null. */
  readonly error: string | null;
}

/**
 * Which jobs an expectation is about; every field given must match. Each
 * is compared as stored: `args` and `kwargs` as JSON data (key order does
 * not matter), `runAt` to the millisecond.
 */
export interface JobMatch {
  /** `"model.method"`, or the job `defineJob` made. */
  readonly method?: MethodMatch;
  /** The job's name in listings. */
  readonly name?: string;
  /** All the stored arguments (`runByCron`'s `args`, `enqueue`'s `args`), or a predicate over them. */
  readonly args?: readonly unknown[] | ((args: unknown[]) => boolean);
  /** `enqueue`'s `kwargs` (stored as the one argument). */
  readonly kwargs?: Readonly<Record<string, unknown>>;
  /** The user it runs as. */
  readonly userId?: number;
  readonly queue?: string;
  /** When it is due (`runByCron`'s `dateCreated`; `enqueue`'s `runAt`, or enqueue time + `delayMs`). */
  readonly runAt?: Date | string;
  /** @defaultValue "pending" (enqueued and not run yet) */
  readonly state?: HrpCronJobState | readonly HrpCronJobState[];
}

const JOB_MATCH_KEYS = optionKeys<JobMatch>({
  method: true,
  name: true,
  args: true,
  kwargs: true,
  userId: true,
  queue: true,
  runAt: true,
  state: true,
});

/**
 * The jobs matching `match` (by default: every pending job), oldest first.
 * Works with any test framework: assert on the array.
 *
 * ```ts
 * const jobs = await enqueuedJobs(dataSource, { method: "hrp.mail.send" });
 * expect(jobs.map((job) => job.args)).toEqual([[{ to: "a@example.com" }]]);
 * ```
 * @throws ValidationError for a malformed match
 */
export async function enqueuedJobs(dataSource: DataSource, match: JobMatch = {}): Promise<EnqueuedJob[]> {
  const checks = jobChecks(match);
  return (await allJobs(dataSource)).filter((job) => differences(job, checks).length === 0);
}

/**
 * Resolves with the oldest job matching `match` (by default among pending
 * jobs: enqueued, not run yet); throws {@link JobExpectationError} when
 * there is none, listing the jobs there are and how each differs.
 *
 * ```ts
 * await expectEnqueued(dataSource, { method: "hrp.mail.send", userId: 7, runAt: clock.in({ seconds: 30 }) });
 * ```
 * @throws JobExpectationError, ValidationError
 */
export async function expectEnqueued(dataSource: DataSource, match: JobMatch): Promise<EnqueuedJob> {
  const checks = jobChecks(match);
  const jobs = await allJobs(dataSource);
  const found = jobs.find((job) => differences(job, checks).length === 0);
  if (found) return found;
  const [state, ...fields] = checks;
  const inState = jobs.filter((job) => state.matches(job));
  const shown = inState.length > 0 ? inState : jobs;
  const heading =
    jobs.length === 0
      ? "There are no jobs at all: nothing was enqueued (or it was enqueued in a transaction that rolled back)."
      : inState.length > 0
        ? `Jobs whose state is ${state.expected}, and how each differs:`
        : `No job's state is ${state.expected}; every job, and how each differs:`;
  throw new JobExpectationError(
    `Expected a job matching ${describeChecks(checks)}, but none matches.\n${heading}` +
      (shown.length > 0
        ? `\n${listed(shown.map((job) => `${jobLine(job)} — ${differences(job, inState.length > 0 ? fields : checks).join("; ")}`))}`
        : ""),
    { match: describeChecks(checks), jobs: jobs.length },
  );
}

/**
 * Throws {@link JobExpectationError}, listing them, when jobs match `match`
 * (by default among pending jobs).
 *
 * ```ts
 * await expectNotEnqueued(dataSource, { method: "hrp.mail.send" }); // the rollback left no job behind
 * ```
 * @throws JobExpectationError, ValidationError
 */
export async function expectNotEnqueued(dataSource: DataSource, match: JobMatch = {}): Promise<void> {
  const checks = jobChecks(match);
  const matching = await enqueuedJobs(dataSource, match);
  if (matching.length === 0) return;
  throw new JobExpectationError(
    `Expected no job matching ${describeChecks(checks)}, but ${matching.length} ${matching.length === 1 ? "matches" : "match"}:\n` +
      listed(matching.map(jobLine)),
    { match: describeChecks(checks), matching: matching.map((job) => job.id) },
  );
}

/** A job in one line: `job 3: a.b([[1]]) as user 2, queue default, due 2026-..., pending`. */
function jobLine(job: EnqueuedJob): string {
  return `job ${job.id}: ${job.method}(${canonicalJson(job.args).slice(1, -1)}) as user ${job.userId}, queue ${job.queue}, due ${show(job.runAt)}, ${job.state}`;
}

/** Every job, oldest first. */
async function allJobs(dataSource: DataSource): Promise<EnqueuedJob[]> {
  const rows = await new JobAdmin(dataSource).listJobs({ limit: MAX_LIST_LIMIT });
  return rows.reverse().map(viewOf);
}

function viewOf(row: HrpCronJob): EnqueuedJob {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    method: `${row.model}.${row.function}`,
    args: JSON.parse(row.args) as unknown[],
    userId: row.userId,
    queue: row.queue,
    priority: row.priority,
    runAt: row.nextcall ?? row.dateCreated,
    state: row.state,
    attempts: row.attempts,
    error: row.excInfo,
  };
}

/** The checks of `match`, its state first (pending unless it says otherwise). @throws ValidationError */
function jobChecks(match: JobMatch): Array<FieldCheck<EnqueuedJob>> {
  const m = checkOptions("match", match, JOB_MATCH_KEYS);
  const checks: Array<FieldCheck<EnqueuedJob>> = [
    stateCheck("state", checkStates("state", m.state ?? "pending", HRP_CRON_JOB_STATES), (job) => job.state),
  ];
  if (m.method !== undefined) checks.push(fieldCheck("method", methodOf(m.method).name, (job) => job.method));
  if (m.name !== undefined) checks.push(fieldCheck("name", checkName("name", m.name), (job) => job.name));
  if (typeof m.args === "function") {
    const predicate = m.args;
    checks.push({
      field: "args",
      expected: show(predicate),
      actual: (job) => show(job.args),
      matches: (job) => predicate(job.args),
    });
  } else if (m.args !== undefined) {
    const expected = canonicalJson(JSON.parse(serializeArgs(m.args, "args")));
    checks.push({
      field: "args",
      expected,
      actual: (job) => canonicalJson(job.args),
      matches: (job) => canonicalJson(job.args) === expected,
    });
  }
  if (m.kwargs !== undefined) {
    const expected = canonicalJson(JSON.parse(serializeArgs([checkKwargs("kwargs", m.kwargs)], "kwargs"))[0]);
    const kwargsOf = (job: EnqueuedJob) => (job.args.length === 1 ? canonicalJson(job.args[0]) : null);
    checks.push({
      field: "kwargs",
      expected,
      actual: (job) => kwargsOf(job) ?? `not one argument (args ${canonicalJson(job.args)})`,
      matches: (job) => kwargsOf(job) === expected,
    });
  }
  if (m.userId !== undefined) checks.push(fieldCheck("userId", checkId("userId", m.userId), (job) => job.userId));
  if (m.queue !== undefined) checks.push(fieldCheck("queue", checkName("queue", m.queue), (job) => job.queue));
  if (m.runAt !== undefined) checks.push(fieldCheck("runAt", checkDate("runAt", m.runAt), (job) => job.runAt));
  return checks;
}
