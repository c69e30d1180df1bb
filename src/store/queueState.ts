import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";

/** The SQL of paused queues (`hrp_cron_queue_state`, migration 0020); claims read it through `queueNotPaused`. */

/** A queue's pause as stored. */
export interface QueuePause {
  readonly queue: string;
  readonly paused: boolean;
  readonly changedAt: Date;
  readonly changedBy: string;
  readonly reason: string | null;
}

/**
 * Pauses (`paused`) or resumes `queue`: a compare-and-set, so of two
 * operators pausing at once one wins and the other is told. Returns false
 * when the queue already was in that state (nothing written).
 */
export async function setQueuePaused(
  backend: Backend,
  m: EntityManager,
  queue: string,
  paused: boolean,
  at: Date,
  by: string,
  reason: string | null,
): Promise<boolean> {
  const [to, from] = paused ? ["TRUE", "FALSE"] : ["FALSE", "TRUE"];
  const args = [backend.toDbDate(at), by, reason, queue];
  const changed = await backend.execute(
    m,
    `UPDATE hrp_cron_queue_state SET paused = ${to}, changed_at = ?, changed_by = ?, reason = ? WHERE queue = ? AND paused = ${from}`,
    args,
  );
  if (changed > 0) return true;
  const [known] = await backend.query(m, `SELECT 1 AS one FROM hrp_cron_queue_state WHERE queue = ?`, [queue]);
  if (known || !paused) return false; // already in that state (a queue never paused is not paused)
  await backend.execute(
    m,
    `INSERT INTO hrp_cron_queue_state (paused, changed_at, changed_by, reason, queue) VALUES (TRUE, ?, ?, ?, ?)`,
    args,
  );
  return true;
}

/** Every queue ever paused, with its state now. */
export async function queuePauses(backend: Backend, m: EntityManager): Promise<QueuePause[]> {
  const rows = await backend.query<Record<string, unknown>>(m, `SELECT * FROM hrp_cron_queue_state ORDER BY queue`);
  return rows.map((r) => toPause(backend, r));
}

function toPause(backend: Backend, r: Record<string, unknown>): QueuePause {
  return {
    queue: String(r.queue),
    paused: backend.fromDbBool(r.paused),
    changedAt: backend.fromDbDate(r.changed_at)!,
    changedBy: String(r.changed_by),
    reason: (r.reason as string | null) ?? null,
  };
}
