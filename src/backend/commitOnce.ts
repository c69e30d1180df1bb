import type { EntityManager } from "typeorm";
import { CommitInterrupted, type Backend, type CommitStatus, type TransactionWork } from "./backend";
import { callerTransaction } from "./base";
import { CommitOutcomeUnknownError, DatabaseUnavailableError, type WriteDescription } from "../core/errors";
import { RetryBudget, type RetryPolicy } from "./retry";

/**
 * Runs `work` in a transaction of its own and commits it exactly once, or
 * says why it cannot tell.
 *
 * Transient failures before the COMMIT (refused or dropped connection,
 * server restarting, deadlock, SQLite busy) roll back by themselves, so the
 * whole transaction is retried with backoff for the policy's budget; when
 * the budget is spent it throws {@link DatabaseUnavailableError} with
 * `written: "nothing"`.
 *
 * A connection that fails while the COMMIT is on its way is different: the
 * server may have committed and only the reply was lost, so a blind retry
 * could write twice (two jobs for one `enqueue`). Instead the database is
 * asked ({@link Backend.commitStatus}, on a new connection, within the same
 * budget): committed — the call returns what `work` produced; aborted —
 * nothing was written and it is retried; still unknown when the budget runs
 * out (or the server no longer knows) — {@link CommitOutcomeUnknownError}.
 *
 * Other errors (validation, unique violations, ...) are thrown as they are.
 *
 * ```ts
 * const job = await commitOnce(backend, options, { operation: "enqueue", method }, (m) => insertJob(...));
 * ```
 */
export async function commitOnce<T>(
  backend: Backend,
  policy: RetryPolicy,
  what: WriteDescription,
  work: TransactionWork<T>,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  const budget = new RetryBudget(policy);
  for (;;) {
    let failure: unknown;
    try {
      return await backend.trackedTransaction(work);
    } catch (error) {
      failure = error;
      if (error instanceof CommitInterrupted) {
        if ((await settle(backend, budget, error, what)) === "committed") return error.value as T;
        failure = error.cause; // aborted: it wrote nothing, so it may run again
      }
    }
    if (!backend.isTransientError(failure)) throw failure;
    onRetry?.(failure, budget.attempts);
    if (!(await budget.next()))
      throw new DatabaseUnavailableError(what, "nothing", budget.attempts, budget.elapsedMs, failure, budget.stopped);
  }
}

/**
 * Asks until the database gives a final answer about an interrupted
 * commit, waiting out an unreachable server within `budget`.
 * @throws CommitOutcomeUnknownError when it cannot tell
 */
async function settle(
  backend: Backend,
  budget: RetryBudget,
  interrupted: CommitInterrupted,
  what: WriteDescription,
): Promise<"committed" | "aborted"> {
  let reason: unknown = interrupted.cause;
  for (;;) {
    let status: CommitStatus | "unreachable" = "unreachable";
    try {
      status = await backend.commitStatus(interrupted.ticket);
    } catch (error) {
      if (!backend.isTransientError(error))
        throw new CommitOutcomeUnknownError(what, interrupted.ticket.transactionId, error);
      reason = error;
    }
    if (status === "committed" || status === "aborted") return status;
    if (status === "unknown") break;
    // "in progress" (its server process was just told to end) or unreachable: ask again shortly.
    if (!(await budget.next())) break;
  }
  throw new CommitOutcomeUnknownError(what, interrupted.ticket.transactionId, reason);
}

/**
 * A public write's transaction: the caller's when one is open (`given`, or
 * the running job's: see `callerTransaction`) — the rows then exist only if
 * it commits, and the caller owns its retries — else our own, committed
 * exactly once ({@link commitOnce}).
 */
export function writeOnce<T>(
  backend: Backend,
  policy: RetryPolicy,
  what: WriteDescription,
  given: EntityManager | undefined,
  work: TransactionWork<T>,
): Promise<T> {
  const joined = callerTransaction(given);
  return joined ? work(joined) : commitOnce(backend, policy, what, work);
}
