import type { Handler } from "./context";

/** Routes: a method, a path pattern with `:name` parts, and the handler that answers. */

export interface Route {
  readonly method: "GET" | "POST";
  /** `/jobs/:id`: a `:name` part matches one path segment. */
  readonly pattern: string;
  readonly handler: Handler;
}

/** A route that matched, with its parameters decoded. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route for `method` and `path`; `"method"` when the path exists for
 * another method only (405); `null` when nothing matches (404).
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch | "method" | null {
  const segments = path.split("/").filter((s) => s !== "");
  let otherMethod = false;
  for (const route of routes) {
    const parts = route.pattern.split("/").filter((s) => s !== "");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      if (parts[i].startsWith(":")) {
        try {
          params[parts[i].slice(1)] = decodeURIComponent(segments[i]);
        } catch {
          ok = false;
        }
      } else ok = parts[i] === segments[i];
    }
    if (!ok) continue;
    if (route.method === method) return { route, params };
    otherMethod = true;
  }
  return otherMethod ? "method" : null;
}
