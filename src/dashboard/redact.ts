/**
 * The default redaction of what the job detail shows of a job's arguments
 * and result (`DashboardOptions.redactArgs` replaces it): hospital jobs
 * carry patients' identity numbers and phones, and integrations carry
 * passwords and tokens, which an operator reading a failure needs not see.
 */

/** What a masked value shows as. */
export const REDACTED = "••••";

/** Fragments of a key (lower case, separators removed) whose value is masked wherever they occur in it. */
const SECRET_FRAGMENTS: readonly string[] = [
  "password",
  "passwd",
  "secret",
  "token",
  "apikey",
  "authorization",
  "cookie",
  "idcard",
  "idnumber",
  "socialsecurity",
  "phone",
  "mobile",
];

/** Short names masked only as a whole word of a key (`ssn`, `user_pwd`), not inside another word (`classNames`). */
const SECRET_WORDS: readonly string[] = ["ssn", "pwd"];

/** Nesting deeper than this is masked whole rather than walked. */
const MAX_DEPTH = 64;

/**
 * `value` with the values of secret-looking keys replaced by `••••`, in
 * nested objects and arrays alike. A key is secret when it contains, case
 * and separators aside, password, passwd, secret, token, api_key,
 * authorization, cookie, id_card, id_number, social_security, phone or
 * mobile (so `patientIdCard`, `X-Auth-Token`, `mobile_phone` are), or has
 * the word ssn or pwd. A `null` value stays `null`. The input is not changed.
 *
 * ```ts
 * redactSecrets({ patient: { name: "Li", idCard: "110101199003071234" } });
 * // { patient: { name: "Li", idCard: "••••" } }
 * ```
 */
export function redactSecrets(value: unknown): unknown {
  return walk(value, 0);
}

/** Whether the value under `key` is masked by {@link redactSecrets}. */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
  const compact = words.join("");
  return SECRET_FRAGMENTS.some((f) => compact.includes(f)) || words.some((w) => SECRET_WORDS.includes(w));
}

function walk(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    out[k] = isSecretKey(k) && v !== null ? REDACTED : walk(v, depth + 1);
  return out;
}
