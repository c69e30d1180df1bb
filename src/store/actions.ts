import type { DataSource, EntityManager } from "typeorm";
import { backendFor, type Backend } from "../backend";
import type { ActionSource, Operator } from "../core/operator";

/**
 * The SQL of the operator action log (`hrp_cron_action`, migration 0018):
 * one row per operator action, inserted by the action's own transaction.
 */

/** What an operator did, as the log records it (one row of `hrp_cron_action`). */
export interface OperatorAction {
  readonly id: number;
  readonly createdAt: Date;
  /** `retry`, `cancel`, `stop`, `purge`, `activate`, `deactivate`, `trigger`, ... */
  readonly action: string;
  /** `job`, `cron`, `queue`, `job_type`, or `jobs` for an action on a filter. */
  readonly targetType: string;
  /** The one job, cron or type acted on; null for an action on many. */
  readonly targetId: number | null;
  /** The ids acted on, for an action on many (JSON array text), else null. */
  readonly targetIds: number[] | null;
  /** The filter an action on many was given (JSON), else null. */
  readonly filter: Record<string, unknown> | null;
  /** How many rows the action changed (or, for a dry run, would change). */
  readonly affected: number;
  /** The operator's login (`api` when the API caller gave none). */
  readonly actor: string;
  readonly source: ActionSource;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly reason: string | null;
  /** What came of it, in words: `job 12 is pending, due 2026-12-01T08:00:00.000Z`. */
  readonly outcome: string;
}

/** The row to insert: everything but its id, time and operator, which {@link recordAction} adds. */
export type ActionRecord = Pick<OperatorAction, "action" | "targetType" | "outcome" | "affected"> &
  Partial<Pick<OperatorAction, "targetId" | "targetIds" | "filter">>;

/** Inserts the action row in `m`'s transaction: it commits, or rolls back, with the change it records. */
export async function recordAction(
  backend: Backend,
  m: EntityManager,
  operator: Operator,
  at: Date,
  record: ActionRecord,
): Promise<void> {
  await backend.execute(
    m,
    `INSERT INTO hrp_cron_action (created_at, action, target_type, target_id, target_ids, filter, affected, actor, source, ip, user_agent, reason, outcome)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      backend.toDbDate(at),
      record.action,
      record.targetType,
      record.targetId ?? null,
      record.targetIds ? JSON.stringify(record.targetIds) : null,
      record.filter ? JSON.stringify(record.filter) : null,
      record.affected,
      operator.by,
      operator.source,
      operator.ip,
      operator.userAgent,
      operator.reason,
      record.outcome,
    ],
  );
}

/** Filters of {@link listActions}; several narrow together. */
export interface ActionFilter {
  /** Actions at or after this date. */
  readonly since?: Date;
  /** Actions before this date. */
  readonly until?: Date;
  /** Actions by this login. */
  readonly by?: string;
  /** Actions of this kind (`retry`, `cancel`, ...). */
  readonly action?: string;
  /** Actions on this one target (with `targetId`): `job`, `cron`, `queue`, `job_type`. */
  readonly targetType?: string;
  readonly targetId?: number;
  /** Actions on job `jobId`: on it alone (`targetType` `job`) or on many jobs including it (a bulk action's `targetIds`). */
  readonly jobId?: number;
  /** Actions on queue `queue` (pause, resume). */
  readonly queue?: string;
  /** Actions older than action `beforeId` (keyset paging: the last id of the previous page). */
  readonly beforeId?: number;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** Operator actions, newest first. */
export async function listActions(
  dataSource: DataSource,
  filter: ActionFilter & { readonly limit: number },
): Promise<OperatorAction[]> {
  const backend = backendFor(dataSource);
  const where: string[] = [];
  const params: unknown[] = [];
  const conditions: Array<[string, unknown]> = [
    ["created_at >= ?", filter.since && backend.toDbDate(filter.since)],
    ["created_at < ?", filter.until && backend.toDbDate(filter.until)],
    ["actor = ?", filter.by],
    ["action = ?", filter.action],
    ["target_type = ?", filter.targetType],
    ["target_id = ?", filter.targetId],
    // A bulk action's ids are a JSON array without spaces: `[3,17]` → `,3,17,` contains `,17,`.
    [
      "((target_type = 'job' AND target_id = ?) OR REPLACE(REPLACE(target_ids, '[', ','), ']', ',') LIKE ?)",
      filter.jobId === undefined ? undefined : [filter.jobId, `%,${filter.jobId},%`],
    ],
    // A queue's pause is recorded with the filter `{"queue":NAME}` (see `setQueuePausedAudited`).
    [
      "target_type = 'queue' AND filter = ?",
      filter.queue === undefined ? undefined : JSON.stringify({ queue: filter.queue }),
    ],
    ["id < ?", filter.beforeId],
  ];
  for (const [condition, value] of conditions) {
    if (value === undefined) continue;
    where.push(condition);
    params.push(...(Array.isArray(value) ? value : [value]));
  }
  const rows = await backend.query<Record<string, unknown>>(
    dataSource.manager,
    `SELECT * FROM hrp_cron_action ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
    [...params, filter.limit],
  );
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));
  return rows.map((r) => ({
    id: Number(r.id),
    createdAt: backend.fromDbDate(r.created_at)!,
    action: String(r.action),
    targetType: String(r.target_type),
    targetId: r.target_id === null || r.target_id === undefined ? null : Number(r.target_id),
    targetIds: json(r.target_ids) as number[] | null,
    filter: json(r.filter) as Record<string, unknown> | null,
    affected: Number(r.affected),
    actor: String(r.actor),
    source: r.source as ActionSource,
    ip: (r.ip as string | null) ?? null,
    userAgent: (r.user_agent as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    outcome: String(r.outcome),
  }));
}

/** Deletes (or, for a dry run, counts) action-log rows older than `before`; only when an operator asks (`purge --actions-days`). */
export async function purgeActions(backend: Backend, m: EntityManager, before: Date, dryRun: boolean): Promise<number> {
  const at = backend.toDbDate(before);
  if (dryRun)
    return Number(
      (
        await backend.query<{ n: unknown }>(m, `SELECT COUNT(*) AS n FROM hrp_cron_action WHERE created_at < ?`, [at])
      )[0].n,
    );
  return backend.execute(m, `DELETE FROM hrp_cron_action WHERE created_at < ?`, [at]);
}
