import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The dashboard's own static files (its stylesheet and its one script),
 * shipped in the package next to this module: nothing is loaded from
 * another origin, no fonts, no build step in the host application.
 */

/** One static file, read once. */
export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

/** The file names served under `/assets/`. */
export const ASSET_NAMES: readonly string[] = ["dashboard.css", "dashboard.js"];

/** Where the files are: `src/dashboard/assets` (copied to `dist/src/dashboard/assets` by the build). */
export const ASSETS_DIR = join(__dirname, "assets");

/** Reads every asset, and a version that changes when any of them does (for cache busting). */
export function loadAssets(dir = ASSETS_DIR): { readonly files: ReadonlyMap<string, Asset>; readonly version: string } {
  const files = new Map<string, Asset>();
  const hash = createHash("sha256");
  for (const name of ASSET_NAMES) {
    const body = readFileSync(join(dir, name));
    hash.update(body);
    files.set(name, { body, contentType: TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream" });
  }
  return { files, version: hash.digest("hex").slice(0, 12) };
}
