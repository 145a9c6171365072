/**
 * The part of BullMQ's API `dub` uses, typed here so that type-checking does
 * not load BullMQ's and ioredis' own declarations: they reference the newest
 * `@types/node`, which changes `node:assert` (and more) for the whole program.
 */
import type { Redis } from "./_ioredis.d.ts";

export type JobState =
  | "completed"
  | "failed"
  | "active"
  | "delayed"
  | "prioritized"
  | "waiting"
  | "waiting-children"
  | "unknown";

export interface JobsOptions {
  jobId?: string;
  attempts?: number;
  backoff?: { type: "fixed" | "exponential"; delay: number };
  removeOnComplete?: boolean | number | { age?: number; count?: number };
  removeOnFail?: boolean | number | { age?: number; count?: number };
}

export declare class Job<D = unknown, R = unknown> {
  id?: string;
  name: string;
  data: D;
  progress: number | object;
  returnvalue: R;
  attemptsMade: number;
  failedReason: string;
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
  getState(): Promise<JobState>;
  retry(state?: "failed" | "completed"): Promise<void>;
  remove(): Promise<void>;
  moveToWait(token?: string): Promise<number>;
  updateProgress(progress: number | object): Promise<void>;
}

export interface QueueBaseOptions {
  connection: Redis;
  prefix?: string;
}

export declare class Queue<D = unknown, R = unknown> {
  constructor(name: string, opts: QueueBaseOptions);
  add(name: string, data: D, opts?: JobsOptions): Promise<Job<D, R>>;
  getJob(id: string): Promise<Job<D, R> | undefined>;
  getJobs(states: JobState[], start?: number, end?: number): Promise<Job<D, R>[]>;
  /** The job's state; "unknown" when it is in no set (or does not exist). */
  getJobState(id: string): Promise<JobState>;
  on(event: "error", fn: (e: Error) => void): this;
  close(): Promise<void>;
}

export interface WorkerOptions extends QueueBaseOptions {
  concurrency?: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
  autorun?: boolean;
}

export declare class Worker<D = unknown, R = unknown> {
  constructor(
    name: string,
    processor: (job: Job<D, R>, token?: string) => Promise<R>,
    opts: WorkerOptions,
  );
  on(event: "error", fn: (e: Error) => void): this;
  on(event: "failed", fn: (job: Job<D, R> | undefined, e: Error) => void): this;
  /** Emitted after BullMQ accepted the job's completion (its lock was still this worker's). */
  on(event: "completed", fn: (job: Job<D, R>, result: R) => void): this;
  /** This worker's stalled-job check moved a job whose lock had lapsed back to waiting. */
  on(event: "stalled", fn: (jobId: string, prev: string) => void): this;
  close(force?: boolean): Promise<void>;
}

export interface QueueEventsOptions extends QueueBaseOptions {
  lastEventId?: string;
}

export declare class QueueEvents {
  constructor(name: string, opts: QueueEventsOptions);
  on(event: "progress", fn: (args: { jobId: string; data: unknown }, id: string) => void): this;
  on(
    event: "completed" | "failed",
    fn: (args: { jobId: string; returnvalue?: string; failedReason?: string }, id: string) => void,
  ): this;
  on(event: "error", fn: (e: Error) => void): this;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

/** Thrown by a processor: fail the job without further attempts. */
export declare class UnrecoverableError extends Error {
  constructor(message?: string);
}
/** Thrown by a processor after `job.moveToWait(token)`: the job went back to waiting. */
export declare class WaitingError extends Error {
  constructor(message?: string);
}
