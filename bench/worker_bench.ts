/**
 * Queue benchmark: throughput of a batch of short clips through 1, 2 and 3 local
 * `dub worker` processes on one real redis-server (versus a local `dub run
 * --batch` of the same clips), and the queue's per-job latency: how long a job
 * waits in Redis before an idle worker takes it, and the submit → result round
 * trip of a job whose steps are all cached (pure queue overhead).
 *
 *   deno run -A bench/worker_bench.ts [--clips N] [--frames F] [--workers 1,2,3]
 *
 * Skips (exit 0) with a message where Debian redis-server is missing.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "../src/worker/_deps.ts";
import { openMedia } from "../src/media/mod.ts";
import { QUEUE_NAME } from "../src/worker/job.ts";
import { closeRedis, connectRedis } from "../src/worker/redis.ts";
import {
  DubProcess,
  makeClips,
  queueWorkflow,
  redisMissing,
  RedisServer,
  startWorker,
} from "../tests/worker/_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clips: { type: "string", default: "6" },
    frames: { type: "string", default: "50" },
    workers: { type: "string", default: "1,2,3" },
  },
});
const nClips = Number(values.clips);
const frames = Number(values.frames);
const workerCounts = values.workers!.split(",").map(Number);

const missing = await redisMissing();
if (missing) {
  console.log(`worker_bench: skipped: ${missing}`);
  Deno.exit(0);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f1 = (x: number) => x.toFixed(1);

await using media = await openMedia({});
const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dub-bench-q-" }));
await makeClips(media, join(dir, "clips"), nClips, frames);
const wf = join(dir, "wf.yaml");
await Deno.writeTextFile(wf, queueWorkflow());
console.log(
  `worker_bench: ${nClips} clips of ${frames} frames (64×48, 25 fps) + tone; steps audio.replace, video.encode; media ${media.name}; ${navigator.hardwareConcurrency} cores`,
);

// Local baseline: the same batch in one process, one clip at a time.
{
  const t0 = performance.now();
  const p = new DubProcess([
    "run",
    wf,
    "--json",
    "--cache-dir",
    join(dir, "cache-local"),
    "--concurrency",
    "1",
  ]);
  if ((await p.done()) !== 0) throw new Error(p.stderr.join("\n"));
  const s = (performance.now() - t0) / 1000;
  console.log(
    `local dub run --batch (1 at a time): ${f1(s)} s wall, ${f1(nClips / s * 60)} clips/min`,
  );
  await Deno.remove(join(dir, "out"), { recursive: true });
}

const rows: { workers: number; wallS: number; waitMs: number[]; runS: number[] }[] = [];
for (const n of workerCounts) {
  const redis = await RedisServer.start();
  const cache = join(dir, `cache-${n}`);
  const ws = Array.from(
    { length: n },
    () => startWorker(redis.url, { cacheDir: cache, roots: [dir] }),
  );
  for (const w of ws) await w.waitFor((l) => l.type === "worker_ready");
  const t0 = performance.now();
  const sub = new DubProcess(["run", wf, "--queue", redis.url, "--json"]);
  if ((await sub.done()) !== 0) throw new Error(sub.stderr.join("\n"));
  const wallS = (performance.now() - t0) / 1000;
  // Per job, from BullMQ's own timestamps: waiting in Redis (added → taken), running.
  const conn = connectRedis(redis.url);
  const q = new Queue(QUEUE_NAME, { connection: conn });
  const jobs = await q.getJobs(["completed"]);
  const waitMs = jobs.map((j) => j.processedOn! - j.timestamp);
  const runS = jobs.map((j) => (j.finishedOn! - j.processedOn!) / 1000);
  rows.push({ workers: n, wallS, waitMs, runS });
  console.log(
    `${n} worker${n > 1 ? "s" : " "}: ${f1(wallS)} s wall (submit → summary), ${
      f1(nClips / wallS * 60)
    } clips/min, speed-up ×${(rows[0]!.wallS / wallS).toFixed(2)}; job run median ${
      f1(median(runS))
    } s; waited in queue median ${f1(median(waitMs) / 1000)} s, max ${
      f1(Math.max(...waitMs) / 1000)
    } s`,
  );
  // Queue overhead with nothing to compute: the same clips under a workflow whose text differs
  // only by a comment (new job ids, same step keys: every step is a cache hit).
  if (n === 1) {
    const wf2 = join(dir, "wf_again.yaml");
    await Deno.writeTextFile(wf2, queueWorkflow() + "# the same steps again\n");
    const before = new Set((await q.getJobs(["completed"])).map((j) => j.id));
    const t = performance.now();
    const again = new DubProcess(["run", wf2, "--queue", redis.url, "--json"]);
    if ((await again.done()) !== 0) throw new Error(again.stderr.join("\n"));
    const s = (performance.now() - t) / 1000;
    const cached = (await q.getJobs(["completed"])).filter((j) => !before.has(j.id));
    const pickupMs = cached.map((j) => j.processedOn! - j.timestamp);
    const cachedRunMs = cached.map((j) => j.finishedOn! - j.processedOn!);
    console.log(
      `all-cached batch through 1 worker: ${f1(s)} s wall incl. submitter start-up, ${
        f1(s / nClips * 1000)
      } ms per clip; job run (cache lookups + publish) median ${
        median(cachedRunMs).toFixed(0)
      } ms; first job's wait for an idle worker ${Math.min(...pickupMs).toFixed(0)} ms`,
    );
  }
  await q.close();
  await closeRedis(conn);
  for (const w of ws) w.kill("SIGTERM");
  for (const w of ws) await w.done();
  await redis.dispose();
}
await Deno.remove(dir, { recursive: true });
