import { ValidationError } from "./errors";
import { splitMethodName } from "./methodName";
import type { JobEnv } from "./types";
import { describe } from "./validate";

/**
 * A typed job: its registered name and its method, whose keyword
 * arguments (`Kwargs`) and return value (`Result`) the compiler then checks
 * at every `enqueue`, inline run and `getJobResult`. Made by
 * {@link defineJob}, registered with `ModelRegistry.define`.
 */
export interface JobDefinition<Kwargs = unknown, Result = unknown> {
  /** `model.method`, as listings and the database show it. */
  readonly name: string;
  readonly model: string;
  readonly method: string;
  /** The method: called as `run(env, kwargs)` (no kwargs: `run(env)`). */
  readonly run: (env: JobEnv, kwargs: Kwargs) => Result | Promise<Result>;
}

/**
 * Declares a typed job method under `name` (`"model.method"`).
 *
 * ```ts
 * export const createMove = defineJob(
 *   "hrp.asset.receiving.application.createAssetAcceptanceAccountMove",
 *   async (env, kw: { applicationIds: number[] }) => {
 *     const moves = await env.manager.save(AccountMove, kw.applicationIds.map((id) => ({ applicationId: id, createUid: env.uid })));
 *     return { moveIds: moves.map((m) => m.id) };
 *   },
 * );
 * registry.define(createMove);
 * const job = await queue.enqueue(createMove, { kwargs: { applicationIds: [12] }, delayMs: 30_000 }); // kwargs checked
 * const { moveIds } = await queue.getJobResult(job); // typed { moveIds: number[] } once it is done
 * ```
 * @throws ValidationError when `name` is not `model.method` or `run` is not a function
 */
export function defineJob<Kwargs = undefined, Result = void>(
  name: string,
  run: (env: JobEnv, kwargs: Kwargs) => Result | Promise<Result>,
): JobDefinition<Kwargs, Awaited<Result>> {
  const split = typeof name === "string" ? splitMethodName(name) : null;
  if (split === null)
    throw new ValidationError("name", `expected "model.method" (e.g. "hrp.asset.post"), got ${describe(name)}`, name);
  if (typeof run !== "function")
    throw new ValidationError(
      "run",
      `expected the job's method, (env, kwargs) => ..., got ${describe(run)}`,
      undefined,
    );
  return Object.freeze({
    name,
    model: split.model,
    method: split.method,
    run: run as JobDefinition<Kwargs, Awaited<Result>>["run"],
  });
}

/** Whether `value` is a {@link JobDefinition} (as `enqueue` receives it among method references). */
export function isJobDefinition(value: unknown): value is JobDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as JobDefinition).model === "string" &&
    typeof (value as JobDefinition).method === "string" &&
    typeof (value as JobDefinition).run === "function"
  );
}
