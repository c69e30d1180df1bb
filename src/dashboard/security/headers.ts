import { randomBytes } from "node:crypto";

/** Headers every dashboard response carries, and the nonce its scripts run with. */

/** A fresh nonce for one page's Content-Security-Policy. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

/**
 * A strict Content-Security-Policy: nothing loads from another origin, scripts
 * run only with this page's nonce (no inline handlers, no eval), styles only
 * from the dashboard's stylesheet, forms post only to the dashboard, and no
 * page may frame it.
 */
export function securityHeaders(nonce: string | null): Record<string, string> {
  const csp = [
    "default-src 'none'",
    nonce === null ? "script-src 'none'" : `script-src 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}
