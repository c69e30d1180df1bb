import type { Backend } from "../backend";
import { retriedTransaction } from "../backend/retry";
import type { Operator } from "../core/operator";
import { DEFAULTS, optionKeys } from "../core/options";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkInt, checkOptions, optionalBool } from "../core/validate";
import { purgeActions, recordAction } from "../store/actions";
import { purgeJobs, type PurgeCounts } from "../store/jobAdmin";

/** What `JobAdmin.purge` deletes. */
export interface PurgeOptions {
  /** Finished (done, cancelled, stopped) jobs older than this. @defaultValue 7 days */
  readonly finishedOlderThanMs?: number;
  /** Failed jobs older than this. @defaultValue 30 days */
  readonly failedOlderThanMs?: number;
  /** Also delete the run-log rows of the purged jobs' failed, stopped and interrupted runs. @defaultValue false (kept) */
  readonly deleteFailureLogs?: boolean;
  /**
   * Also delete operator action-log rows (`hrp_cron_action`) older than
   * this; the log is kept otherwise. @defaultValue undefined (kept)
   */
  readonly actionsOlderThanMs?: number;
  /** Only count what would be deleted. @defaultValue false */
  readonly dryRun?: boolean;
}

/** What `JobAdmin.purgeReport` deleted, or would delete (`dryRun`). */
export interface PurgeReport extends PurgeCounts {
  /** Finished jobs that ended before this were purged. */
  readonly finishedBefore: Date;
  /** Failed jobs that ended before this were purged. */
  readonly failedBefore: Date;
  /** Action-log rows deleted (or that would be): only with `actionsOlderThanMs`. */
  readonly actions: number;
  readonly dryRun: boolean;
}

const PURGE_OPTION_KEYS = optionKeys<PurgeOptions>({
  finishedOlderThanMs: true,
  failedOlderThanMs: true,
  deleteFailureLogs: true,
  actionsOlderThanMs: true,
  dryRun: true,
});

/**
 * Retention (`JobAdmin.purge` / `purgeReport`): finished jobs older than
 * `finishedOlderThanMs`, failed ones older than `failedOlderThanMs`, with
 * their ir_cron records and their successful runs' log rows; the logs of
 * failed, stopped and interrupted runs stay unless `deleteFailureLogs`; the
 * operator action log stays unless `actionsOlderThanMs`. One transaction,
 * with its own action-log row (a dry run writes nothing).
 */
export async function purgeReport(
  backend: Backend,
  shared: ResolvedShared,
  options: PurgeOptions,
  by: Operator,
): Promise<PurgeReport> {
  options = checkOptions("options", options, PURGE_OPTION_KEYS);
  const finishedMs = checkInt(
    "finishedOlderThanMs",
    options.finishedOlderThanMs ?? DEFAULTS.purgeFinishedOlderThanMs,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const failedMs = checkInt(
    "failedOlderThanMs",
    options.failedOlderThanMs ?? DEFAULTS.purgeFailedOlderThanMs,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const actionsMs =
    options.actionsOlderThanMs === undefined
      ? null
      : checkInt("actionsOlderThanMs", options.actionsOlderThanMs, 0, Number.MAX_SAFE_INTEGER);
  const flags = {
    deleteFailureLogs: optionalBool("deleteFailureLogs", options.deleteFailureLogs, false),
    dryRun: optionalBool("dryRun", options.dryRun, false),
  };
  const now = shared.now().getTime();
  const finishedBefore = new Date(now - finishedMs);
  const failedBefore = new Date(now - failedMs);
  const counts = await retriedTransaction(backend, shared, async (m) => {
    const purged = await purgeJobs(backend, m, finishedBefore, failedBefore, flags);
    const actions = actionsMs === null ? 0 : await purgeActions(backend, m, new Date(now - actionsMs), flags.dryRun);
    // A dry run changes nothing, so it is not an action.
    if (!flags.dryRun)
      await recordAction(backend, m, by, shared.now(), {
        action: "purge",
        targetType: "jobs",
        filter: { finishedBefore, failedBefore, deleteFailureLogs: flags.deleteFailureLogs },
        affected: purged.finishedJobs + purged.failedJobs,
        outcome: `deleted ${purged.finishedJobs} finished and ${purged.failedJobs} failed job(s); ${
          flags.deleteFailureLogs ? `deleted ${purged.failureLogsDeleted}` : `kept ${purged.failureLogsKept}`
        } failure log row(s)${actionsMs === null ? "" : `; deleted ${actions} older action-log row(s)`}`,
      });
    return { ...purged, actions };
  });
  return { ...counts, finishedBefore, failedBefore, dryRun: flags.dryRun };
}
