/**
 * Registered methods are named `model.method`, the model itself dotted like
 * an Odoo model (`hrp.asset.receiving.application.createMove`): the method is
 * what follows the last dot. Every place that reads such a name (enqueue,
 * callbacks, scheduled job types, the CLI's `--method`) splits it here.
 */

/** A `model.method` name in its two parts. */
export interface MethodName {
  readonly model: string;
  readonly method: string;
}

/** Splits `name` at its last dot; null when it has none. Either part may be empty (`".x"`, `"a."`): callers decide. */
export function splitMethodName(name: string): MethodName | null {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? null : { model: name.slice(0, dot), method: name.slice(dot + 1) };
}

/** `model.method`. */
export function joinMethodName(model: string, method: string): string {
  return `${model}.${method}`;
}
