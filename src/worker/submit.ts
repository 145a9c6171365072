/**
 * The submitting side of a queue batch: enqueue one BullMQ job per clip (ids
 * derived from content, so a re-submitted batch finds its jobs again), follow
 * them with the same run events a local batch emits (relayed from the workers
 * through job progress), and collect their clip records. `dub status` reads a
 * batch's record back from Redis.
 *
 * @module
 */
import { Queue, QueueEvents } from "./_deps.ts";
import type { Job } from "./_deps.ts";
import type { ClipRecord, RunEvent } from "../workflow/events.ts";
import type { Executor } from "../workflow/executor.ts";
import type { ClipJob } from "../workflow/jobs.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import { redactUrl } from "./redis_url.ts";
import {
  BATCH_PREFIX,
  batchIdOf,
  type BatchRecord,
  type ClipJobData,
  clipJobId,
  JOB_DATA_VERSION,
  type JobMessage,
  KEEP_S,
  QUEUE_NAME,
} from "./job.ts";
import { closeRedis, connectRedis, type Redis } from "./redis.ts";

export interface SubmitOptions {
  url: string;
  /** Attempts per clip (1 = no retry). */
  attempts: number;
  /** Re-run every step (true) or the named step: always new jobs. */
  force?: boolean | string;
  /** Delay between attempts. */
  backoffMs?: number;
  onError?: (message: string) => void;
}

