import { Between, LessThan, MoreThanOrEqual, type DataSource } from "typeorm";
import { NotFoundError } from "../core/errors";
import { HrpCronJob, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import { HrpCronRunLog } from "../schema/entities/HrpCronRunLog";
import { IrCron } from "../schema/entities/IrCron";

/** The reads of listings and lookups (`listJobs`, `listRuns`, `listCrons`, `getJob`, ...), outside any transaction. */

/** Filters for {@link HrpCronJobService.listJobs}. */
export interface JobFilter {
  readonly state?: HrpCronJobState;
  readonly queue?: string;
  readonly model?: string;
  /** Method name (`function` column). */
  readonly function?: string;
  readonly userId?: number;
  /** Jobs due (`date_created`) at or after this date. */
  readonly since?: Date;
  /** Jobs due before this date. */
  readonly until?: Date;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** Filters for {@link HrpCronJobService.listRuns}. */
export interface RunFilter {
  readonly cronId?: number;
  readonly jobId?: number;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** A {@link JobFilter} checked, with its dates parsed and its limit set. */
export type JobQuery = Omit<JobFilter, "limit"> & { readonly limit: number };

/** Jobs, newest first. */
export function listJobs(dataSource: DataSource, filter: JobQuery): Promise<HrpCronJob[]> {
  const where: Record<string, unknown> = {};
  if (filter.state) where.state = filter.state;
  if (filter.queue) where.queue = filter.queue;
  if (filter.model) where.model = filter.model;
  if (filter.function) where.function = filter.function;
  if (filter.userId) where.userId = filter.userId;
  const { since, until } = filter;
  if (since && until) where.dateCreated = Between(since, new Date(until.getTime() - 1));
  else if (since) where.dateCreated = MoreThanOrEqual(since);
  else if (until) where.dateCreated = LessThan(until);
  return dataSource.manager.find(HrpCronJob, { where, order: { id: "DESC" }, take: filter.limit });
}

/** Run-log rows, newest first. */
export function listRuns(
  dataSource: DataSource,
  filter: RunFilter & { readonly limit: number },
): Promise<HrpCronRunLog[]> {
  const where: Record<string, unknown> = {};
  if (filter.cronId) where.cronId = filter.cronId;
  if (filter.jobId) where.hrpCronJobId = filter.jobId;
  return dataSource.manager.find(HrpCronRunLog, { where, order: { id: "DESC" }, take: filter.limit });
}

/** All crons, in run order. */
export function listCrons(dataSource: DataSource): Promise<IrCron[]> {
  return dataSource.manager.find(IrCron, { order: { priority: "ASC", nextcall: "ASC", id: "ASC" } });
}

/** @throws NotFoundError */
export async function getCron(dataSource: DataSource, cronId: number): Promise<IrCron> {
  const cron = await dataSource.manager.findOneBy(IrCron, { id: cronId });
  if (!cron) throw new NotFoundError("ir_cron", cronId);
  return cron;
}

/** @throws NotFoundError */
export async function getJob(dataSource: DataSource, jobId: number): Promise<HrpCronJob> {
  const job = await dataSource.manager.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  return job;
}

/** The one-shot cron of a job. @throws NotFoundError */
export async function getJobCron(dataSource: DataSource, jobId: number): Promise<IrCron> {
  const cron = await dataSource.manager.findOneBy(IrCron, { hrpCronJobId: jobId });
  if (!cron) throw new NotFoundError("ir_cron for hrp_cron_job", jobId);
  return cron;
}
