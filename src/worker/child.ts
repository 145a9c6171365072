/**
 * A clip job runs in a child process of `dub worker` (`dub worker-job`, like
 * BullMQ's sandboxed processors): steps that compute in JavaScript (adaptation,
 * rendering) can hold an event loop for seconds, and many times longer on an
 * overloaded machine; in the worker's own loop that would stop BullMQ renewing
 * the job's lock, and a live job would be handed to another worker. The worker
 * process only talks to Redis, so its lock renewals need milliseconds of CPU.
 *
 * Protocol: the parent writes one JSON line ({@link ChildRequest}) to the
 * child's stdin and keeps stdin open; the child writes NDJSON lines to stdout:
 * `{"event": RunEvent}` as the clip runs, then `{"record": ClipRecord}`. SIGTERM
 * (or stdin closing: the worker died) interrupts the run; the child still
 * writes its (interrupted) record and exits.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { DubError } from "../errors.ts";
import type { MediaBackend } from "../media/types.ts";
import { type CacheStore, LocalCacheStore } from "../workflow/cache.ts";
import { type ClipRecord, failedClipRecord, type RunEvent } from "../workflow/events.ts";
import type { ClipJob } from "../workflow/jobs.ts";
import { parseWorkflow } from "../workflow/load.ts";
import { FolderRunRecords } from "../workflow/records.ts";
import type { StageRegistry } from "../workflow/registry.ts";
import { runClipJob } from "../workflow/clip.ts";
import type { ClipJobData } from "./job.ts";

/** What the worker sends its child: the job and where to run it. */
export interface ChildRequest {
  job: ClipJobData;
  cacheDir: string;
}

/** The clip job of a queue job's data. */
export function clipOf(data: ClipJobData): ClipJob {
  const clip: ClipJob = {
    name: data.clip.name,
    stem: data.clip.stem,
    inputs: data.clip.inputs,
    ...(data.clip.error !== undefined ? { error: data.clip.error } : {}),
  };
  if (data.clip.errorKind) clip.errorKind = data.clip.errorKind;
  return clip;
}

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const failed = (clip: ClipJob, error: string): ClipRecord =>
  failedClipRecord(clip.name, clip.inputs, error);

/**
 * Run one clip job in a child `dub worker-job` process (the parent side).
 * `signal` interrupts it (SIGTERM to the child); `onEvent` sees its run events.
 */
export async function runInChild(
  req: ChildRequest,
  opts: { media: string; onEvent: (e: RunEvent) => void; signal: AbortSignal },
): Promise<ClipRecord> {
  const clip = clipOf(req.job);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "worker-job", "--media", opts.media],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const onAbort = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });
  // stdin stays open while this process lives: its end tells the child the worker died.
  const stdin = child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode(JSON.stringify(req) + "\n")).catch(() => {});
  let record: ClipRecord | undefined;
  const errTail: string[] = [];
  const lines = forEachLine;
  try {
    await Promise.all([
      lines(child.stdout, (l) => {
        let m: { event?: RunEvent; record?: ClipRecord };
        try {
          m = JSON.parse(l);
        } catch {
          return;
        }
        if (m.event) opts.onEvent(m.event);
        if (m.record) record = m.record;
      }),
      lines(child.stderr, (l) => {
        errTail.push(l);
        if (errTail.length > 20) errTail.shift();
      }),
    ]);
    const status = await child.status;
    if (record) return record;
    if (opts.signal.aborted) {
      return { ...failed(clip, "Interrupted"), errorKind: "interrupted" };
    }
    return failed(
      clip,
      `The clip's process ended without a result (exit ${status.code}${
        status.signal ? `, ${status.signal}` : ""
      })${errTail.length ? `: ${errTail.slice(-5).join(" | ")}` : ""}`,
    );
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
    await stdin.close().catch(() => {});
  }
}

/**
 * The child side (`dub worker-job`): read the request from stdin, run the clip,
 * write events and the record to stdout. `out` writes one line.
 */
export async function childMain(
  registry: StageRegistry,
  media: MediaBackend,
  out: (line: string) => void,
): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let req: ChildRequest | undefined;
  while (!req) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    const i = buf.indexOf("\n");
    if (i >= 0) req = JSON.parse(buf.slice(0, i)) as ChildRequest;
  }
  const ac = new AbortController();
  const interrupt = () => ac.abort(new DubError("interrupted", "Interrupted"));
  Deno.addSignalListener("SIGTERM", interrupt);
  Deno.addSignalListener("SIGINT", interrupt);
  // The worker holds our stdin open: its end means the worker is gone.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* nothing else is sent */ }
    } catch { /* closed */ }
    interrupt();
  })();
  const clip = clipOf(req.job);
  let record: ClipRecord;
  try {
    const wf = parseWorkflow(req.job.workflow.path, req.job.workflow.text, {
      registry,
      sets: req.job.workflow.sets,
    });
    const store: CacheStore = new LocalCacheStore(req.cacheDir);
    record = await runClipJob(wf, clip, {
      store,
      records: new FolderRunRecords(req.cacheDir),
      media,
      signal: ac.signal,
      ...(req.job.force !== undefined ? { force: req.job.force } : {}),
      onEvent: (event) => out(JSON.stringify({ event })),
    });
  } catch (e) {
    record = {
      ...failed(clip, (e as Error).message),
      errorKind: e instanceof DubError ? e.kind : "step",
    };
  } finally {
    Deno.removeSignalListener("SIGTERM", interrupt);
    Deno.removeSignalListener("SIGINT", interrupt);
  }
  out(JSON.stringify({ record }));
}

/** Calls `f` with each line of a UTF-8 byte stream (without its "\n"; a last line without one too). */
export async function forEachLine(
  s: ReadableStream<Uint8Array>,
  f: (line: string) => void,
): Promise<void> {
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of s) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      f(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  buf += dec.decode();
  if (buf) f(buf);
}
