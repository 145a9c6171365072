/**
 * Where clip jobs run. The local executor is `dub run`'s behaviour: a bounded
 * number of clips at once in this process, sharing in-flight steps and one splat
 * backend pool. A queue executor (`src/worker/`) sends the same jobs to `dub
 * worker`s; the core never imports it.
 *
 * @module
 */
import type { CacheEntry, CacheStore } from "./cache.ts";
import { runClip } from "./clip.ts";
import type { ClipRecord, RunEvent } from "./events.ts";
import { SplatPool } from "./execute.ts";
import type { ClipJob } from "./jobs.ts";
import type { LoadedWorkflow } from "./load.ts";
import type { MediaBackend } from "../media/types.ts";
import type { RunRecords } from "./records.ts";

/** Runs clip jobs and returns one record per job, in order. Never throws for a failing clip. */
export interface Executor {
  /** For the `run_start` event and the report (never credentials). */
  readonly name: string;
  /** Where results are cached, as shown to the user. */
  readonly cacheDescription: string;
  run(
    wf: LoadedWorkflow,
    jobs: ClipJob[],
    ctx: {
      emit: (e: RunEvent) => void;
      signal?: AbortSignal;
      force?: boolean | string;
      onClipError?: (clip: string, error: unknown) => void;
      /** This process's view of the cache (a queue executor looks step results up in it). */
      store?: CacheStore;
    },
  ): Promise<ClipRecord[]>;
}

/** Clips in this process, `concurrency` at a time. */
export class LocalExecutor implements Executor {
  readonly name: string;
  constructor(
    readonly opts: {
      store: CacheStore;
      records: RunRecords;
      media: MediaBackend;
      concurrency: number;
    },
  ) {
    this.name = opts.media.name;
  }

  get cacheDescription(): string {
    return this.opts.store.description;
  }

  async run(
    wf: LoadedWorkflow,
    jobs: ClipJob[],
    ctx: Parameters<Executor["run"]>[2],
  ): Promise<ClipRecord[]> {
    const { store, records, media } = this.opts;
    const out: ClipRecord[] = new Array(jobs.length);
    const inflight = new Map<string, Promise<CacheEntry>>();
    using splats = new SplatPool();
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await runClip(wf, jobs[i]!, {
          store,
          records,
          media,
          splats,
          inflight,
          onEvent: ctx.emit,
          ...(ctx.force !== undefined ? { force: ctx.force } : {}),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.onClipError ? { onClipError: ctx.onClipError } : {}),
        });
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.opts.concurrency, jobs.length) }, lane),
    );
    return out;
  }
}
