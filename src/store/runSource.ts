import type { EntityManager } from "typeorm";
import { hydrate } from "../backend";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import { IrCron } from "../schema/entities/IrCron";

/**
 * The two sources of runs (migration 0014): recurring crons are claimed from
 * `ir_cron`, one-shot jobs (`runByCron`, `enqueue`) from their own
 * `hrp_cron_job` row — one row per job that goes `pending` → `running` →
 * `done`, with its claim, stop request and crash state on it. The seed's
 * `ir_cron` row of a `runByCron` job is a record the claim never reads.
 *
 * Above the store, a claimed run always looks like a cron (`ClaimedRun.cron`,
 * an {@link IrCron}): a job's run is its row read as a one-shot cron
 * ({@link jobAsCron}), with `hrpCronJobId` set and `id` its `ir_cron` row's
 * id (0 for a queue job, which has none). Runs are told apart by
 * {@link runKey}, never by `cron.id` alone.
 */

/** Where a run is claimed: `ir_cron` (a recurring cron) or `hrp_cron_job` (a one-shot job). */
export type RunSource = "cron" | "job";

/** A run's identity across both sources: `cron:<ir_cron id>` or `job:<hrp_cron_job id>`. */
export type RunKey = string;

/** The table a source's runs are claimed from. */
export function tableOf(source: RunSource): "ir_cron" | "hrp_cron_job" {
  return source === "cron" ? "ir_cron" : "hrp_cron_job";
}

/** A claimed run's source: a job's run has its job id. */
export function sourceOf(cron: Pick<IrCron, "hrpCronJobId">): RunSource {
  return cron.hrpCronJobId === null ? "cron" : "job";
}

/** The id of a run's row in its source's table. */
export function rowIdOf(cron: Pick<IrCron, "id" | "hrpCronJobId">): number {
  return cron.hrpCronJobId ?? cron.id;
}

/** The identity of a claimed run. */
export function runKey(cron: Pick<IrCron, "id" | "hrpCronJobId">): RunKey {
  return keyOf(sourceOf(cron), rowIdOf(cron));
}

/** The key of row `id` of `source`. */
export function keyOf(source: RunSource, id: number): RunKey {
  return `${source}:${id}`;
}

/** A key's source and row id. */
export function parseKey(key: RunKey): { source: RunSource; id: number } {
  const [source, id] = key.split(":");
  return { source: source === "job" ? "job" : "cron", id: Number(id) };
}

/** Keys split by source: the row ids of each. */
export function idsBySource(keys: Iterable<RunKey>): Record<RunSource, number[]> {
  const out: Record<RunSource, number[]> = { cron: [], job: [] };
  for (const key of keys) {
    const { source, id } = parseKey(key);
    out[source].push(id);
  }
  return out;
}

/**
 * A job's row read as the one-shot cron the engine runs: due at its
 * `nextcall`, one call (`numbercall` 1), as its user, with its claim and
 * crash state. `cronId`: its `ir_cron` row (`runByCron`), or 0 (a queue job).
 */
export function jobAsCron(job: HrpCronJob, cronId: number): IrCron {
  return Object.assign(new IrCron(), {
    id: cronId,
    name: job.name,
    active: true,
    userId: job.userId,
    userKey: job.userKey,
    priority: job.priority,
    intervalNumber: 1,
    intervalType: "minutes" as const,
    cronExpression: null,
    tz: null,
    nextcall: job.nextcall ?? job.dateCreated,
    nextcallWall: null,
    lastcall: null,
    numbercall: 1,
    doall: false,
    model: job.model,
    function: job.function,
    args: job.args,
    hrpCronJobId: job.id,
    failureCount: job.failureCount,
    firstFailureDate: null,
    runningWorker: job.runningWorker,
    runningSince: job.runningSince,
    createUid: job.createUid,
    createDate: job.createDate,
    writeDate: null,
    stopRequested: job.stopRequested,
    crashCount: job.crashCount,
    suspect: job.suspect,
    suspectStarted: job.suspectStarted,
    plannedNextcall: null,
    retrigger: false,
    unservedSince: job.unservedSince,
    queue: job.queue,
    timeoutMs: job.timeoutMs,
    concurrencyKey: job.concurrencyKey,
    concurrencyLimit: job.concurrencyLimit,
  });
}

/** Job rows as read by `SELECT *` / `RETURNING *` (plus `cron_id`: the `ir_cron` row, if any), as runs. */
export function jobRowsAsCrons(m: EntityManager, rows: readonly Record<string, unknown>[]): IrCron[] {
  const jobs = hydrate(m, HrpCronJob, rows);
  return jobs.map((job, i) => jobAsCron(job, Number(rows[i].cron_id ?? 0)));
}

/** Reads run `key` as claimed now (a cron, or a job as a cron), or null when its row is gone. */
export async function findRun(m: EntityManager, key: RunKey): Promise<IrCron | null> {
  const { source, id } = parseKey(key);
  if (source === "cron") return m.findOneBy(IrCron, { id });
  const job = await m.findOneBy(HrpCronJob, { id });
  if (!job) return null;
  const cron =
    job.kind === "cron" ? await m.findOne(IrCron, { where: { hrpCronJobId: id }, select: { id: true } }) : null;
  return jobAsCron(job, cron?.id ?? 0);
}
