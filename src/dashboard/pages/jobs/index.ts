import type { Route } from "../../router";
import { bulkAction } from "./bulk";
import { jobDetailPage } from "./detail";
import { cancelJobAction, retryJobAction, runJobNowAction, stopJobAction } from "./jobActions";
import { jobsPage } from "./list";

export { JOBS_MESSAGES } from "./messages";
export { JOB_DETAIL_MESSAGES } from "./detailMessages";

/** The job list and its bulk actions, the job detail and its actions. */
export const jobsRoutes: readonly Route[] = [
  { method: "GET", pattern: "/jobs", handler: jobsPage },
  { method: "POST", pattern: "/jobs/bulk", handler: bulkAction },
  { method: "GET", pattern: "/jobs/:id", handler: jobDetailPage },
  { method: "POST", pattern: "/jobs/:id/retry", handler: retryJobAction },
  { method: "POST", pattern: "/jobs/:id/cancel", handler: cancelJobAction },
  { method: "POST", pattern: "/jobs/:id/stop", handler: stopJobAction },
  { method: "POST", pattern: "/jobs/:id/run", handler: runJobNowAction },
];
