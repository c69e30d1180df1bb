import type { DataSource } from "typeorm";
import type { JobAdmin } from "../api/jobAdmin";
import type { OperatorContext } from "../core/operator";
import type { SafeHtml } from "./html";
import type { Translate } from "./i18n/messages";
import type { Locale } from "./i18n/locale";
import type { DashboardUser, ResolvedDashboardOptions } from "./options";
import type { Access } from "./security/access";

/** What a page or an action is handed: one per request, built by `Dashboard.handle`. */
export interface PageContext {
  readonly method: "GET" | "POST";
  /** The path below the base path, starting with `/`: `/jobs/42`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The POST body's fields (empty for a GET). */
  readonly form: URLSearchParams;
  readonly user: DashboardUser;
  readonly access: Access;
  readonly locale: Locale;
  readonly t: Translate;
  /** The token every form must carry (`csrfField`). */
  readonly csrfToken: string;
  readonly options: PageOptions;
  readonly dataSource: DataSource;
  readonly admin: JobAdmin;
  /** Who acts, for the action log: the user's login, `dashboard`, the client's address and user agent. */
  readonly operator: OperatorContext;
  /** When the request came (the dashboard's clock). */
  readonly now: Date;
  /** A URL of the dashboard: `href("/jobs", { state: "failed" })` → `/admin/jobs?state=failed`. */
  href(path: string, query?: Readonly<Record<string, string | number | undefined | null>> | URLSearchParams): string;
}

/** The dashboard's options pages read. */
export type PageOptions = Pick<
  ResolvedDashboardOptions<unknown, DashboardUser>,
  "pageSize" | "bulkMax" | "timeZone" | "redactArgs" | "basePath"
>;

/** Which entry of the navigation a page belongs to. */
export type NavKey = "overview" | "jobs" | "crons" | "queues" | "workers" | "actions";

/** What a page handler returns. */
export type PageResult =
  | {
      readonly kind: "page";
      readonly title: string;
      readonly nav: NavKey;
      readonly body: SafeHtml;
      /** @defaultValue 200 */
      readonly status?: number;
    }
  | {
      /** After a POST: back to a page (303), with a message shown there once. */
      readonly kind: "redirect";
      /** A dashboard path (below the base path) with its query. */
      readonly to: string;
      readonly flash?: Flash;
    };

/** A one-time message shown at the top of the next page. */
export interface Flash {
  readonly kind: "ok" | "error";
  readonly text: string;
}

/** A GET or POST handler of one route; `params` are the route's `:name` parts. */
export type Handler = (ctx: PageContext, params: Readonly<Record<string, string>>) => Promise<PageResult>;
