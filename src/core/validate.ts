import type { DataSource, EntityManager } from "typeorm";
import { HrpCronError, ValidationError } from "./errors";
import { checkDateRange } from "./dateRange";

/** Largest |priority| accepted; keeps priorities readable and within a 32-bit column. */
export const MAX_PRIORITY = 1_000_000;

/** Deepest nesting of arrays and objects accepted in job arguments (`[[[...]]]` 64 levels down). */
export const MAX_ARGS_DEPTH = 64;

/**
 * Node's timer limit (2^31 - 1 ms, about 24.8 days): a longer `setTimeout`
 * fires after 1 ms instead. Durations used as timers are capped at this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a safe `setTimeout` delay: at least 1, at most {@link MAX_TIMER_MS} (a stored longer timeout waits that long, not 1 ms). */
export function timerDelayMs(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(1, Math.floor(ms)), MAX_TIMER_MS) : MAX_TIMER_MS;
}

/** A non-empty name of at most `max` characters (trimmed), without NUL characters or lone surrogates (which databases refuse or mangle). */
export function checkName(field: string, value: unknown, max = 256): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, `expected a non-empty string, got ${describe(value)}`, value);
  }
  if (value.length > max) throw new ValidationError(field, `at most ${max} characters, got ${value.length}`, value);
  checkText(field, value);
  return value;
}

/** Refuses text a database cannot store as given: NUL (PostgreSQL refuses it) and lone UTF-16 surrogates (stored as U+FFFD). */
export function checkText(field: string, value: string): string {
  if (value.includes("\0"))
    throw new ValidationError(field, "contains a NUL character (\\0), which databases cannot store in text", value);
  if (LONE_SURROGATE.test(value))
    throw new ValidationError(
      field,
      "contains a lone UTF-16 surrogate (broken unicode), which cannot be stored as text",
      value,
    );
  return value;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `true` or `false`, nothing else: `"no"`, `0` or `1` are refused (they would otherwise be read as truthy or falsy). */
export function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean")
    throw new ValidationError(field, `expected true or false, got ${describe(value)}`, value);
  return value;
}

/** {@link checkBool} for an optional option: undefined gives `fallback`. */
export function optionalBool(field: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : checkBool(field, value);
}

/**
 * An options object: undefined gives `{}`; anything but a plain object, or
 * a key not in `allowed` (a typo such as `dedupe`; `null`: any string key), is refused,
 * and so is a `null` value (leave the option out for its default) unless the key is in `nullable`. Returns a
 * plain copy, so later reads cannot run a getter or a proxy trap again.
 */
export function checkOptions<T extends object>(
  field: string,
  value: T | undefined,
  allowed: readonly string[] | null,
  nullable: readonly string[] = [],
): T {
  if (value === undefined) return {} as T;
  const copy: Record<string, unknown> = {};
  guarded(field, () => {
    if (!isPlainObject(value))
      throw new ValidationError(field, `expected an options object, got ${describe(value)}`, value);
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key !== "string" || (allowed !== null && !allowed.includes(key))) {
        throw new ValidationError(
          field,
          `unknown option ${String(key)}; allowed: ${allowed?.join(", ") ?? "string keys"}`,
          String(key),
        );
      }
      copy[key] = (value as Record<string, unknown>)[key];
      if (copy[key] === null && !nullable.includes(key)) {
        // An entry of a list (`jobs[3]`) is named with the key; a call's own options object is not.
        const named = field.includes("[") ? `${field}.${key}` : key;
        throw new ValidationError(named, "null is not a value for this option; leave it out to get its default", null);
      }
    }
  });
  return copy as T;
}

/** An array read safely (a proxy or a getter that throws gives a ValidationError); holes are refused. */
export function checkArray(field: string, value: unknown): unknown[] {
  return guarded(field, () => {
    if (!Array.isArray(value)) throw new ValidationError(field, `expected an array, got ${describe(value)}`, value);
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new ValidationError(field, `${field}[${i}] is a hole in a sparse array`);
      out.push(value[i]);
    }
    return out;
  });
}

/** A plain object: `{...}` or `Object.create(null)`, not an array, class instance, Map or Date. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The caller's transaction, when `manager` is given: it must be an
 * EntityManager of `dataSource` whose transaction is open, else the rows
 * would silently commit on their own (or go to another database).
 */
