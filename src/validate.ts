import { ValidationError } from "./errors";
import { checkDateRange } from "./schedule/dateRange";

/** Largest |priority| accepted; keeps priorities readable and within a 32-bit column. */
export const MAX_PRIORITY = 1_000_000;

/** A non-empty name of at most `max` characters (trimmed). */
export function checkName(field: string, value: unknown, max = 256): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, `expected a non-empty string, got ${describe(value)}`, value);
  }
  if (value.length > max) throw new ValidationError(field, `at most ${max} characters, got ${value.length}`, value);
  return value;
}

/** An integer priority; lower runs first. */
export function checkPriority(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > MAX_PRIORITY) {
    throw new ValidationError("priority", `expected an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${describe(value)}`, value);
  }
  return value;
}

/** A positive integer id. */
export function checkId(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new ValidationError(field, `expected a positive integer id, got ${describe(value)}`, value);
  }
  return value;
}

/** An integer in [min, max]. */
export function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected an integer from ${min} to ${max}, got ${describe(value)}`, value);
  }
  return value;
}

/**
 * A valid `Date` (or an ISO-8601 string with a time zone, which is parsed)
 * within 0001-01-01 .. 9999-12-31 UTC, the range every backend stores and
 * sorts correctly.
 */
export function checkDate(field: string, value: unknown): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return checkDateRange(field, new Date(value.getTime()));
  if (typeof value === "string" && /T.*(Z|[+-]\d\d:?\d\d)$/.test(value)) {
    const parsed = new Date(value);
    if (!Number.isNaN(parsed.getTime())) return checkDateRange(field, parsed);
  }
  throw new ValidationError(field, `expected a valid Date or an ISO-8601 string with a time zone, got ${describe(value)}`, value);
}

/**
 * Checks that `args` is an array of JSON values and returns its JSON text.
 * Arguments are data, never code: functions, `undefined`, BigInt, symbols,
 * non-finite numbers, class instances (Date, Map, Buffer, ...) and cycles are
 * refused rather than silently changed by `JSON.stringify`.
 */
export function serializeArgs(args: unknown): string {
  if (!Array.isArray(args)) throw new ValidationError("args", `expected an array of JSON values, got ${describe(args)}`, args);
  checkJson(args, "args", new Set());
  return JSON.stringify(args);
}

function checkJson(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError("args", `${path} is ${value}, which JSON cannot represent`);
    return;
  }
  if (typeof value !== "object") {
    throw new ValidationError("args", `${path} is a ${typeof value}; arguments must be JSON data (null, boolean, number, string, array, plain object)`);
  }
  if (seen.has(value)) throw new ValidationError("args", `${path} is a circular reference`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new ValidationError("args", `${path}[${i}] is a hole in a sparse array`);
      checkJson(value[i], `${path}[${i}]`, seen);
    }
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as object).constructor?.name ?? "object";
      throw new ValidationError("args", `${path} is a ${kind}; pass plain JSON data (e.g. a Date as an ISO string)`);
    }
    for (const [key, item] of Object.entries(value)) checkJson(item, `${path}.${key}`, seen);
  }
  seen.delete(value);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return `Invalid Date`;
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}
