import { ValidationError } from "../core/errors";
import { isJobDefinition, type JobDefinition } from "../core/jobDefinition";
import { splitMethodName, type MethodName } from "../core/methodName";
import { describe, guarded } from "../core/validate";

/**
 * What the expectations share: a method named by its `model.method` or its
 * `defineJob` definition, JSON compared as data (key order ignored),
 * values shown in messages, and one check per field of a row, which says
 * how the row differs.
 */

/** A registered method as a job names it: `"model.method"`, or the definition `defineJob` made. */
export type MethodMatch = string | Pick<JobDefinition, "name">;

/** One field to compare: its name, the expected value (as shown), and whether a row's value matches. */
export interface FieldCheck<Row> {
  readonly field: string;
  readonly expected: string;
  readonly actual: (row: Row) => string;
  readonly matches: (row: Row) => boolean;
}

/** `model.method` of `method`, split. @throws ValidationError */
export function methodOf(method: MethodMatch): MethodName & { readonly name: string } {
  const name = guarded("method", () => (isJobDefinition(method) ? method.name : method));
  const split = typeof name === "string" ? splitMethodName(name) : null;
  if (split === null || split.model === "" || split.method === "")
    throw new ValidationError(
      "method",
      `expected a "model.method" name or a job made by defineJob, got ${describe(name)}`,
      name,
    );
  return { ...split, name: name as string };
}

/** `value` as JSON with object keys sorted: two JSON values are the same data when these are equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** A value in a message: dates as ISO strings, the rest as JSON. */
export function show(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (typeof value === "function") return "(a predicate)";
  return JSON.stringify(value) ?? String(value);
}

/** The fields of `row` that do not match, as `field is X, expected Y`. */
export function differences<Row>(row: Row, checks: ReadonlyArray<FieldCheck<Row>>): string[] {
  return checks.filter((c) => !c.matches(row)).map((c) => `${c.field} is ${c.actual(row)}, expected ${c.expected}`);
}

/** What the checks ask for, as `{ method: "a.b", userId: 7 }`. */
export function describeChecks<Row>(checks: ReadonlyArray<FieldCheck<Row>>): string {
  return checks.length === 0 ? "(anything)" : `{ ${checks.map((c) => `${c.field}: ${c.expected}`).join(", ")} }`;
}

/** Up to `max` lines, indented, and how many more there were. */
export function listed(lines: readonly string[], max = 20): string {
  const shown = lines.slice(0, max).map((l) => `  ${l}`);
  if (lines.length > max) shown.push(`  ... and ${lines.length - max} more`);
  return shown.join("\n");
}

/** A check of one plain field, compared with `===` (dates by instant). */
export function fieldCheck<Row, T extends string | number | Date>(
  field: string,
  expected: T,
  read: (row: Row) => T | null,
): FieldCheck<Row> {
  const key = (v: T | null) => (v instanceof Date ? v.getTime() : v);
  return {
    field,
    expected: show(expected),
    actual: (row) => show(read(row)),
    matches: (row) => key(read(row)) === key(expected),
  };
}

/** A check of a state field against one state or a list of them. */
export function stateCheck<Row, S extends string>(
  field: string,
  expected: S | readonly S[],
  read: (row: Row) => S,
): FieldCheck<Row> {
  const states: readonly S[] = typeof expected === "string" ? [expected] : expected;
  return {
    field,
    expected: states.length === 1 ? show(states[0]) : states.map(show).join(" or "),
    actual: (row) => show(read(row)),
    matches: (row) => states.includes(read(row)),
  };
}

/** A states option: one of `allowed`, or a non-empty list of them. @throws ValidationError */
export function checkStates<S extends string>(field: string, value: unknown, allowed: readonly S[]): readonly S[] {
  const list = guarded(field, () => (Array.isArray(value) ? [...(value as unknown[])] : [value]));
  if (list.length === 0 || list.some((s) => !allowed.includes(s as S)))
    throw new ValidationError(field, `expected one of ${allowed.join(", ")}, or a list of them`, value);
  return list as S[];
}
