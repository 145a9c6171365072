/**
 * Queue commands: `dub worker`, `dub status BATCH_ID`, and `dub run … --queue`
 * (submit a batch to Redis and follow it like a local one).
 *
 * @module
 */
import type { Command } from "commander";
import { Option } from "commander";
import { resolve } from "node:path";
import { DubError } from "../errors.ts";
import { type MediaChoice, openMedia } from "../media/mod.ts";
import { REGISTRY } from "../stages/mod.ts";
import type { Executor } from "../workflow/executor.ts";
import { clipJobs } from "../workflow/jobs.ts";
import { type LoadedWorkflow, loadWorkflow } from "../workflow/load.ts";
import { ClipQueue, clipStatus, QueueExecutor, readBatch, submitBatch } from "../worker/submit.ts";
import { parseRedisUrl, redactUrl } from "../worker/redis_url.ts";
import { DubWorker, type WorkerLog } from "../worker/worker.ts";
import { childMain } from "../worker/child.ts";
import { EXIT } from "./exit_codes.ts";

const enc = new TextEncoder();
const out = (s: string) => Deno.stdout.writeSync(enc.encode(s + "\n"));
const err = (s: string) => Deno.stderr.writeSync(enc.encode(s + "\n"));
const collect = (v: string, prev: string[]) => [...prev, v];

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new DubError("usage", `Invalid ${name} "${v}"`, { hint: "pass a positive integer" });
  }
  return n;
};
const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new DubError("usage", `Invalid ${name} "${v}"`, { hint: "pass a positive number" });
  }
  return n;
};

/** The `--queue URL` value checked early (credentials are never echoed). */
export function queueUrl(url: string): string {
  parseRedisUrl(url);
  return url;
}

export interface QueueRunOptions {
  queue: string;
  set: string[];
  batch?: string;
  json?: boolean;
  verbose?: boolean;
  detach?: boolean;
  attempts?: number;
  force?: boolean | string;
  /** Runs the workflow with this executor the way `dub run` does (progress, report, exit code). */
  run: (wf: LoadedWorkflow, executor: Executor) => Promise<number>;
}

/** `dub run WORKFLOW --queue URL …`: enqueue one job per clip and follow them like a local run. */
export async function cmdRunQueue(file: string, opts: QueueRunOptions): Promise<number> {
  const wf = await loadWorkflow(file, { registry: REGISTRY, sets: opts.set });
  const queueName = redactUrl(opts.queue);
  const q = new ClipQueue(opts.queue, (m) => {
    if (opts.verbose && !opts.json) err(`  ${m}`);
  });
  try {
    if (opts.detach) {
      const jobs = await clipJobs(wf, opts.batch);
      const batch = await submitBatch(q, wf, wf.source, jobs, {
        url: opts.queue,
        attempts: opts.attempts ?? 2,
        ...(opts.force !== undefined ? { force: opts.force } : {}),
      });
      if (opts.json) {
        out(JSON.stringify({ type: "submitted", batchId: batch.batchId, clips: jobs.length }));
      } else {
        out(batch.batchId);
        err(
          `submitted ${jobs.length} clip${jobs.length === 1 ? "" : "s"} to ${queueName}; ` +
            `follow with: dub status ${batch.batchId} --queue ${queueName}`,
        );
      }
      return EXIT.ok;
    }
    const executor = new QueueExecutor(q, {
      url: opts.queue,
      attempts: opts.attempts ?? 2,
      ...(opts.force !== undefined ? { force: opts.force } : {}),
    });
    const code = await opts.run(wf, executor);
    if (code === EXIT.interrupted && executor.batchId) {
      err(
        `stopped following; the batch goes on in the queue: dub status ${executor.batchId} --queue ${queueName}`,
      );
    }
    return code;
  } finally {
    await q.close();
  }
}

interface WorkerCliOpts {
  queue: string;
  concurrency: number;
  cacheDir?: string;
  root: string[];
  media: MediaChoice;
  graceS: number;
  lockS: number;
  json?: boolean;
  verbose?: boolean;
}

function printWorkerLog(l: WorkerLog, json: boolean): void {
  if (json) {
    out(JSON.stringify({ ...l, pid: Deno.pid, time: new Date().toISOString() }));
    return;
  }
  switch (l.type) {
    case "worker_ready":
      err(
        `dub worker: ${l.queue}, ${l.concurrency} at a time, roots ${l.roots.join(", ")}`,
      );
      break;
    case "job_start":
      err(`  ${l.clip}: started (attempt ${l.attempt}, job ${l.jobId.slice(0, 12)})`);
      break;
    case "job_end":
      err(
        `  ${l.clip}: ${l.status === "ok" ? "done" : l.status.replace("_", " ")} in ${
          l.durationS.toFixed(1)
        }s${l.error ? `: ${l.error}` : ""}`,
      );
      break;
    case "worker_event":
      if (l.event.type === "step_end") {
        err(`    ${l.event.clip} ${l.event.step}: ${l.event.status}`);
      }
      break;
    case "worker_error":
      err(`warning: ${l.message}`);
      break;
    case "worker_stopping":
      err(
        `stopping: ${l.active} job${
          l.active === 1 ? "" : "s"
        } running; finishing for up to ${l.graceS}s, then handing back (again to quit at once)`,
      );
      break;
    case "worker_stopped":
      err("stopped");
      break;
  }
}

