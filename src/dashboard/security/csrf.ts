import { randomBytes, timingSafeEqual } from "node:crypto";
import { header, type DashboardRequest } from "../http/types";

/**
 * Cross-site request forgery defences of every state-changing request:
 *
 * 1. same origin: `Sec-Fetch-Site` must be `same-origin` when the browser
 *    sends it; otherwise `Origin` must name this host. A request with
 *    neither is refused (every browser of the last years sends one).
 * 2. a token: a random value kept in an HttpOnly `SameSite=Strict` cookie
 *    must come back in the form's `_csrf` field (double submit; another
 *    site can neither read the cookie nor the page that holds the field).
 */

export const CSRF_COOKIE = "hrp_cron_csrf";
export const CSRF_FIELD = "_csrf";

/** A new token: 32 random bytes. */
export function newCsrfToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Why a state-changing request is refused, or `null` when it may go on. */
export function csrfRefusal(
  request: DashboardRequest,
  cookieToken: string | undefined,
  formToken: string | null,
): "cross-site" | "token" | null {
  const site = header(request.headers, "sec-fetch-site");
  const origin = header(request.headers, "origin");
  const host = header(request.headers, "x-forwarded-host") ?? header(request.headers, "host");
  if (site !== undefined && site !== "same-origin") return "cross-site";
  if (origin !== undefined) {
    if (!sameHost(origin, host)) return "cross-site";
  } else if (site === undefined) return "cross-site";
  if (!cookieToken || !formToken) return "token";
  const a = Buffer.from(cookieToken);
  const b = Buffer.from(formToken);
  return a.length === b.length && timingSafeEqual(a, b) ? null : "token";
}

function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
