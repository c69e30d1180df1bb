import type { DataSource } from "typeorm";
import { JobAdmin } from "../api/jobAdmin";
import { MAX_LIST_LIMIT } from "../api/serviceInput";
import { JobExpectationError } from "./errors";
import { optionKeys } from "../core/options";
import { checkId, checkOptions } from "../core/validate";
import type { HrpCronRun } from "../schema/entities/HrpCronRun";
import type { RunOutcome } from "../schema/entities/HrpCronRunLog";
import {
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

const RUN_OUTCOMES: readonly RunOutcome[] = ["done", "failed", "interrupted", "stopped"];

/** Which runs (rows of the audit view `hrp_cron_runs`) an expectation is about; every field given must match. */
export interface RunMatch {
  /** Runs of this job (`enqueue` / `runByCron` returned it). */
  readonly jobId?: number;
  /** Runs of this cron (`ir_cron` row: a recurring cron, or a `runByCron` job's record). */
  readonly cronId?: number;
  /** `"model.method"`, or the job `defineJob` made. */
  readonly method?: MethodMatch;
  /** `done`, `failed`, `interrupted`, `stopped`, or a list of them. */
  readonly state?: RunOutcome | readonly RunOutcome[];
  /** The user the run ran as. */
  readonly userId?: number;
}

const RUN_MATCH_KEYS = optionKeys<RunMatch>({ jobId: true, cronId: true, method: true, state: true, userId: true });

/**
 * The recorded runs matching `match` (by default every run), oldest first,
 * as the audit view `hrp_cron_runs` has them: who ran it (`userId`), when,
 * its `state`, and its `error` (message and stack) if it failed.
 *
 * ```ts
 * const [run] = await runsOf(dataSource, { jobId: job.id });
 * expect([run.state, run.userId]).toEqual(["done", approver.id]);
 * ```
 * @throws ValidationError for a malformed match
 */
export async function runsOf(dataSource: DataSource, match: RunMatch = {}): Promise<HrpCronRun[]> {
  const { checks, runs } = await matchRuns(dataSource, match);
  return runs.filter((run) => differences(run, checks).length === 0);
}

/**
 * Resolves with the newest run matching `match`; throws
 * {@link JobExpectationError} when there is none, listing the runs of the
 * same job (or cron, or method; else every run) and how each differs.
 *
 * ```ts
 * await expectRun(dataSource, { jobId: job.id, state: "done", userId: approver.id });
 * ```
 * @throws JobExpectationError, ValidationError
 */
export async function expectRun(dataSource: DataSource, match: RunMatch): Promise<HrpCronRun> {
  const { checks, scope, runs } = await matchRuns(dataSource, match);
  const found = runs.filter((run) => differences(run, checks).length === 0);
  if (found.length > 0) return found[found.length - 1];
  const related = scope.length > 0 ? runs.filter((run) => differences(run, scope).length === 0) : [];
  const shown = related.length > 0 ? related : runs;
  const heading =
    runs.length === 0
      ? "Nothing has run at all (did the test drain? was the job due at the drain's clock?)."
      : related.length > 0
        ? `Runs of ${describeChecks(scope)}, and how each differs:`
        : `${scope.length > 0 ? `Nothing of ${describeChecks(scope)} ran. ` : ""}Every run, and how each differs:`;
  throw new JobExpectationError(
    `Expected a run matching ${describeChecks(checks)}, but none matches.\n${heading}` +
      (shown.length > 0
        ? `\n${listed(shown.map((run) => `${runLine(run)} — ${differences(run, checks).join("; ")}`))}`
        : ""),
    { match: describeChecks(checks), runs: runs.length },
  );
}

/** A run in one line: `run of job 3 (a.b) as user 2 at ...: failed (Error: boom)`. */
function runLine(run: HrpCronRun): string {
  const what = run.hrpCronJobId !== null ? `job ${run.hrpCronJobId}` : `cron ${run.cronId}`;
  const error = run.error === null ? "" : ` (${run.error.split("\n")[0]})`;
  return `run of ${what} (${run.model}.${run.function}) as user ${run.userId} at ${show(run.dateStart)}: ${run.state}${error}`;
}

/**
 * The checks of `match` (`scope`: those that say whose runs: job, cron,
 * method) and the runs to look at, oldest first (one job's or cron's when
 * the match names it).
 */
async function matchRuns(
  dataSource: DataSource,
  match: RunMatch,
): Promise<{ checks: Array<FieldCheck<HrpCronRun>>; scope: Array<FieldCheck<HrpCronRun>>; runs: HrpCronRun[] }> {
  const m = checkOptions("match", match, RUN_MATCH_KEYS);
  const scope: Array<FieldCheck<HrpCronRun>> = [];
  if (m.jobId !== undefined) scope.push(fieldCheck("jobId", checkId("jobId", m.jobId), (run) => run.hrpCronJobId));
  if (m.cronId !== undefined) scope.push(fieldCheck("cronId", checkId("cronId", m.cronId), (run) => run.cronId));
  if (m.method !== undefined)
    scope.push(fieldCheck("method", methodOf(m.method).name, (run) => `${run.model}.${run.function}`));
  const checks = [...scope];
  if (m.state !== undefined)
    checks.push(stateCheck("state", checkStates("state", m.state, RUN_OUTCOMES), (run) => run.state));
  if (m.userId !== undefined) checks.push(fieldCheck("userId", checkId("userId", m.userId), (run) => run.userId));
  const runs = await new JobAdmin(dataSource).listRuns({ limit: MAX_LIST_LIMIT });
  return { checks, scope, runs: runs.reverse() };
}
