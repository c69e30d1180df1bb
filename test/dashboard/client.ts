import type { DashboardHandler, DashboardRequest, DashboardResponse } from "../../src/dashboard";

/**
 * A browser-like client of a `Dashboard`, calling `handle` directly (no
 * socket): keeps cookies, sends same-origin headers on POSTs, and reads
 * the CSRF token from the page's forms, as a browser submitting them would.
 */
export class DashboardClient {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly dashboard: DashboardHandler,
    private readonly host = "hrp.example.test",
    readonly extraHeaders: Record<string, string> = {},
  ) {}

  async get(url: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.send({ method: "GET", url, headers: this.headers(headers) });
  }

  /** A same-origin form POST; `_csrf` is added from the cookie unless given. */
  async post(
    url: string,
    fields: Record<string, string | string[]>,
    headers: Record<string, string> = {},
  ): Promise<Page> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    if (!body.has("_csrf") && this.cookies.has("hrp_cron_csrf")) body.set("_csrf", this.cookies.get("hrp_cron_csrf")!);
    return this.send({
      method: "POST",
      url,
      headers: this.headers({ origin: `http://${this.host}`, "sec-fetch-site": "same-origin", ...headers }),
      body: body.toString(),
      ip: "10.1.2.3",
    });
  }

  async send(request: DashboardRequest): Promise<Page> {
    const response = await this.dashboard.handle(request);
    if (response === null) return new Page(null);
    const setCookie = response.headers["set-cookie"];
    for (const c of typeof setCookie === "string" ? [setCookie] : (setCookie ?? [])) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      if (/Max-Age=0/.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return new Page(response);
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("; ");
    return {
      host: this.host,
      "user-agent": "DashboardClient/1",
      ...(cookie ? { cookie } : {}),
      ...this.extraHeaders,
      ...extra,
    };
  }
}

/** A response, with helpers to read it. */
export class Page {
  constructor(readonly response: DashboardResponse | null) {}
  get status(): number {
    return this.response?.status ?? 0;
  }
  get text(): string {
    return String(this.response?.body ?? "");
  }
  header(name: string): string | undefined {
    const v = this.response?.headers[name];
    return typeof v === "string" ? v : v?.join("\n");
  }
  /** The text of the page without tags, whitespace collapsed. */
  get visibleText(): string {
    return this.text
      .replace(/<script[\s\S]*?<\/script>/g, "")
      .replace(/<[^>]+>/g, " ")
      .replace(/&amp;/g, "&")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/\s+/g, " ")
      .trim();
  }
}
