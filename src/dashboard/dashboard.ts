import { JobAdmin } from "../api/jobAdmin";
import { HrpCronError } from "../core/hrpCronError";
import { consoleLogger } from "../core/logger";
import type { Logger } from "../core/types";
import { loadAssets, type Asset } from "./assets";
import type { Flash, NavKey, PageContext, PageResult } from "./context";
import { ForbiddenActionError } from "./errors";
import { html, type SafeHtml } from "./html";
import { negotiateLocale, isLocale, LOCALES, type Locale } from "./i18n/locale";
import { mergeMessages, translator, type Translate } from "./i18n/messages";
import { parseCookies, parseForm, setCookie } from "./http/parse";
import { header, type DashboardRequest, type DashboardResponse } from "./http/types";
import {
  resolveDashboardOptions,
  type DashboardOptions,
  type DashboardUser,
  type ResolvedDashboardOptions,
} from "./options";
import { MESSAGES, ROUTES } from "./pages";
import { matchRoute } from "./router";
import { Access } from "./security/access";
import { CSRF_COOKIE, CSRF_FIELD, csrfRefusal, newCsrfToken } from "./security/csrf";
import { newNonce, securityHeaders } from "./security/headers";
import { barePage, layout } from "./view/layout";

const LANG_COOKIE = "hrp_cron_lang";
const FLASH_COOKIE = "hrp_cron_flash";

/**
 * The web dashboard: server-rendered pages over hrp-cron's tables (jobs,
 * scheduled actions, queues, workers, the action log) and the operator
 * actions of the CLI (retry, cancel, stop, run now, pause), each recorded
 * in the action log with the user's login, address and user agent.
 *
 * It is framework-neutral: {@link handle} takes a {@link DashboardRequest}
 * and returns a {@link DashboardResponse}, or `null` for a path outside its
 * `basePath` (so a middleware passes it on). The adapters
 * (`nodeListener`, `expressDashboard`, `fastifyDashboard`, the NestJS
 * module) do the translation. Access is closed by default: without
 * `resolveUser` every page answers 403.
 *
 * ```ts
 * const dashboard = new Dashboard({
 *   dataSource,
 *   basePath: "/admin/jobs",
 *   resolveUser: (req: express.Request) => req.user ?? null,
 *   resolveAccess: (user) => (user.roles.includes("ops") ? "all" : "read-only"),
 * });
 * app.use(expressDashboard(dashboard));
 * ```
 */
export class Dashboard<Req = unknown, User extends DashboardUser = DashboardUser> {
  readonly options: ResolvedDashboardOptions<Req, User>;
  private readonly admin: JobAdmin;
  private readonly assets: ReturnType<typeof loadAssets>;
  private readonly translators: Readonly<Record<Locale, Translate>>;
  private readonly logger: Logger;

