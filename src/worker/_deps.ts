/**
 * BullMQ and ioredis, imported with the local declarations of the part `dub`
 * uses (see _bullmq.d.ts).
 *
 * @module
 */
// @ts-types="./_bullmq.d.ts"
export { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker } from "bullmq";
export type { Job } from "./_bullmq.d.ts";
// @ts-types="./_ioredis.d.ts"
export { Redis } from "ioredis";
