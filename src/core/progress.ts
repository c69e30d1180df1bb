import { ValidationError } from "./errors";

/** What `env.progress(done, total, message)` reports, checked. */
export interface Progress {
  readonly done: number;
  readonly total: number | null;
  readonly message: string | null;
}

/**
 * `env.progress`'s arguments checked: `done` and `total` integers from 0
 * to 2147483647 with `done <= total`, `message` at most 500 characters.
 * @throws ValidationError
 */
export function checkProgress(done: unknown, total: unknown, message: unknown): Progress {
  const count = (field: string, value: unknown) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > 2_147_483_647)
      throw new ValidationError(`progress.${field}`, "must be an integer from 0 to 2147483647", value);
    return value;
  };
  const d = count("done", done);
  const t = total === undefined || total === null ? null : count("total", total);
  if (t !== null && d > t) throw new ValidationError("progress.done", `must not exceed total (${t})`, d);
  if (message !== undefined && message !== null && (typeof message !== "string" || message.length > 500))
    throw new ValidationError("progress.message", "must be a string of at most 500 characters", message);
  return { done: d, total: t, message: (message as string | undefined) ?? null };
}
