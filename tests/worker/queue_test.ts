/**
 * The queue end to end with a real redis-server and `dub worker` subprocesses:
 * a batch through several workers (password-protected Redis, nothing printed
 * names the password), a worker killed mid-job, a worker stopped with SIGTERM, a
 * bad clip, Redis restarted mid-batch, two submitters. Skips (naming
 * redis-server) where Debian's `redis-server` is not installed. Clips are tiny
 * (64×48, 10 frames) so the tests measure the queue, not the media.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openMedia } from "../../src/media/mod.ts";
import { hashFile, LocalCacheStore } from "../../src/workflow/cache.ts";
import { Queue } from "../../src/worker/_deps.ts";
import { QUEUE_NAME } from "../../src/worker/job.ts";
import { closeRedis, connectRedis } from "../../src/worker/redis.ts";
import {
  addWorker,
  clipNames,
  completions,
  DubProcess,
  dumpLogs,
  outPath,
  type QueueSetup,
  redisMissing,
  setupQueue,
  stepStarted,
  submit,
  summaryOf,
  teardownQueue,
  type WorkerOpts,
  workerWhere,
} from "./_harness.ts";

const missing = await redisMissing();
const media = await openMedia();

function queueTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: missing !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}
if (missing) console.warn(`skipping queue tests: ${missing}`);

type Setup = QueueSetup;
const setup = (n: number, w: number, opts: { password?: string; worker?: WorkerOpts } = {}) =>
  setupQueue(media, n, w, opts);
const teardown = (s: Setup) => teardownQueue(s);

const once = (names: string[]) => Object.fromEntries(names.map((n) => [n, 1]));
/** Why a scenario went wrong: every line of its submitters and workers. */
const why = (s: Setup) => dumpLogs(s);

/** Every cache entry verifies (manifest, sizes and sha256 of all its files). */
async function assertCacheIntact(cacheDir: string): Promise<number> {
  const store = new LocalCacheStore(cacheDir);
  let n = 0;
  for await (const shard of Deno.readDir(join(cacheDir, "manifests"))) {
    for await (const e of Deno.readDir(join(cacheDir, "manifests", shard.name))) {
      if (!e.name.endsWith(".json")) continue;
      const key = e.name.replace(/\.json$/, "");
      assert.ok(await store.get(key), `cache entry ${key} does not verify`);
      n++;
    }
  }
  return n;
}

