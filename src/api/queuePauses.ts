import type { Backend } from "../backend";
import { retriedTransaction } from "../backend/retry";
import { InvalidStateError } from "../core/errors";
import type { Operator } from "../core/operator";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkName } from "../core/validate";
import { recordAction } from "../store/actions";
import { setQueuePaused } from "../store/queueState";

/**
 * Pauses (`paused`) or resumes queue `queue`, with its action-log row, in
 * one transaction (`JobAdmin.pauseQueue` / `resumeQueue`).
 * @throws ValidationError for a bad name; InvalidStateError when it already is in that state (nothing written)
 */
export async function setQueuePausedAudited(
  backend: Backend,
  options: ResolvedShared,
  queue: string,
  paused: boolean,
  by: Operator,
): Promise<void> {
  checkName("queue", queue);
  await retriedTransaction(backend, options, async (m) => {
    const now = options.now();
    if (!(await setQueuePaused(backend, m, queue, paused, now, by.by, by.reason)))
      throw new InvalidStateError(`queue ${queue} is ${paused ? "already paused" : "not paused"}`, { queue });
    await recordAction(backend, m, by, now, {
      action: paused ? "pause" : "resume",
      targetType: "queue",
      filter: { queue },
      affected: 1,
      outcome: `queue ${queue} is ${paused ? "paused" : "running again"}`,
    });
  });
}
