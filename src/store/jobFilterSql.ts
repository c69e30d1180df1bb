import type { Backend } from "../backend";
import type { JobFilter } from "./listings";

/** The WHERE conditions of a job filter, shared by listings (`listJobs`) and bulk actions. */

/** Conditions (joined with AND) and their parameters, in order. */
export interface FilterSql {
  readonly where: string[];
  readonly params: unknown[];
}

/**
 * `filter`'s conditions on `hrp_cron_job` (state, queue, method, user, due
 * dates, error text, an argument's value, keyset position). `filter` must
 * have been checked (`checkJobFilter`): its values are bound, never spliced.
 */
export function jobFilterSql(backend: Backend, filter: Omit<JobFilter, "limit">): FilterSql {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    if (values[0] === undefined) return;
    where.push(condition);
    params.push(...values);
  };
  add("state = ?", filter.state);
  add("queue = ?", filter.queue);
  add("model = ?", filter.model);
  add("function = ?", filter.function);
  add("user_id = ?", filter.userId);
  add("date_created >= ?", filter.since && backend.toDbDate(filter.since));
  add("date_created < ?", filter.until && backend.toDbDate(filter.until));
  add("id < ?", filter.beforeId);
  // A substring test alike on both databases: LIKE on lowered text, the text's own wildcards escaped.
  add(
    "LOWER(exc_info) LIKE ? ESCAPE '\\'",
    filter.errorContains === undefined
      ? undefined
      : `%${filter.errorContains.toLowerCase().replace(/[\\%_]/g, "\\$&")}%`,
  );
  if (filter.args !== undefined) {
    where.push(`${backend.jsonText("args")} = ?`);
    params.push(...backend.jsonPath(argsJsonPath(filter.args.path)), String(filter.args.equals));
  }
  return { where, params };
}

/**
 * A dotted argument path as a JSON path into the stored `args` array: a
 * path that starts with a number is positional (`0`, `1.code`); any other
 * names a key of the keyword arguments, which are the last argument
 * (`enqueue(..., { kwargs })` stores `[kwargs]`, `enqueueDoc` stores
 * `[id, kwargs]`).
 */
export function argsJsonPath(path: string): Array<string | number> {
  const parts: Array<string | number> = path.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return typeof parts[0] === "number" ? parts : [-1, ...parts];
}
