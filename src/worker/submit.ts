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
import { isReportFile, REPORT_DATA_KEY } from "../report/collect.ts";
import type { CacheStore } from "../workflow/cache.ts";
import {
  clipFromFile,
  type ClipRecord,
  type ClipRecordFile,
  failedClipRecord,
  type RunEvent,
} from "../workflow/events.ts";
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
    // BullMQ's close waits for its connection; Redis may be down (Ctrl-C while it restarts).
    await Promise.race([
      this.queue.close().catch(() => {}),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    await Promise.all(this.#conns.map(closeRedis));
  }
}

/** The published outputs of a finished clip that this machine cannot see (empty: all there). */
async function outputsMissing(rec: ClipRecord): Promise<string[]> {
  const gone: string[] = [];
  for (const p of Object.values(rec.outputs)) {
    if (!(await Deno.stat(p).then((s) => s.isFile, () => false))) gone.push(p);
  }
  return gone;
}

/** Options of one clip job as the submitter adds it. */
function jobOptions(opts: SubmitOptions, jobId: string) {
  return {
    jobId,
    attempts: Math.max(1, opts.attempts),
    backoff: { type: "fixed" as const, delay: opts.backoffMs ?? 1000 },
    removeOnComplete: { age: KEEP_S },
    removeOnFail: { age: KEEP_S },
  };
}

/** A submitted batch: its record, and how to add one of its jobs again (Redis lost it). */
export interface SubmittedBatch extends BatchRecord {
  readd(jobId: string): Promise<void>;
}

/**
 * Enqueue the clips of a batch. A job that already exists is reused (waiting,
 * running or finished with its outputs still in place), a failed one is retried,
 * a finished one whose outputs are gone is run again. Another submitter may do
 * the same at the same moment: a retry it made first is not an error here.
 */
export async function submitBatch(
  q: ClipQueue,
  wf: LoadedWorkflow,
  source: { text: string; sets: readonly string[] },
  clips: ClipJob[],
  opts: SubmitOptions,
): Promise<SubmittedBatch> {
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
  const datas = new Map<string, ClipJobData>();
  for (const [i, c] of clips.entries()) {
    datas.set(ids[i]!, {
      v: JOB_DATA_VERSION,
      batchId,
      workflow: { path: wf.path, text: source.text, sets: [...source.sets] },
      clip: {
        name: c.name,
        stem: c.stem,
        inputs: c.inputs,
        ...(c.error !== undefined ? { error: c.error } : {}),
        ...(c.errorKind === "input" || c.errorKind === "workflow"
          ? { errorKind: c.errorKind }
          : {}),
      },
      ...(opts.force !== undefined ? { force: opts.force } : {}),
    });
  }
  for (const jobId of ids) {
    const existing = await q.queue.getJob(jobId);
    if (existing) {
      const state = await existing.getState();
      if (state === "failed") {
        // Fails when another submitter retried it first: it is waiting again either way.
        await existing.retry("failed").catch(() => {});
        continue;
      }
      const rv = existing.returnvalue as ClipRecordFile | null;
      if (state !== "completed" || !rv || (await outputsMissing(clipFromFile(rv))).length === 0) {
        continue;
      }
      // Finished, but its outputs are gone: run it again under the same id (never remove and
      // re-add: another submitter following it would see it vanish).
      await existing.retry("completed").catch(() => {});
      continue;
    }
    // An id that exists already (another submitter added it meanwhile) is not added twice.
    await q.queue.add("clip", datas.get(jobId)!, jobOptions(opts, jobId));
  }
  const client = q.client();
  await client.set(BATCH_PREFIX + batchId, JSON.stringify(record), "EX", KEEP_S);
  return {
    ...record,
    readd: async (jobId: string) => {
      const data = datas.get(jobId);
      if (data) await q.queue.add("clip", data, jobOptions(opts, jobId));
    },
  };
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
  /**
   * The job is finished (completed or failed) and its result was read with that
   * state: `record` is the clip's outcome. A finished state read without its
   * result was a snapshot across a change (a retry by another submitter, the
   * completion itself): not settled, read again.
   */
  settled: boolean;
  record?: ClipRecord;
  error?: string;
}

const failedClip = (clip: string, error: string): ClipRecord => failedClipRecord(clip, {}, error);

/**
 * Where a clip's job stands, read consistently: the state first, then the job.
 * BullMQ moves a job into `completed` (`failed`) and writes its `returnvalue`
 * (`failedReason`) and `finishedOn` in one atomic script, and a retry removes
 * them in one script too; so a final state whose job still holds its result is
 * the job's outcome, whatever events were or were not seen.
 */
export async function clipStatus(
  q: ClipQueue,
  c: { clip: string; jobId: string },
): Promise<ClipStatus> {
  const state = await q.queue.getJobState(c.jobId);
  const job = await q.queue.getJob(c.jobId);
  if (!job) {
    return {
      ...c,
      state: "missing",
      attemptsMade: 0,
      settled: false,
      error: "the job is no longer in the queue (expired, or Redis lost its data)",
    };
  }
  const base = { ...c, state, attemptsMade: job.attemptsMade };
  if (state === "completed") {
    const rv = job.returnvalue as ClipRecordFile | null;
    if (!job.finishedOn || !rv || typeof rv !== "object" || !Array.isArray(rv.steps)) {
      return { ...base, settled: false };
    }
    return { ...base, settled: true, record: clipFromFile(rv) };
  }
  if (state === "failed") {
    if (!job.finishedOn || !job.failedReason) return { ...base, settled: false };
    // The worker sends a failed attempt's record just before it throws; other failures
    // (stalled too often, malformed job) have only BullMQ's reason.
    const p = job.progress as unknown as JobMessage | undefined;
    const rec = p && typeof p === "object" && p.kind === "record" && p.record.status === "failed"
      ? clipFromFile(p.record)
      : failedClip(c.clip, job.failedReason);
    return { ...base, settled: true, record: rec, error: rec.error ?? job.failedReason };
  }
  return { ...base, settled: false };
}

/** How long a finished clip's outputs may stay invisible here (a network filesystem's cache). */
const OUTPUT_VISIBLE_MS = 30_000;
/** How often a job Redis lost is added again before its clip is reported as failed. */
const MAX_READDS = 3;
/** How long relayed events of a finished clip may trail its final state (display only). */
const EVENT_DRAIN_MS = 2000;

/**
 * Follow a batch until every clip is settled and return one record per clip in
 * batch order. The outcome of a clip comes only from Redis (its job's final
 * state and result, see {@link clipStatus}) and the file system (its outputs
 * are there): a job is completed once even when it ran twice (a worker whose
 * lock lapsed while starved of CPU loses the completion to the one that took
 * the job over), and each clip gets exactly one `clip_end`, made here from that
 * outcome. The workers' other events are relayed (QueueEvents) for display only;
 * a clip's `clip_end` waits up to 2 s for them to drain. A job Redis lost (a
 * restart without its append-only file) is added again (`readd`). `signal`
 * stops following (the jobs go on in the queue).
 */
export async function followBatch(
  q: ClipQueue,
  batch: BatchRecord & { readd?: (jobId: string) => Promise<void> },
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
  /** Jobs whose clip_start was relayed, and whose clip_end was emitted (no more events). */
  const started = new Set<string>();
  const closed = new Set<string>();
  /** Jobs whose completed/failed event came through (their progress events are all in). */
  const finishSeen = new Set<string>();
  const events = q.events(opts.sinceMs ?? Date.parse(batch.submittedAt) - 1000);
  events.on("progress", ({ jobId, data }) => {
    if (!index.has(jobId) || closed.has(jobId)) return;
    const m = data as unknown as JobMessage;
    if (!m || typeof m !== "object" || m.kind !== "event") return;
    // One clip_start and one clip_end per clip, however often its job ran.
    if (m.event.type === "clip_end") return;
    if (m.event.type === "clip_start") {
      if (started.has(jobId)) return;
      started.add(jobId);
    }
    opts.onEvent(m.event);
  });
  events.on("completed", ({ jobId }) => finishSeen.add(jobId));
  events.on("failed", ({ jobId }) => finishSeen.add(jobId));
  // The connection retries by itself; states are polled, so nothing depends on it.
  events.on("error", () => {});
  try {
    await events.waitUntilReady();
    let left = batch.clips.length;
    /** Per job: its settled record and when it was first seen settled. */
    const settledAt = new Map<string, { rec: ClipRecord; t: number }>();
    const missingSince = new Map<string, number>();
    const readds = new Map<string, number>();
    while (left > 0 && !opts.signal?.aborted) {
      for (const [i, c] of batch.clips.entries()) {
        if (records[i]) continue;
        let done = settledAt.get(c.jobId);
        if (!done) {
          const st = await clipStatus(q, c);
          if (st.state === "missing") {
            const n = readds.get(c.jobId) ?? 0;
            if (batch.readd && n < MAX_READDS) {
              readds.set(c.jobId, n + 1);
              await batch.readd(c.jobId);
              continue;
            }
            done = {
              rec: failedClip(
                c.clip,
                `The job of "${c.clip}" is no longer in the queue (Redis lost its data${
                  n ? `; added again ${n} times` : ""
                }); run the batch again`,
              ),
              t: Date.now(),
            };
          } else if (!st.settled) continue;
          else {
            const rec = st.record!;
            if (rec.status === "ok") {
              // Its outputs must be here: the same shared folder, at the same path.
              const gone = await outputsMissing(rec);
              if (gone.length) {
                const since = missingSince.get(c.jobId) ?? Date.now();
                missingSince.set(c.jobId, since);
                if (Date.now() - since < OUTPUT_VISIBLE_MS) continue;
                rec.status = "failed";
                rec.errorKind = "step";
                rec.error = `Clip "${c.clip}" finished on a worker, but its output "${
                  gone[0]
                }" is not visible on this machine; mount the shared folder at the same path on every machine (README: many machines)`;
              }
            }
            done = { rec, t: Date.now() };
          }
          settledAt.set(c.jobId, done);
        }
        // Display only: let the clip's relayed events drain before its clip_end.
        if (!finishSeen.has(c.jobId) && Date.now() - done.t < EVENT_DRAIN_MS) continue;
        const rec = done.rec;
        records[i] = rec;
        left--;
        closed.add(c.jobId);
        opts.onEvent({
          type: "clip_end",
          clip: c.clip,
          status: rec.status,
          durationS: rec.durationS,
          ...(rec.error ? { error: rec.error } : {}),
        });
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
 * Give a finished clip's step results local paths through a cache this machine
 * sees (the shared cache folder, wherever it is mounted here): results travel
 * as `{key, name, sha256}` references, never as a worker's paths. Steps not in
 * `store` keep empty paths (the HTML report then lists them without pictures).
 */
export async function localisePaths(rec: ClipRecord, store: CacheStore): Promise<void> {
  for (const s of rec.steps) {
    if (Object.keys(s.outputs).length || !s.key || s.status === "failed") continue;
    if (s.status === "not-run") continue;
    const entry = await store.get(s.key).catch(() => null);
    if (!entry) continue;
    s.outputs = Object.fromEntries(
      Object.entries(entry.paths).filter(([k]) => !isReportFile(k)),
    );
    if (entry.paths[REPORT_DATA_KEY]) s.report = entry.paths[REPORT_DATA_KEY];
  }
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
    if (ctx.store) { for (const r of got) if (r) await localisePaths(r, ctx.store); }
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