export function checkManager(manager: unknown, dataSource: DataSource): EntityManager | undefined {
  if (manager === undefined) return undefined;
  const m = manager as Partial<EntityManager> | null;
  if (typeof m !== "object" || m === null || typeof m.transaction !== "function" || typeof m.connection !== "object") {
    throw new ValidationError(
      "manager",
      `expected the EntityManager of an open transaction (dataSource.transaction(async (manager) => ...)), got ${describe(manager)}`,
      undefined,
    );
  }
  if (m.connection !== dataSource) {
    throw new ValidationError(
      "manager",
      "belongs to another DataSource; pass a transaction of the DataSource this hrp-cron object was created with",
      undefined,
    );
  }
  if (!m.queryRunner?.isTransactionActive || m.queryRunner.isReleased) {
    throw new ValidationError(
      "manager",
      "is not inside an open transaction, so the job would commit on its own: pass the manager that dataSource.transaction(async (manager) => ...) gives you, or leave manager out",
      undefined,
    );
  }
  return m as EntityManager;
}

/** Runs {@link checkDate} on an optional value up front, safely (a proxy or getter that throws gives a ValidationError). */
export function checkOptionalDate(field: string, value: unknown): void {
  if (value !== undefined) guarded(field, () => checkDate(field, value));
}

/** `{ manager }` of a write call: a plain object whose `manager`, if any, passes {@link checkManager}. */
export function checkTransactionOption(
  options: { readonly manager?: EntityManager } | undefined,
  dataSource: DataSource,
): { readonly manager?: EntityManager } {
  const checked = checkOptions("options", options, ["manager"]);
  return { manager: checkManager(checked.manager, dataSource) };
}

/** Runs a check that reads caller-supplied values; a proxy or getter that throws becomes a ValidationError. */
export function guarded<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof HrpCronError) throw error;
    throw new ValidationError(field, `could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An integer priority; lower runs first. `field` names it in the error (`calls[3].priority` in a bulk call). */
export function checkPriority(value: unknown, field = "priority"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > MAX_PRIORITY) {
    throw new ValidationError(
      field,
      `expected an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${describe(value)}`,
      value,
    );
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
  throw new ValidationError(
    field,
    `expected a valid Date or an ISO-8601 string with a time zone, got ${describe(value)}`,
    value,
  );
}

/**
 * Checks that `args` is an array of JSON values and returns its JSON text.
 * Arguments are data, never code: functions, `undefined`, BigInt, symbols,
 * non-finite numbers, class instances (Date, Map, Buffer, ...) and cycles are
 * refused rather than silently changed by `JSON.stringify`.
 */
export function serializeArgs(args: unknown, field = "args"): string {
  return guarded(field, () => {
    if (!Array.isArray(args))
      throw new ValidationError(field, `expected an array of JSON values, got ${describe(args)}`, args);
    checkJson(args, field, new Set(), 1);
    return JSON.stringify(args);
  });
}

/** Keyword arguments: a plain object of JSON values (not an array, a string, null or a class instance). */
export function checkKwargs(field: string, value: unknown): Record<string, unknown> {
  if (!guarded(field, () => isPlainObject(value))) {
    throw new ValidationError(
      field,
      `expected a plain object of JSON values ({ key: value }), got ${describe(value)}; use args for positional arguments`,
      value,
    );
  }
  return value as Record<string, unknown>;
}

function checkJson(value: unknown, path: string, seen: Set<object>, depth: number, field = path): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError(field, `${path} is ${value}, which JSON cannot represent`);
    return;
  }
  if (typeof value !== "object") {
    throw new ValidationError(
      field,
      `${path} is a ${typeof value}; arguments must be JSON data (null, boolean, number, string, array, plain object)`,
    );
  }
  if (seen.has(value)) throw new ValidationError(field, `${path} is a circular reference`);
  if (depth > MAX_ARGS_DEPTH)
    throw new ValidationError(
      field,
      `${path} is nested more than ${MAX_ARGS_DEPTH} levels deep; flatten the arguments`,
    );
  seen.add(value);
  if (Object.getOwnPropertySymbols(value).length > 0)
    throw new ValidationError(field, `${path} has symbol keys, which JSON drops`);
  if (Array.isArray(value)) {
    if (Object.keys(value).length !== value.length)
      throw new ValidationError(field, `${path} is an array with extra properties or holes, which JSON drops`);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new ValidationError(field, `${path}[${i}] is a hole in a sparse array`);
      checkJson(value[i], `${path}[${i}]`, seen, depth + 1, field);
    }
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as object).constructor?.name ?? "object";
      throw new ValidationError(field, `${path} is a ${kind}; pass plain JSON data (e.g. a Date as an ISO string)`);
    }
    for (const [key, item] of Object.entries(value)) checkJson(item, `${path}.${key}`, seen, depth + 1, field);
  }
  seen.delete(value);
}

/** A short description of any value for an error message; never throws (bigints, cycles, symbols, revoked proxies). */
export function describe(value: unknown): string {
  try {
    if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return "a function";
    if (value instanceof Date)
      return Number.isNaN(value.getTime()) ? "Invalid Date" : `a Date (${value.toISOString()})`;
    if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
    return String(value);
  } catch {
    return "an unreadable value";
  }
}
