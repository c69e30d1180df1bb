import type { Route } from "../../router";
import { bulkAction } from "./bulk";
import { jobsPage } from "./list";

export { JOBS_MESSAGES } from "./messages";

/** The job list and its bulk actions. */
export const jobsRoutes: readonly Route[] = [
  { method: "GET", pattern: "/jobs", handler: jobsPage },
  { method: "POST", pattern: "/jobs/bulk", handler: bulkAction },
];
