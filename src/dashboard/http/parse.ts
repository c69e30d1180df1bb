import { header, type DashboardRequest } from "./types";

/** Reading a request: its cookies, its query and form fields. */

/** Cookies of a request, by name (the first of a repeated name wins). */
export function parseCookies(request: DashboardRequest): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const part of (header(request.headers, "cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === "" || out.has(name)) continue;
    try {
      out.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // A value that is not valid percent-encoding is not ours: skip it.
    }
  }
  return out;
}

/** A `Set-Cookie` value: HttpOnly, `SameSite=Strict`, scoped to the dashboard's path. */
export function setCookie(name: string, value: string, path: string, maxAgeSeconds?: number): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${path === "" ? "/" : path}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(maxAgeSeconds === undefined ? [] : [`Max-Age=${maxAgeSeconds}`]),
  ].join("; ");
}

/**
 * The fields of a POST body (`application/x-www-form-urlencoded` text or
 * what a framework parsed), as search parameters: repeated fields (`ids`)
 * keep every value.
 */
export function parseForm(request: DashboardRequest): URLSearchParams {
  const body = request.body;
  if (body === undefined || body === null) return new URLSearchParams();
  if (typeof body === "string") return new URLSearchParams(body);
  if (Buffer.isBuffer(body)) return new URLSearchParams(body.toString("utf8"));
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) for (const v of value) out.append(key, String(v));
    else if (value !== undefined && value !== null) out.append(key, String(value));
  }
  return out;
}
