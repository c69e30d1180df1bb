import { AsyncLocalStorage } from "node:async_hooks";
import type { EntityManager } from "typeorm";

interface Ambient {
  readonly uid: number;
  /** Set while a job method runs: the run's transaction. */
  readonly manager?: EntityManager;
  /** Set while a job method runs: the cron it runs for. */
  readonly cronId?: number;
}

const storage = new AsyncLocalStorage<Ambient>();

/**
 * Runs `fn` with `uid` as the ambient user, like Odoo's `env.user`: calls to
 * `runByCron` inside it default to that user, and job methods run inside it
 * as their stored user. The ambient user follows async calls made from `fn`.
 *
 * ```ts
 * await runAsUser(approver.id, () => service.runByCron("Create move", "hrp.asset", "createMove", [ids]));
 * ```
 */
export function runAsUser<T>(uid: number, fn: () => T): T {
  return storage.run({ ...storage.getStore(), uid }, fn);
}

/** The ambient user id set by the nearest enclosing {@link runAsUser}, or undefined. */
export function currentUserId(): number | undefined {
  return storage.getStore()?.uid;
}

/**
 * Runs a job method as `uid` inside the run's transaction (of cron `cronId`). hrp-cron calls
 * made by the method (scheduling a follow-up job, triggering a cron) join
 * that transaction, so they commit or roll back with the run.
 * @internal
 */
export function runInJob<T>(uid: number, manager: EntityManager, fn: () => T, cronId?: number): T {
  return storage.run({ uid, manager, cronId }, fn);
}

/** The cron whose run is executing the current job method, if any (a cron may re-trigger itself). @internal */
export function currentJobCronId(): number | undefined {
  return storage.getStore()?.cronId;
}

/** The transaction of the job method currently running, if any. @internal */
export function currentJobManager(): EntityManager | undefined {
  return storage.getStore()?.manager;
}
