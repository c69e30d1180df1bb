/**
 * The dashboard's framework-neutral request and response: adapters (Node's
 * `http`, Express, Fastify, NestJS) turn their framework's objects into a
 * {@link DashboardRequest} and write the {@link DashboardResponse} back.
 */

export type HeaderValue = string | readonly string[] | undefined;

/** One HTTP request, as an adapter hands it to `Dashboard.handle`. */
export interface DashboardRequest {
  /** `GET`, `POST`, ... */
  readonly method: string;
  /** The path and query as requested, base path included: `/admin/jobs?state=failed`. */
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, HeaderValue>>;
  /**
   * The body of a POST: the raw `application/x-www-form-urlencoded` text,
   * or the fields a framework already parsed. Ignored for other methods.
   */
  readonly body?: string | Readonly<Record<string, unknown>>;
  /** The client's address, recorded with every action. */
  readonly ip?: string;
  /** The framework's own request, handed to `resolveUser` (the adapters set it). */
  readonly raw?: unknown;
}

/** What to send back. */
export interface DashboardResponse {
  readonly status: number;
  /** Header names in lower case; `set-cookie` may repeat. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string | Buffer;
}

/** The first value of a header. */
export function header(headers: DashboardRequest["headers"], name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v : v?.[0];
}
