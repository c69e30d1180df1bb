import type { Route } from "../../router";
import { pauseQueueAction, resumeQueueAction } from "./actions";
import { queuesPage } from "./list";
import { queuePage } from "./queue";

export { QUEUES_MESSAGES } from "./messages";

/** The queues, one queue with its action history, pause and resume. */
export const queuesRoutes: readonly Route[] = [
  { method: "GET", pattern: "/queues", handler: queuesPage },
  { method: "GET", pattern: "/queues/:name", handler: queuePage },
  { method: "POST", pattern: "/queues/:name/pause", handler: pauseQueueAction },
  { method: "POST", pattern: "/queues/:name/resume", handler: resumeQueueAction },
];
