import { JobResultError } from "../core/jobErrors";
import { ValidationError } from "../core/errors";

/** Helpers of a job method's call: its stored arguments, its abort race, its JSON-safe result. */

/** Stored args are a JSON array; anything else is a data error that fails the run. */
export function parseArgs(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError("args", `stored args are not valid JSON: ${text.slice(0, 80)}`);
  }
  if (!Array.isArray(parsed))
    throw new ValidationError("args", `stored args must be a JSON array, got ${text.slice(0, 80)}`);
  return parsed;
}

/** Resolves or rejects with `work`, or rejects with the signal's reason as soon as it aborts (leaving `work` behind). */
export function untilAborted<T>(work: Promise<T> | T, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(work).then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** A method's return value as JSON data (undefined and unserialisable values become null). */
export function toJsonSafe(value: unknown): unknown {
  try {
    return value === undefined ? null : JSON.parse(JSON.stringify(value));
  } catch {
    return null;
  }
}

/**
 * A one-shot job's return value as the JSON text its row stores (null for
 * `undefined`, and for recurring crons, which keep no result).
 * @throws JobResultError when it is not JSON data or its JSON is over `maxBytes`
 */
export function resultText(value: unknown, maxBytes: number): string | null {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new JobResultError("not-json", error instanceof Error ? error.message : String(error), maxBytes);
  }
  if (text === undefined) throw new JobResultError("not-json", `a ${typeof value}`, maxBytes);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw new JobResultError("too-large", `${bytes} bytes`, maxBytes);
  return text;
}
