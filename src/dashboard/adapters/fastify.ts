import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { ConfigError } from "../../core/errors";
import { MAX_BODY_BYTES } from "../http/node";
import type { MountableDashboard } from "./types";

/**
 * What the Fastify adapter uses of Fastify (5, which the tests run): structural types, so
 * hrp-cron needs no `fastify`; Fastify's own objects fit them.
 */

/** The parts of a `FastifyRequest` the adapter reads. */
export interface FastifyLikeRequest {
  readonly method: string;
  /** The path and query as requested. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body?: unknown;
  readonly ip?: string;
  readonly raw: IncomingMessage;
}

/** The parts of a `FastifyReply` the adapter writes with. */
export interface FastifyLikeReply {
  code(statusCode: number): unknown;
  header(name: string, value: any): unknown;
  send(payload?: any): unknown;
  callNotFound(): void;
}

/** The parts of a `FastifyInstance` the plugin registers with. */
export interface FastifyLikeInstance {
  readonly prefix: string;
  hasContentTypeParser(contentType: string): boolean;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: "string"; bodyLimit?: number },
    parser: (request: any, body: string, done: (error: Error | null, body?: unknown) => void) => void,
  ): void;
  all(path: string, handler: (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>): unknown;
}

/** A Fastify plugin: what `app.register()` takes. */
export type FastifyDashboardPlugin = (instance: FastifyLikeInstance, options: Record<string, unknown>) => Promise<void>;

const FORM = "application/x-www-form-urlencoded";

/**
 * The dashboard as a Fastify plugin: `await app.register(fastifyDashboard(dashboard))`.
 *
 * It answers every method at the dashboard's `basePath` and below (pages
 * answer GET and POST, other methods 405; a path it does not know is
 * handed to Fastify's not-found handler), and reads the forms it posts
 * with a parser of `application/x-www-form-urlencoded` that only its own
 * routes see (Fastify encapsulates a plugin's parsers; an application that
 * already parses forms, `@fastify/formbody`, keeps its parser, whose fields
 * the dashboard then reads). `resolveUser` receives the `FastifyRequest`, so
 * what the application's hooks put on it (`request.user`) decides.
 *
 * Register it without a `prefix`: the dashboard's `basePath` is the full
 * public path (a prefix is refused with a `ConfigError` naming the
 * `basePath` to give instead).
 *
 * ```ts
 * const dashboard = new Dashboard<FastifyRequest>({
 *   dataSource,
 *   basePath: "/admin/jobs",
 *   resolveUser: (request) => request.user ?? null,
 *   resolveAccess: () => "all",
 * });
 * await app.register(fastifyDashboard(dashboard));
 * ```
 */
export function fastifyDashboard(dashboard: MountableDashboard): FastifyDashboardPlugin {
  return async (instance) => {
    if (instance.prefix !== "")
      throw new ConfigError(
        `dashboard: registered with the prefix "${instance.prefix}": register fastifyDashboard without one and give the full path as the Dashboard's basePath ("${instance.prefix}${dashboard.basePath}")`,
        { prefix: instance.prefix, basePath: dashboard.basePath },
      );
    if (!instance.hasContentTypeParser(FORM))
      instance.addContentTypeParser(FORM, { parseAs: "string", bodyLimit: MAX_BODY_BYTES }, (_request, body, done) =>
        done(null, body),
      );
    const handler = async (request: FastifyLikeRequest, reply: FastifyLikeReply): Promise<unknown> => {
      const response = await dashboard.handle({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.method === "POST" ? formBody(request.body) : undefined,
        ip: request.ip ?? request.raw.socket?.remoteAddress,
        raw: request,
      });
      if (response === null) {
        reply.callNotFound();
        return reply;
      }
      reply.code(response.status);
      for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
      return reply.send(response.body);
    };
    const base = dashboard.basePath;
    instance.all(base === "" ? "/" : base, handler);
    instance.all(`${base}/*`, handler);
  };
}

/** The body as the dashboard reads it: text, or the fields a parser made; anything else (JSON arrays...) as no form. */
function formBody(body: unknown): string | Readonly<Record<string, unknown>> | undefined {
  if (typeof body === "string") return body;
  if (Buffer.isBuffer(body)) return body.toString("utf8");
  if (body !== null && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  return undefined;
}
