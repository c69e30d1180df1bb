import type { DashboardHandler } from "../http/node";

/** What an adapter mounts: a `Dashboard` (its `handle` and where it lives). */
export interface MountableDashboard extends DashboardHandler {
  /** The public path of its pages, without a trailing slash (`""` at the root). */
  readonly basePath: string;
}
