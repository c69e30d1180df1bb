/**
 * A browser-like client of a dashboard behind a real socket (fetch): keeps
 * cookies, follows no redirects, sends a same-origin `Origin` and
 * `Sec-Fetch-Site` with its POSTs and adds the CSRF token from its cookie,
 * as a browser submitting the dashboard's forms would.
 */
export class HttpClient {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly origin: string,
    readonly headers: Record<string, string> = {},
  ) {}

  get(path: string, headers: Record<string, string> = {}): Promise<HttpPage> {
    return this.send("GET", path, undefined, headers);
  }

  /** A same-origin form POST, `_csrf` from the cookie unless given; `headers` may make it cross-site. */
  post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    if (!body.has("_csrf") && this.cookies.has("hrp_cron_csrf")) body.set("_csrf", this.cookies.get("hrp_cron_csrf")!);
    return this.send("POST", path, body, { origin: this.origin, "sec-fetch-site": "same-origin", ...headers });
  }

  async send(
    method: string,
    path: string,
    body: URLSearchParams | undefined,
    headers: Record<string, string> = {},
  ): Promise<HttpPage> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(`${this.origin}${path}`, {
      method,
      redirect: "manual",
      headers: { ...(cookie ? { cookie } : {}), ...this.headers, ...headers },
      ...(body ? { body } : {}),
    });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      if (/Max-Age=0/.test(c)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }
}

export interface HttpPage {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}
