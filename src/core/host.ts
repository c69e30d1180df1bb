import { hostname } from "node:os";

/** This machine's host name, as workers register it. */
export const HOST = hostname();

/** A new, unique worker id: `host:pid:random` (dispatchers and schedulers). */
export function newWorkerId(): string {
  return `${HOST}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Whether process `pid` of this machine is alive (a process of another user counts: EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
