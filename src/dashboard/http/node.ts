import type { IncomingMessage, ServerResponse } from "node:http";
import type { DashboardRequest, DashboardResponse } from "./types";

/** Reading Node's `http` requests and writing its responses: the base of every adapter. */

/** The largest form body the dashboard reads (a selection of 1000 ids is about 20 KB). */
export const MAX_BODY_BYTES = 1_000_000;

/** Anything that answers dashboard requests (a `Dashboard`). */
export interface DashboardHandler {
  handle(request: DashboardRequest): Promise<DashboardResponse | null>;
}

/**
 * `req` as a {@link DashboardRequest}. The body is read from the stream
 * unless a framework already parsed it (`parsedBody`); a body larger than
 * {@link MAX_BODY_BYTES} is cut off (and its form then fails its checks).
 */
export async function fromNodeRequest(
  req: IncomingMessage,
  parsedBody?: unknown,
  raw: unknown = req,
): Promise<DashboardRequest> {
  let body: DashboardRequest["body"];
  if (req.method === "POST") {
    if (
      typeof parsedBody === "string" ||
      (parsedBody !== null && typeof parsedBody === "object" && !Buffer.isBuffer(parsedBody))
    )
      body = parsedBody as DashboardRequest["body"];
    else if (Buffer.isBuffer(parsedBody)) body = parsedBody.toString("utf8");
    else body = await readBody(req);
  }
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    headers: req.headers,
    body,
    ip: req.socket?.remoteAddress,
    raw,
  };
}

/** Writes `response` to `res`. */
export function writeNodeResponse(res: ServerResponse, response: DashboardResponse, head = false): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value as string | string[]);
  res.end(head ? undefined : response.body);
}

/**
 * A listener for `http.createServer` (or a Connect/Express middleware):
 * answers the dashboard's paths and hands the rest to `next` (404 without one).
 *
 * ```ts
 * http.createServer(nodeListener(new Dashboard({ dataSource, resolveUser }))).listen(8787);
 * ```
 */
export function nodeListener(dashboard: DashboardHandler) {
  return (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next?: (error?: unknown) => void): void => {
    fromNodeRequest(req, parsedBodyOf(req))
      .then((request) => dashboard.handle(request))
      .then((response) => {
        if (response) writeNodeResponse(res, response, req.method === "HEAD");
        else if (next) next();
        else {
          res.statusCode = 404;
          res.end("not found");
        }
      })
      .catch((error: unknown) => {
        if (next) next(error);
        else {
          res.statusCode = 500;
          res.end("dashboard error");
        }
      });
  };
}

/**
 * What a body parser that ran before made of the body (`req.body`), or
 * `undefined` when the stream is still unread: then the body is read here.
 * A parser that skipped the request (another content type) may still have
 * set `req.body = {}` (Express 4's `body-parser`), which must not be taken
 * for an empty form.
 */
export function parsedBodyOf(req: IncomingMessage & { body?: unknown }): unknown {
  return req.readableEnded ? req.body : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  // Already read by someone else who kept nothing: an empty form (its checks then fail), not a wait for ever.
  if (req.readableEnded) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