  /** @throws ConfigError for options that cannot work (a bad base path, locale or size) */
  constructor(options: DashboardOptions<Req, User>) {
    this.options = resolveDashboardOptions(options);
    this.admin = new JobAdmin(this.options.dataSource, {
      now: this.options.now,
      ...(this.options.userResolver ? { userResolver: this.options.userResolver } : {}),
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    this.logger = this.options.logger ?? consoleLogger("warn");
    this.assets = loadAssets();
    const catalog = mergeMessages(MESSAGES);
    this.translators = Object.fromEntries(LOCALES.map((l) => [l, translator(catalog[l])])) as Record<Locale, Translate>;
  }

  /** The base path, without a trailing slash (`""` at the root). */
  get basePath(): string {
    return this.options.basePath;
  }

  /** Answers one request; `null` when its path is not below the base path. Never throws. */
  async handle(request: DashboardRequest): Promise<DashboardResponse | null> {
    let url: URL;
    try {
      url = new URL(request.url, "http://dashboard.invalid");
    } catch {
      return null;
    }
    const base = this.options.basePath;
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return null;
    const path = url.pathname.slice(base.length) || "/";
    const method = request.method.toUpperCase();

    if (path.startsWith("/assets/") && (method === "GET" || method === "HEAD"))
      return this.asset(this.assets.files.get(path.slice("/assets/".length)));

    const cookies = parseCookies(request);
    const cookiesOut: string[] = [];
    const cookiePath = base === "" ? "/" : base;
    const langParam = url.searchParams.get("lang");
    if (isLocale(langParam)) cookiesOut.push(setCookie(LANG_COOKIE, langParam, cookiePath, 365 * 86_400));
    const locale = negotiateLocale(
      langParam ?? cookies.get(LANG_COOKIE),
      header(request.headers, "accept-language"),
      this.options.defaultLocale,
    );
    const t = this.translators[locale];
    try {
      return await this.respond(request, method, path, url.searchParams, cookies, cookiesOut, locale, t);
    } catch (error) {
      const code = error instanceof HrpCronError ? error.code : "INTERNAL";
      this.logger.error(`dashboard: ${method} ${path} failed: ${(error as Error)?.stack ?? String(error)}`);
      return this.bare(500, locale, t("error.server.title"), t("error.server", { code }), cookiesOut);
    }
  }

  private async respond(
    request: DashboardRequest,
    method: string,
    path: string,
    query: URLSearchParams,
    cookies: ReadonlyMap<string, string>,
    cookiesOut: string[],
    locale: Locale,
    t: Translate,
  ): Promise<DashboardResponse> {
    const resolveUser = this.options.resolveUser;
    if (!resolveUser)
      return this.bare(403, locale, t("error.forbidden.title"), t("error.forbidden.closed"), cookiesOut);
    const user = await resolveUser((request.raw ?? request) as Req);
    if (user === null || user === undefined)
      return this.bare(403, locale, t("error.forbidden.title"), t("error.forbidden.anonymous"), cookiesOut);
    if (typeof user !== "object" || typeof user.login !== "string" || user.login === "")
      throw new TypeError("resolveUser must return an object with a non-empty login (or null)");
    const access = new Access(await this.options.resolveAccess(user));
    if (!access.canView)
      return this.bare(
        403,
        locale,
        t("error.forbidden.title"),
        t("error.forbidden.denied", { login: user.login }),
        cookiesOut,
      );
    if (method !== "GET" && method !== "HEAD" && method !== "POST")
      return this.bare(405, locale, t("error.notFound.title"), t("error.method"), cookiesOut, { allow: "GET, POST" });

    let csrfToken = cookies.get(CSRF_COOKIE);
    if (!csrfToken || !/^[A-Za-z0-9_-]{43}$/.test(csrfToken)) {
      csrfToken = newCsrfToken();
      cookiesOut.push(setCookie(CSRF_COOKIE, csrfToken, base(this.options.basePath)));
    }
    const form = method === "POST" ? parseForm(request) : new URLSearchParams();
    if (method === "POST") {
      const refusal = csrfRefusal(request, cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD));
      if (refusal !== null)
        return this.bare(
          403,
          locale,
          t("error.forbidden.title"),
          t(refusal === "cross-site" ? "error.crossSite" : "error.csrf"),
          cookiesOut,
        );
    }
    const nonce = newNonce();
    const flash = method === "GET" ? readFlash(cookies.get(FLASH_COOKIE)) : null;
    if (flash) cookiesOut.push(setCookie(FLASH_COOKIE, "", base(this.options.basePath), 0));
    const ctx: PageContext = {
      method: method === "POST" ? "POST" : "GET",
      path,
      query,
      form,
      user,
      access,
      locale,
      t,
      csrfToken,
      options: this.options,
      dataSource: this.options.dataSource,
      admin: this.admin,
      operator: {
        by: user.login.slice(0, 256),
        source: "dashboard",
        ...(request.ip ? { ip: request.ip.slice(0, 64) } : {}),
        ...(header(request.headers, "user-agent")
          ? { userAgent: header(request.headers, "user-agent")!.slice(0, 512) }
          : {}),
      },
      now: this.options.now(),
      href: (p, q) => this.href(p, q),
    };

    const match = matchRoute(ROUTES, ctx.method, path);
    if (match === "method")
      return this.bare(405, locale, t("error.notFound.title"), t("error.method"), cookiesOut, { allow: "GET, POST" });
    let result: PageResult;
    if (match === null)
      result = {
        kind: "page",
        title: t("error.notFound.title"),
        nav: "overview",
        body: paragraph(t("error.notFound")),
        status: 404,
      };
    else {
      try {
        result = await match.route.handler(ctx, match.params);
      } catch (error) {
        if (error instanceof ForbiddenActionError)
          return this.bare(
            403,
            locale,
            t("error.forbidden.title"),
            t("error.forbidden.action", { login: user.login, action: error.action }),
            cookiesOut,
          );
        if (!(error instanceof HrpCronError) || !isUserError(error)) throw error;
        // The user's input or the job's state: say so, change nothing (the API already rolled back).
        if (ctx.method === "POST")
          result = { kind: "redirect", to: backOf(form, path), flash: { kind: "error", text: error.message } };
        else
          result = {
            kind: "page",
            title: t(error.code === "NOT_FOUND" ? "error.notFound.title" : "error.input.title"),
            nav: navOf(path),
            body: html`<p class="error-text">${error.message}</p>
              <p class="muted">${error.name} (${error.code})</p>`,
            status: error.code === "NOT_FOUND" ? 404 : 400,
          };
      }
    }
    if (result.kind === "redirect") {
      if (result.flash)
        cookiesOut.push(setCookie(FLASH_COOKIE, writeFlash(result.flash), base(this.options.basePath), 60));
      return {
        status: 303,
        headers: {
          ...securityHeaders(null),
          location: this.href(result.to),
          "set-cookie": cookiesOut,
          "cache-control": "no-store",
        },
        body: "",
      };
    }
    const page = layout(ctx, result, { nonce, flash, assetVersion: this.assets.version });
    return this.htmlResponse(result.status ?? 200, page, nonce, cookiesOut);
  }

  /** A dashboard URL: the base path, `path` and the query. */
  href(path: string, query?: Readonly<Record<string, string | number | undefined | null>> | URLSearchParams): string {
    const q =
      query instanceof URLSearchParams
        ? query
        : new URLSearchParams(
            Object.entries(query ?? {})
              .filter(([, v]) => v !== undefined && v !== null && v !== "")
              .map(([k, v]): [string, string] => [k, String(v)]),
          );
    const [p, inline] = path.split("?", 2);
    const all = new URLSearchParams(inline ?? "");
    for (const [k, v] of q) all.append(k, v);
    const text = all.toString();
    return `${this.options.basePath}${p === "/" && this.options.basePath !== "" ? "/" : p}${text ? `?${text}` : ""}`;
  }

  private asset(asset: Asset | undefined): DashboardResponse {
    if (!asset) return { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: "not found" };
    return {
      status: 200,
      headers: {
        ...securityHeaders(null),
        "content-type": asset.contentType,
        "cache-control": "public, max-age=31536000, immutable",
      },
      body: asset.body,
    };
  }

  private htmlResponse(status: number, page: SafeHtml, nonce: string | null, cookies: readonly string[], extra = {}) {
    return {
      status,
      headers: {
        ...securityHeaders(nonce),
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        ...(cookies.length > 0 ? { "set-cookie": cookies } : {}),
        ...extra,
      },
      body: page.text,
    };
  }

  private bare(
    status: number,
    locale: Locale,
    title: string,
    message: string,
    cookies: readonly string[],
    extra: Record<string, string> = {},
  ): DashboardResponse {
    const asset = (name: string) => this.href(`/assets/${name}`, { v: this.assets.version });
    return this.htmlResponse(status, barePage(locale, title, message, asset), null, cookies, extra);
  }
}

/** The path a cookie is scoped to. */
function base(basePath: string): string {
  return basePath === "" ? "/" : basePath;
}

/** The navigation entry of a path: its first segment when it names one. */
function navOf(path: string): NavKey {
  const first = path.split("/")[1] ?? "";
  const map: Readonly<Record<string, NavKey>> = {
    jobs: "jobs",
    crons: "crons",
    "job-types": "crons",
    queues: "queues",
    workers: "workers",
    actions: "actions",
  };
  return map[first] ?? "overview";
}

function paragraph(text: string): SafeHtml {
  return html`<p class="error-text">${text}</p>`;
}

/** Errors that describe the request or the data (shown to the user) rather than a failure of the system (logged, 500). */
function isUserError(error: HrpCronError): boolean {
  return [
    "VALIDATION",
    "NOT_FOUND",
    "INVALID_STATE",
    "UNKNOWN_METHOD",
    "UNKNOWN_QUEUE",
    "INVALID_USER",
    "CURRENTLY_RUNNING",
  ].includes(error.code);
}

/** Where a POST goes back to: its `back` field when it is a dashboard path, else the path it was posted to. */
function backOf(form: URLSearchParams, fallback: string): string {
  const back = form.get("back");
  return back && /^\/(?![/\\])[^\s]*$/.test(back) ? back : fallback;
}

function writeFlash(flash: Flash): string {
  return Buffer.from(JSON.stringify({ k: flash.kind, t: flash.text.slice(0, 1500) })).toString("base64url");
}

function readFlash(value: string | undefined): Flash | null {
  if (!value) return null;
  try {
    const v = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as { k?: unknown; t?: unknown };
    if ((v.k === "ok" || v.k === "error") && typeof v.t === "string") return { kind: v.k, text: v.t };
  } catch {
    // Not ours (or tampered with): show nothing.
  }
  return null;
}
