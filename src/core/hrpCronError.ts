/**
 * The error family of hrp-cron. Every error thrown on purpose by the library
 * is an {@link HrpCronError}; callers can branch on `instanceof` or on the
 * stable `code` string. Each message says what was wrong and what to do.
 */
export class HrpCronError extends Error {
  /** Stable machine-readable code, e.g. `"VALIDATION"`. */
  readonly code: string;
  /** Structured context (ids, field names, values) for logs and callers. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = Object.freeze({ ...context });
    // Keep the prototype chain right when compiled to older targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }

  override get name(): string {
    return "HrpCronError";
  }
}

/** Normalises anything thrown into an `Error` (strings, objects, `undefined`). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  // An Error of another realm (a vm context, a test runner's sandbox) fails instanceof but is one.
  if (Object.prototype.toString.call(thrown) === "[object Error]") return thrown as Error;
  if (typeof thrown === "string") return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`Non-error value thrown: ${text}`, { cause: thrown });
}

/** Message and stack of an error, as stored in `exc_info` / the run log. */
export function formatExcInfo(thrown: unknown): string {
  const err = coerceError(thrown);
  const stack = err.stack ?? `${err.name}: ${err.message}`;
  return stack.includes(err.message) ? stack : `${err.name}: ${err.message}\n${stack}`;
}