/** An open connection to the clip queue (one client per BullMQ object). */
export class ClipQueue {
  readonly queue: Queue;
  readonly #conns: Redis[] = [];
  #kv: Redis | null = null;
  readonly #url: string;
  readonly #onError: ((m: string) => void) | undefined;
  constructor(url: string, onError?: (m: string) => void) {
    this.#url = url;
    this.#onError = onError;
    this.queue = new Queue(QUEUE_NAME, { connection: this.#conn() });
  }
  #conn(): Redis {
    const c = connectRedis(this.#url, this.#onError);
    this.#conns.push(c);
    return c;
  }
  /** Queue events from `sinceMs` on (stream ids are millisecond timestamps). */
  events(sinceMs: number): QueueEvents {
    return new QueueEvents(QUEUE_NAME, {
      connection: this.#conn(),
      lastEventId: `${Math.max(0, Math.floor(sinceMs))}-0`,
    });
  }
  /** A plain client for the batch records. */
  client(): Redis {
    return this.#kv ??= this.#conn();
  }
  async close(): Promise<void> {
    await this.queue.close().catch(() => {});
    await Promise.all(this.#conns.map(closeRedis));
  }
}

/** Did a finished job's outputs survive (so its result can be reused)? */
async function outputsExist(rec: ClipRecord | undefined): Promise<boolean> {
  if (!rec || rec.status !== "ok") return false;
  for (const p of Object.values(rec.outputs)) {
    if (!(await Deno.stat(p).then((s) => s.isFile, () => false))) return false;
  }
  return true;
}

/**
 * Enqueue the clips of a batch. A job that already exists is reused (waiting,
 * running or finished with its outputs still in place), a failed one is retried,
 * a finished one whose outputs are gone is run again.
 */
export async function submitBatch(
  q: ClipQueue,
  wf: LoadedWorkflow,
  source: { text: string; sets: readonly string[] },
  clips: ClipJob[],
  opts: SubmitOptions,
): Promise<BatchRecord> {
  // Redis' clock, not ours: event stream ids are Redis timestamps (machines may disagree).
  const [sec, usec] = await q.client().time();
  const submittedMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  const nonce = opts.force !== undefined && opts.force !== false ? crypto.randomUUID() : undefined;
  const ids: string[] = [];
  for (const c of clips) ids.push(await clipJobId(wf, source.text, source.sets, c, nonce));
  const batchId = batchIdOf(ids);
  const record: BatchRecord = {
    batchId,
    workflow: wf.path,
    submittedAt: new Date(submittedMs).toISOString(),
    clips: clips.map((c, i) => ({ clip: c.name, jobId: ids[i]! })),
  };
  for (const [i, c] of clips.entries()) {
    const jobId = ids[i]!;
    const data: ClipJobData = {
      v: JOB_DATA_VERSION,
      batchId,
      workflow: { path: wf.path, text: source.text, sets: [...source.sets] },
      clip: {
        name: c.name,
        stem: c.stem,
        inputs: c.inputs,
        ...(c.error !== undefined ? { error: c.error } : {}),
        ...((c as { errorKind?: "input" | "workflow" }).errorKind
          ? { errorKind: (c as { errorKind?: "input" | "workflow" }).errorKind! }
          : {}),
      },
      ...(opts.force !== undefined ? { force: opts.force } : {}),
    };
    const existing = await q.queue.getJob(jobId);
    if (existing) {
      const state = await existing.getState();
      if (state === "failed") {
        await existing.retry("failed");
        continue;
      }
      if (state !== "completed" || await outputsExist(existing.returnvalue as ClipRecord)) continue;
      // Finished, but its outputs are gone: run it again under the same id (never remove and
      // re-add: another submitter following it would see it vanish).
      await existing.retry("completed");
      continue;
    }
    await q.queue.add("clip", data, {
      jobId,
      attempts: Math.max(1, opts.attempts),
      backoff: { type: "fixed", delay: opts.backoffMs ?? 1000 },
      removeOnComplete: { age: KEEP_S },
      removeOnFail: { age: KEEP_S },
    });
  }
  const client = q.client();
  await client.set(BATCH_PREFIX + batchId, JSON.stringify(record), "EX", KEEP_S);
  return record;
}

/** Read a batch record (null if unknown or expired). */
export async function readBatch(q: ClipQueue, batchId: string): Promise<BatchRecord | null> {
  const text = await q.client().get(BATCH_PREFIX + batchId);
  return text ? JSON.parse(text) as BatchRecord : null;
}

/** Where one clip of a batch stands. */
export interface ClipStatus {
  clip: string;
  jobId: string;
  state: string;
  attemptsMade: number;
  record?: ClipRecord;
  error?: string;
}

function recordOf(job: Job, clip: string): ClipRecord | undefined {
  if (job.returnvalue && typeof job.returnvalue === "object") return job.returnvalue as ClipRecord;
  const p = job.progress as unknown as JobMessage | undefined;
  if (p && typeof p === "object" && p.kind === "record") return p.record;
  if (job.failedReason) {
    return {
      clip,
      inputs: {},
      status: "failed",
      durationS: 0,
      steps: [],
      outputs: {},
      error: job.failedReason,
      errorKind: "step",
    };
  }
  return undefined;
}

export async function clipStatus(
  q: ClipQueue,
  c: { clip: string; jobId: string },
): Promise<ClipStatus> {
  const job = await q.queue.getJob(c.jobId);
  if (!job) {
    return {
      ...c,
      state: "missing",
      attemptsMade: 0,
      error: "the job is no longer in the queue (expired, or Redis lost its data)",
    };
  }
  const state = await job.getState();
  const rec = state === "completed" || state === "failed" ? recordOf(job, c.clip) : undefined;
  return {
    ...c,
    state,
    attemptsMade: job.attemptsMade,
    ...(rec ? { record: rec } : {}),
    ...(state === "failed" ? { error: rec?.error ?? job.failedReason } : {}),
  };
}

/**
 * Follow a batch until every clip is finished: relays the workers' run events
 * and returns one record per clip in batch order. States are polled (so a Redis
 * restart loses nothing); events come through QueueEvents. `signal` stops
 * following (the jobs go on in the queue).
 */
export async function followBatch(
  q: ClipQueue,
  batch: BatchRecord,
  opts: {
    onEvent: (e: RunEvent) => void;
    signal?: AbortSignal;
    pollMs?: number;
    /** Relay events from this time on (ms since the epoch; default: the batch's submission). */
    sinceMs?: number;
  },
): Promise<(ClipRecord | undefined)[]> {
  const index = new Map(batch.clips.map((c, i) => [c.jobId, i]));
  const records: (ClipRecord | undefined)[] = new Array(batch.clips.length);
  const sawEnd = new Set<string>();
  const events = q.events(opts.sinceMs ?? Date.parse(batch.submittedAt) - 1000);
  events.on("progress", ({ jobId, data }) => {
    if (!index.has(jobId) || records[index.get(jobId)!]) return;
    const m = data as unknown as JobMessage;
    if (m && typeof m === "object" && m.kind === "event") {
      if (m.event.type === "clip_end") sawEnd.add(jobId);
      opts.onEvent(m.event);
    }
  });
  try {
    await events.waitUntilReady();
    let left = batch.clips.length;
    const finishedAt = new Map<string, number>();
    while (left > 0 && !opts.signal?.aborted) {
      for (const [i, c] of batch.clips.entries()) {
        if (records[i]) continue;
        const st = await clipStatus(q, c);
        if (st.state !== "completed" && st.state !== "failed" && st.state !== "missing") {
          finishedAt.delete(c.jobId);
          continue;
        }
        // Give the relayed events a moment to arrive before closing the clip; a job missing
        // from the queue must stay missing for a while (not a moment between two writes).
        const t = finishedAt.get(c.jobId) ?? Date.now();
        finishedAt.set(c.jobId, t);
        // A completed job without its result is in transition (another submitter re-queued it
        // because its outputs were gone, or the result is not written yet): wait like a missing one.
        const unsettled = st.state === "missing" || (st.state === "completed" && !st.record);
        const waitMs = unsettled ? 5000 : sawEnd.has(c.jobId) ? 0 : 2000;
        if (Date.now() - t < waitMs) continue;
        const rec = st.record ?? {
          clip: c.clip,
          inputs: {},
          status: "failed" as const,
          durationS: 0,
          steps: [],
          outputs: {},
          error: st.error ??
            (st.state === "completed" ? "the job completed without a result" : `job ${st.state}`),
          errorKind: "step",
        };
        // A failed job's final record may come from an earlier attempt's events only.
        if (st.state !== "completed") rec.status = "failed";
        records[i] = rec;
        left--;
        if (!sawEnd.has(c.jobId)) {
          opts.onEvent({
            type: "clip_end",
            clip: c.clip,
            status: rec.status,
            durationS: rec.durationS,
            ...(rec.error ? { error: rec.error } : {}),
          });
        }
      }
      if (left > 0) {
        await new Promise<void>((res) => {
          const t = setTimeout(res, opts.pollMs ?? 300);
          opts.signal?.addEventListener("abort", () => {
            clearTimeout(t);
            res();
          }, { once: true });
        });
      }
    }
  } finally {
    await events.close().catch(() => {});
  }
  return records;
}

/**
 * Runs a workflow's clips on `dub worker`s: enqueue (content-derived job ids),
 * then follow with the workers' relayed events. Plugged into `runWorkflow` in
 * place of the local executor, so reports, the summary and exit codes are those
 * of a local run. A stopped follow (Ctrl-C) leaves the batch running in the queue.
 */
export class QueueExecutor implements Executor {
  readonly name = "queue";
  readonly cacheDescription: string;
  /** Set once the batch is submitted (for `dub status`). */
  batchId: string | undefined;
  readonly #q: ClipQueue;
  readonly #opts: SubmitOptions;

  constructor(q: ClipQueue, opts: SubmitOptions) {
    this.#q = q;
    this.#opts = opts;
    this.cacheDescription = `the workers' (queue ${redactUrl(opts.url)})`;
  }

  async run(
    wf: LoadedWorkflow,
    jobs: ClipJob[],
    ctx: Parameters<Executor["run"]>[2],
  ): Promise<ClipRecord[]> {
    const force = ctx.force ?? this.#opts.force;
    const batch = await submitBatch(this.#q, wf, wf.source, jobs, {
      ...this.#opts,
      ...(force !== undefined ? { force } : {}),
    });
    this.batchId = batch.batchId;
    const got = await followBatch(this.#q, batch, {
      onEvent: ctx.emit,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return got.map((r, i) =>
      r ?? {
        clip: jobs[i]!.name,
        inputs: jobs[i]!.inputs,
        status: "failed" as const,
        durationS: 0,
        steps: [],
        outputs: {},
        error:
          `Not followed to the end; the clip goes on in the queue (dub status ${batch.batchId})`,
        errorKind: "interrupted",
      }
    );
  }
}
