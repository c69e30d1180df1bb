import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfigError } from "../../core/errors";
import { fromNodeRequest, parsedBodyOf, writeNodeResponse } from "../http/node";
import type { MountableDashboard } from "./types";

/**
 * What the Express adapter reads of Express's request: Node's request plus
 * `originalUrl` (the URL before a mount path was stripped), `baseUrl` (the
 * mount path), `ip` (which honours Express's `trust proxy`) and `body`
 * (when a body parser ran). Structural, so hrp-cron needs no `express`.
 */
export interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
  baseUrl?: string;
  ip?: string;
  body?: unknown;
}

/** An Express (or Connect) middleware: what `app.use()` takes. */
export type ExpressMiddleware = (req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The dashboard as an Express middleware (Express 4 and 5, or Connect).
 *
 * The dashboard's `basePath` is the public path of its pages, in full: it
 * reads `req.originalUrl`, so it works mounted at the application's root
 * (`app.use(expressDashboard(dashboard))`) or at a path
 * (`app.use("/admin/jobs", expressDashboard(dashboard))`, or a router's)
 * that is its `basePath` or a parent of it. Requests outside `basePath` go
 * on to the next route (`next()`). Mounted at a path that does not contain
 * `basePath` (the pages' links would lead outside it), every request that
 * reaches it fails with a `ConfigError` saying which `basePath` to give.
 *
 * The body is read from the request unless a body parser already did
 * (`express.urlencoded()`), so it works with or without one. The
 * `resolveUser` of the dashboard receives Express's `req`: `req.user` of
 * passport, the session of `express-session`, headers set by an auth proxy.
 *
 * ```ts
 * const dashboard = new Dashboard<express.Request>({
 *   dataSource,
 *   basePath: "/admin/jobs",
 *   resolveUser: (req) => (req.user ? { login: req.user.username } : null),
 *   resolveAccess: (user) => "read-only",
 * });
 * app.use(expressDashboard(dashboard));
 * ```
 */
export function expressDashboard(dashboard: MountableDashboard): ExpressMiddleware {
  return (req, res, next) => {
    const mountPath = (req.baseUrl ?? "").replace(/\/+$/, "");
    if (mountPath !== "" && !isWithin(dashboard.basePath, mountPath)) {
      next(
        new ConfigError(
          `dashboard: mounted at "${mountPath}" but its basePath is "${dashboard.basePath || "/"}": give the full public path, new Dashboard({ basePath: "${mountPath}", ... }), or mount it at the application's root (app.use(expressDashboard(dashboard)))`,
          { mountPath, basePath: dashboard.basePath },
        ),
      );
      return;
    }
    fromNodeRequest(req, parsedBodyOf(req), req)
      .then((request) =>
        dashboard.handle({
          ...request,
          url: req.originalUrl ?? request.url,
          ...(req.ip ? { ip: req.ip } : {}),
        }),
      )
      .then((response) => {
        if (response === null) next();
        else writeNodeResponse(res, response, req.method === "HEAD");
      })
      .catch(next);
  };
}

/** Whether `path` is `parent` or below it (whole segments). */
function isWithin(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}/`);
}