async function cmdWorker(opts: WorkerCliOpts): Promise<number> {
  const cacheDir = resolve(opts.cacheDir ?? Deno.env.get("DUB_CACHE_DIR") ?? ".dub-cache");
  const roots = (opts.root.length ? opts.root : [Deno.cwd()]).map((r) => resolve(r));
  for (const r of roots) {
    const st = await Deno.stat(r).catch(() => null);
    if (!st?.isDirectory) {
      throw new DubError("usage", `--root "${r}" is not a folder`, {
        hint: "pass folders the worker may read inputs from and write outputs to",
      });
    }
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  // Clips run in child processes (`dub worker-job`) that open their own media backend;
  // opening it here once reports a missing backend at start, not per job.
  await (await openMedia({ backend: opts.media }))[Symbol.asyncDispose]();
  const w = new DubWorker({
    registry: REGISTRY,
    url: opts.queue,
    concurrency: opts.concurrency,
    cacheDir,
    roots,
    media: opts.media,
    graceS: opts.graceS,
    lockDurationMs: opts.lockS * 1000,
    stalledIntervalMs: Math.max(500, opts.lockS * 500),
    onLog: (l) => printWorkerLog(l, !!opts.json),
    forwardEvents: !!opts.verbose,
  });
  let signals = 0;
  const onSig = () => {
    if (++signals > 1) Deno.exit(EXIT.interrupted);
    w.stop();
  };
  Deno.addSignalListener("SIGINT", onSig);
  Deno.addSignalListener("SIGTERM", onSig);
  try {
    w.start();
    await w.done;
  } finally {
    Deno.removeSignalListener("SIGINT", onSig);
    Deno.removeSignalListener("SIGTERM", onSig);
  }
  return EXIT.ok;
}

async function cmdStatus(
  batchId: string,
  opts: { queue: string; json?: boolean },
): Promise<number> {
  const q = new ClipQueue(opts.queue);
  try {
    const batch = await readBatch(q, batchId);
    if (!batch) {
      throw new DubError("usage", `No batch "${batchId}" on ${redactUrl(opts.queue)}`, {
        hint: "use the id printed by dub run --detach (batches are kept 7 days)",
      });
    }
    const st: Awaited<ReturnType<typeof clipStatus>>[] = [];
    for (const c of batch.clips) st.push(await clipStatus(q, c));
    const count = (s: string) => st.filter((x) => x.state === s).length;
    const done = count("completed") + count("failed") + count("missing");
    const failed = st.filter((x) =>
      x.state === "failed" || x.state === "missing" ||
      (x.state === "completed" && x.record?.status === "failed")
    );
    if (opts.json) {
      out(JSON.stringify({
        batchId,
        workflow: batch.workflow,
        submittedAt: batch.submittedAt,
        total: st.length,
        done,
        failed: failed.length,
        clips: st.map((x) => ({
          clip: x.clip,
          state: x.state,
          attemptsMade: x.attemptsMade,
          ...(x.error ? { error: x.error } : {}),
          ...(x.record?.outputs ? { outputs: x.record.outputs } : {}),
        })),
      }));
    } else {
      out(`batch ${batchId}: ${batch.workflow}, submitted ${batch.submittedAt}`);
      out(
        `  ${done}/${st.length} finished, ${failed.length} failed, ${count("active")} running, ${
          count("waiting") + count("delayed") + count("prioritized")
        } waiting`,
      );
      for (const x of st) {
        out(`  ${x.state.padEnd(9)} ${x.clip}${x.error ? `: ${x.error}` : ""}`);
      }
    }
    return failed.length ? EXIT.batchPartial : EXIT.ok;
  } finally {
    await q.close();
  }
}

/** Add `dub worker` and `dub status` to the program. */
export function registerQueueCommands(program: Command, setCode: (code: number) => void): void {
  program.command("worker")
    .description("take clip jobs from a Redis queue and run them (see README: many machines)")
    .requiredOption(
      "--queue <url>",
      "redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://… (TLS)",
      queueUrl,
    )
    .option("--concurrency <n>", "clip jobs at once", positiveInt("--concurrency"), 1)
    .option(
      "--cache-dir <dir>",
      "the shared step cache folder (default: $DUB_CACHE_DIR or ./.dub-cache)",
    )
    .option(
      "--root <dir>",
      "a folder jobs may read inputs from and write outputs to; repeatable (default: the current folder)",
      collect,
      [],
    )
    .addOption(
      new Option("--media <backend>", "media backend").choices(["auto", "native", "wasm"]).default(
        "auto",
      ),
    )
    .option(
      "--grace-s <s>",
      "on SIGTERM, let running jobs finish this long before handing them back",
      positiveNumber("--grace-s"),
      25,
    )
    .option(
      "--lock-s <s>",
      "job lock time: a dead worker's job is taken up by another after about this long",
      positiveNumber("--lock-s"),
      30,
    )
    .option("--json", "NDJSON log lines on stdout")
    .option("--verbose", "also show each step as it ends")
    .action(async (opts: WorkerCliOpts) => setCode(await cmdWorker(opts)));

  // One clip job in a child process of `dub worker` (see src/worker/child.ts); not for users.
  program.command("worker-job", { hidden: true })
    .addOption(
      new Option("--media <backend>", "media backend").choices(["auto", "native", "wasm"]).default(
        "auto",
      ),
    )
    .action(async (opts: { media: MediaChoice }) => {
      await using media = await openMedia({ backend: opts.media });
      await childMain(REGISTRY, media, out);
      setCode(EXIT.ok);
    });

  program.command("status")
    .argument("<batch-id>", "the id printed by dub run --detach")
    .description("show where a queued batch stands")
    .requiredOption("--queue <url>", "the Redis URL the batch was submitted to", queueUrl)
    .option("--json", "print as JSON")
    .action(async (id: string, opts: { queue: string; json?: boolean }) =>
      setCode(await cmdStatus(id, opts))
    );
}
