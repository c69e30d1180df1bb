import { ValidationError } from "./errors";
import { checkOptions } from "./validate";
import { optionKeys } from "./options";

/** Where an operator action came from. */
export type ActionSource = "api" | "cli" | "dashboard";

/**
 * Who asks for an operator action, and why: recorded with the action in
 * `hrp_cron_action`, in the same transaction as the change. Every operator
 * method (`retryJob`, `cancelJob`, `stopJob`, `purge`, `setActive`, ...)
 * takes it as its last argument.
 *
 * ```ts
 * await jobs.cancelJob(42, { by: "li.na", reason: "duplicate of job 41" });
 * ```
 */
export interface OperatorContext {
  /** The operator's login. @defaultValue `"api"` */
  readonly by?: string;
  /** @defaultValue `"api"` */
  readonly source?: ActionSource;
  /** The client's address (the dashboard records it). */
  readonly ip?: string;
  /** The client's user agent (the dashboard records it). */
  readonly userAgent?: string;
  /** Why. The CLI and the dashboard require one for destructive actions (cancel, stop, purge, deactivate). */
  readonly reason?: string;
}

/** An {@link OperatorContext} checked, with its defaults. */
export interface Operator {
  readonly by: string;
  readonly source: ActionSource;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly reason: string | null;
}

const OPERATOR_KEYS = optionKeys<OperatorContext>({ by: true, source: true, ip: true, userAgent: true, reason: true });
const SOURCES: readonly ActionSource[] = ["api", "cli", "dashboard"];

/** `context` checked: known keys, non-empty texts within their column sizes. @throws ValidationError */
export function checkOperator(context: OperatorContext | undefined): Operator {
  const c = checkOptions("operator", context, OPERATOR_KEYS);
  const text = (field: string, value: unknown, max: number): string | null => {
    if (value === undefined || value === null) return null;
    if (typeof value !== "string" || value.trim() === "" || value.length > max)
      throw new ValidationError(`operator.${field}`, `must be a non-empty string of at most ${max} characters`, value);
    return value;
  };
  if (c.source !== undefined && !SOURCES.includes(c.source))
    throw new ValidationError("operator.source", `must be one of ${SOURCES.join(", ")}`, c.source);
  return {
    by: text("by", c.by, 256) ?? "api",
    source: c.source ?? "api",
    ip: text("ip", c.ip, 64),
    userAgent: text("userAgent", c.userAgent, 512),
    reason: text("reason", c.reason, 2000),
  };
}