queueTest(
  "dub run --queue: a batch through two workers, every clip once, no credential printed, re-submit adds no work",
  async () => {
    const password = "s3cret-pw";
    const s = await setup(4, 2, { password });
    try {
      const sub = submit(s, ["--report", join(s.dir, "report.json")]);
      assert.equal(await sub.done(), 0, why(s));
      assert.equal(summaryOf(sub).ok, 4);
      assert.deepEqual(completions(s.workers), once(clipNames(s)));
      for (const c of clipNames(s)) {
        const p = await media.probe(outPath(s, c));
        assert.equal(p.video?.frameCount, 10);
        assert.equal(p.audio.length, 1);
      }
      // The workers' events reach the submitter: both steps of every clip.
      assert.equal(sub.lines.filter((l) => l.type === "step_end").length, 8);
      const report = await Deno.readTextFile(join(s.dir, "report.json"));
      assert.equal(JSON.parse(report).clips.length, 4);
      // Results travel as {key, name, sha256} references, never as a worker's cache paths.
      const conn = connectRedis(s.redis.url);
      const q = new Queue(QUEUE_NAME, { connection: conn });
      try {
        const done = await q.getJobs(["completed"]);
        assert.equal(done.length, 4);
        for (const j of done) {
          const rv = JSON.stringify(j.returnvalue);
          assert.ok(!rv.includes(s.cache), `a job result names the cache folder: ${rv}`);
          const enc = (j.returnvalue as { steps: { id: string; outputs: unknown }[] }).steps
            .find((x) => x.id === "enc")!;
          assert.match(JSON.stringify(enc.outputs), /"sha256":"[0-9a-f]{64}"/);
        }
      } finally {
        await q.close();
        await closeRedis(conn);
      }
      assert.ok(!report.includes(s.cache), "the report names the cache folder");
      // Re-submitting the same batch finds the finished jobs: no worker runs anything.
      const again = submit(s);
      assert.equal(await again.done(), 0, why(s));
      assert.deepEqual(completions(s.workers), once(clipNames(s)));
      // No output anywhere names the password.
      const all = [sub, again, ...s.workers].flatMap((p) => [
        ...p.lines.map((l) => JSON.stringify(l)),
        ...p.stderr,
      ]).join("\n") + report;
      assert.ok(!all.includes(password), "the Redis password was printed");
      assert.ok(all.includes("redis://***@127.0.0.1"), "the redacted URL is shown");
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "dub worker killed with SIGKILL mid-job: another worker finishes the clip once, same output, cache intact",
  async () => {
    // A short lock: the dead worker's job is taken up about 3 s after the kill.
    const s = await setup(1, 2, { worker: { lockS: 3 } });
    try {
      const clip = clipNames(s)[0]!;
      // Reference: the same clip run locally with a cache of its own.
      const ref = new DubProcess([
        "run",
        s.wf,
        "--json",
        "--cache-dir",
        join(s.dir, "ref-cache"),
      ]);
      assert.equal(await ref.done(), 0, ref.stderr.join("\n"));
      const want = await hashFile(outPath(s, clip));
      await Deno.remove(join(s.dir, "out"), { recursive: true });

      const sub = submit(s);
      // Kill whichever worker starts encoding (its step is writing into the cache).
      const victim = await workerWhere(s, stepStarted("enc"));
      assert.ok(victim, "no worker started the clip");
      victim.kill("SIGKILL");
      assert.equal(await sub.done(), 0, why(s));
      const survivor = s.workers.find((w) => w !== victim)!;
      assert.deepEqual(completions(s.workers), { [clip]: 1 });
      assert.ok(survivor.lines.some((l) => l.type === "job_end" && l.status === "ok"));
      assert.equal(await hashFile(outPath(s, clip)), want);
      assert.ok((await assertCacheIntact(s.cache)) >= 2);
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "dub worker on SIGTERM hands a running job back (grace over) and exits 0; another worker finishes it",
  async () => {
    const s = await setup(1, 1, { worker: { graceS: 0.05 } });
    try {
      const sub = submit(s);
      const first = s.workers[0]!;
      await first.waitFor((l) => l.type === "job_start", 120_000);
      first.kill("SIGTERM");
      assert.equal(await first.done(), 0, first.stderr.join("\n"));
      const ended = first.lines.find((l) => l.type === "job_end");
      // Either it finished within the grace period or it handed the job back.
      assert.ok(ended && (ended.status === "handed_back" || ended.status === "ok"));
      addWorker(s);
      assert.equal(await sub.done(), 0, why(s));
      assert.deepEqual(completions(s.workers), once(clipNames(s)));
      if (ended.status === "handed_back") {
        // Handing back is not a failed attempt.
        const second = s.workers[1]!.lines.find((l) => l.type === "job_start")!;
        assert.equal(second.attempt, 1);
      }
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "dub run --queue: a bad clip fails after its retries, the others finish, exit 4",
  async () => {
    const s = await setup(2, 2);
    try {
      await Deno.writeFile(
        join(s.dir, "clips", "broken.mp4"),
        new TextEncoder().encode("not a video"),
      );
      await Deno.copyFile(join(s.dir, "clips", "clip_00.wav"), join(s.dir, "clips", "broken.wav"));
      const sub = submit(s, ["--attempts", "2"]);
      assert.equal(await sub.done(), 4, why(s));
      const sum = summaryOf(sub);
      assert.equal(sum.ok, 2);
      assert.equal(sum.failed, 1);
      const failed = sum.failedClips as { clip: string; error: string }[];
      assert.equal(failed[0]!.clip, "broken.mp4");
      assert.match(failed[0]!.error, /broken\.mp4/);
      const tries = s.workers.flatMap((w) =>
        w.lines.filter((l) => l.type === "job_start" && l.clip === "broken.mp4")
      );
      assert.equal(tries.length, 2);
      assert.deepEqual(completions(s.workers), once(["clip_00.mp4", "clip_01.mp4"]));
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "dub run --queue: Redis restarted mid-batch, workers and submitter reconnect, batch completes",
  async () => {
    // A long lock so the restart does not also look like a dead worker.
    const s = await setup(4, 2, { worker: { lockS: 30 } });
    try {
      const sub = submit(s);
      await Promise.race(s.workers.map((w) => w.waitFor((l) => l.type === "job_end", 120_000)));
      await s.redis.restart(1000);
      assert.equal(await sub.done(), 0, why(s));
      assert.equal(summaryOf(sub).ok, 4);
      for (const c of clipNames(s)) await Deno.stat(outPath(s, c));
      assert.deepEqual(completions(s.workers), once(clipNames(s)));
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "two submitters and three workers on one Redis: every clip done exactly once",
  async () => {
    const s = await setup(6, 3);
    try {
      const a = submit(s);
      const b = submit(s);
      assert.equal(await a.done(), 0, why(s));
      assert.equal(await b.done(), 0, why(s));
      assert.equal(summaryOf(a).ok, 6);
      assert.equal(summaryOf(b).ok, 6);
      assert.deepEqual(completions(s.workers), once(clipNames(s)));
      // Each submitter reports every clip once (one clip_end each).
      for (const p of [a, b]) {
        const ends = p.lines.filter((l) => l.type === "clip_end").map((l) => String(l.clip));
        assert.deepEqual(ends.sort(), clipNames(s).sort(), why(s));
      }
    } finally {
      await teardown(s);
    }
  },
);

queueTest(
  "a job run twice (its worker paused past its lock, another took it over): completed once, one clip_end, same bytes",
  async () => {
    // At-least-once delivery made deterministic: SIGSTOP is a worker starved of CPU (it renews
    // no lock); a 2 s lock lapses, the other worker's stalled check re-delivers the job, then
    // the paused worker resumes and finishes its own run of the same clip.
    const s = await setup(1, 2, { worker: { lockS: 2 } });
    try {
      const clip = clipNames(s)[0]!;
      const report = join(s.dir, "report.json");
      const sub = submit(s, ["--report", report]);
      const first = await workerWhere(s, (l) => l.type === "job_start", 120_000, 5);
      assert.ok(first, "no worker started the clip");
      first.kill("SIGSTOP");
      const other = s.workers.find((w) => w !== first)!;
      try {
        await other.waitFor((l) => l.type === "job_start", 60_000);
      } finally {
        first.kill("SIGCONT");
      }
      assert.equal(await sub.done(), 0, why(s));
      // The paused run ends too: BullMQ refuses its completion (the lock is the other's).
      const ghost = await first.waitFor((l) => l.type === "job_end", 60_000);
      assert.equal(ghost.status, "superseded", why(s));
      assert.deepEqual(completions(s.workers), { [clip]: 1 });
      // The submitter counts the clip once: one clip_start, one clip_end, one report entry.
      const of = (t: string) => sub.lines.filter((l) => l.type === t && l.clip === clip).length;
      assert.equal(of("clip_start"), 1, why(s));
      assert.equal(of("clip_end"), 1, why(s));
      assert.equal(summaryOf(sub).ok, 1);
      const rep = JSON.parse(await Deno.readTextFile(report));
      assert.equal(rep.clips.length, 1);
      // Both runs published the same bytes atomically: the output is the cache entry the report
      // names ({key, name, sha256}: the first entry of a step wins, a second run reuses it).
      const enc = rep.clips[0].steps.find((x: { id: string }) => x.id === "enc");
      assert.equal(await hashFile(outPath(s, clip)), enc.outputs.video.sha256);
      const leftovers = [...Deno.readDirSync(join(s.dir, "out"))].filter((e) =>
        e.name.endsWith(".partial")
      );
      assert.deepEqual(leftovers, []);
      assert.ok((await assertCacheIntact(s.cache)) >= 2);
    } finally {
      for (const w of s.workers) w.kill("SIGCONT");
      await teardown(s);
    }
  },
);
