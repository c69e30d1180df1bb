/**
 * `hrp-cron/dashboard`: the web dashboard (framework-neutral `Dashboard`
 * and its adapters). See "Mounting the dashboard" in the README.
 */
export { Dashboard } from "./dashboard";
export type { DashboardOptions, DashboardUser } from "./options";
export { DASHBOARD_ACTIONS, type DashboardAccess, type DashboardAction } from "./security/access";
export type { DashboardRequest, DashboardResponse } from "./http/types";
export { nodeListener, fromNodeRequest, writeNodeResponse, type DashboardHandler } from "./http/node";
export { ForbiddenActionError } from "./errors";
export { LOCALES, type Locale } from "./i18n/locale";
export { redactSecrets, isSecretKey, REDACTED } from "./redact";
export { expressDashboard, type ExpressLikeRequest, type ExpressMiddleware } from "./adapters/express";
export {
  fastifyDashboard,
  type FastifyDashboardPlugin,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
} from "./adapters/fastify";
export type { MountableDashboard } from "./adapters/types";
