/**
 * Soak the queue: run the queue fault scenarios of tests/worker/queue_test.ts
 * many times in a row (best with the machine loaded, e.g. a few `nice -n 19 sh
 * -c 'while :; do :; done'`) and keep every process's full NDJSON log of each run
 * that went wrong: a submitter exiting with another code than expected, a clip
 * not done exactly once, a missing output.
 *
 *   deno run -A scripts/queue_soak.ts [--runs 20] [--scenarios two,kill,restart,bad]
 *                                     [--logs DIR]
 *
 * Prints one line per run and a tally; exits 1 if any run went wrong. Not a test
 * (it takes minutes); skips with a message where Debian redis-server is missing.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openMedia } from "../src/media/mod.ts";
import { hashFile } from "../src/workflow/cache.ts";
import { Queue } from "../src/worker/_deps.ts";
import { QUEUE_NAME } from "../src/worker/job.ts";
import { closeRedis, connectRedis } from "../src/worker/redis.ts";
import {
  clipNames,
  completions,
  type DubProcess,
  dumpLogs,
  outPath,
  type QueueSetup,
  redisMissing,
  setupQueue,
  stepStarted,
  submit,
  summaryOf,
  teardownQueue,
  workerWhere,
} from "../tests/worker/_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "20" },
    scenarios: { type: "string", default: "two,kill,restart,bad" },
    logs: { type: "string", default: "out/queue_soak" },
    "timeout-s": { type: "string", default: "240" },
  },
});
const missing = await redisMissing();
if (missing) {
  console.log(`queue_soak: skipped: ${missing}`);
  Deno.exit(0);
}
await using media = await openMedia({});
const logDir = values.logs!;
await Deno.mkdir(logDir, { recursive: true });

const names = clipNames;

/** Problems of one run (empty: as expected). `setup` is called as soon as the scenario has one. */
type Scenario = (setup: (s: QueueSetup) => void) => Promise<{ s: QueueSetup; problems: string[] }>;

/** Every job of the queue with its state, attempts and result/failure (for a hung run's log). */
async function queueSnapshot(s: QueueSetup): Promise<string> {
  const conn = connectRedis(s.redis.url);
  const q = new Queue(QUEUE_NAME, { connection: conn });
  try {
    const jobs = await q.getJobs([]);
    const lines: string[] = ["== queue"];
    for (const j of jobs) {
      lines.push(JSON.stringify({
        id: j.id,
        clip: (j.data as { clip?: { name?: string } }).clip?.name,
        state: await j.getState(),
        attemptsMade: j.attemptsMade,
        stalledCounter: (j as unknown as { stalledCounter?: number }).stalledCounter,
        processedOn: j.processedOn,
        finishedOn: j.finishedOn,
        failedReason: j.failedReason,
        returnvalue: j.returnvalue ? "present" : "none",
      }));
    }
    return lines.join("\n");
  } catch (e) {
    return `== queue: ${(e as Error).message}`;
  } finally {
    await q.close().catch(() => {});
    await closeRedis(conn);
  }
}

function expectExit(problems: string[], who: string, code: number, want: number): void {
  if (code !== want) problems.push(`${who} exited ${code}, expected ${want}`);
}
function expectOnce(problems: string[], s: QueueSetup, clips: string[]): void {
  const got = completions(s.workers);
  for (const c of clips) {
    if (got[c] !== 1) problems.push(`${c} completed ${got[c] ?? 0} times`);
  }
}
async function expectOutputs(problems: string[], s: QueueSetup, clips: string[]) {
  for (const c of clips) {
    if (!(await Deno.stat(outPath(s, c)).then((x) => x.isFile, () => false))) {
      problems.push(`no output for ${c}`);
    }
  }
}

/** Two submitters of the same batch: both exit 0, every clip done once with its output, each submitter reports every clip. */
async function twoSubmitters(s: QueueSetup, problems: string[]): Promise<DubProcess[]> {
  const a = submit(s);
  const b = submit(s);
  expectExit(problems, "submitter A", await a.done(), 0);
  expectExit(problems, "submitter B", await b.done(), 0);
  expectOnce(problems, s, names(s));
  await expectOutputs(problems, s, names(s));
  for (const [who, p] of [["A", a], ["B", b]] as const) {
    const ends = p.lines.filter((l) => l.type === "clip_end").length;
    const n = s.clips.length;
    if (ends !== n) {
      problems.push(`submitter ${who} emitted ${ends} clip_end events, expected ${n}`);
    }
  }
  return [a, b];
}

let killRef: string | undefined;

const scenarios: Record<string, Scenario> = {
  /** Two submitters, three workers, six clips: both exit 0, every clip done once. */
  async two(got) {
    const s = await setupQueue(media, 6, 3);
    got(s);
    const problems: string[] = [];
    for (const p of await twoSubmitters(s, problems)) {
      if (summaryOf(p)?.ok !== 6) problems.push(`summary ${JSON.stringify(summaryOf(p))}`);
    }
    return { s, problems };
  },
  /** As `two`, with a 2 s lock: workers on a loaded machine lose locks, jobs run twice. */
  async "two-short"(got) {
    const s = await setupQueue(media, 6, 3, { worker: { lockS: 2 } });
    got(s);
    const problems: string[] = [];
    await twoSubmitters(s, problems);
    const superseded =
      s.workers.flatMap((w) =>
        w.lines.filter((l) => l.type === "job_end" && l.status === "superseded")
      ).length;
    if (superseded) console.log(`  (${superseded} superseded runs)`);
    return { s, problems };
  },
  /** A worker SIGKILLed while encoding: the other finishes the clip, same bytes. */
  async kill(got) {
    const s = await setupQueue(media, 1, 2, { worker: { lockS: 3 } });
    got(s);
    const problems: string[] = [];
    const clip = names(s)[0]!;
    const sub = submit(s);
    const victim = await workerWhere(s, stepStarted("enc"));
    if (!victim) problems.push("no worker started the clip");
    victim?.kill("SIGKILL");
    expectExit(problems, "submitter", await sub.done(), 0);
    expectOnce(problems, s, [clip]);
    await expectOutputs(problems, s, [clip]);
    if (!problems.length) {
      const h = await hashFile(outPath(s, clip));
      killRef ??= h;
      if (h !== killRef) problems.push(`output differs from the first run's (${h})`);
    }
    return { s, problems };
  },
  /** Redis restarted mid-batch: everything reconnects, the batch completes. */
  async restart(got) {
    const s = await setupQueue(media, 4, 2, { worker: { lockS: 30 } });
    got(s);
    const problems: string[] = [];
    const sub = submit(s);
    await Promise.race(s.workers.map((w) => w.waitFor((l) => l.type === "job_end", 120_000)));
    await s.redis.restart(1000);
    expectExit(problems, "submitter", await sub.done(), 0);
    expectOnce(problems, s, names(s));
    await expectOutputs(problems, s, names(s));
    return { s, problems };
  },
  /** A bad clip fails after 2 attempts, the others finish, exit 4. */
  async bad(got) {
    const s = await setupQueue(media, 2, 2);
    got(s);
    const problems: string[] = [];
    await Deno.writeFile(join(s.dir, "clips", "broken.mp4"), new TextEncoder().encode("nope"));
    await Deno.copyFile(join(s.dir, "clips", "clip_00.wav"), join(s.dir, "clips", "broken.wav"));
    const sub = submit(s, ["--attempts", "2"]);
    expectExit(problems, "submitter", await sub.done(), 4);
    const sum = summaryOf(sub);
    if (sum?.ok !== 2 || sum?.failed !== 1) problems.push(`summary ${JSON.stringify(sum)}`);
    const tries =
      s.workers.flatMap((w) =>
        w.lines.filter((l) => l.type === "job_start" && l.clip === "broken.mp4")
      ).length;
    if (tries !== 2) problems.push(`broken.mp4 tried ${tries} times, expected 2`);
    expectOnce(problems, s, names(s));
    return { s, problems };
  },
};

const chosen = values.scenarios!.split(",");
for (const c of chosen) if (!scenarios[c]) throw new Error(`Unknown scenario "${c}"`);
const tally: Record<string, { runs: number; bad: number }> = {};
const runs = Number(values.runs);
for (let i = 1; i <= runs; i++) {
  for (const name of chosen) {
    const t0 = performance.now();
    let current: QueueSetup | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = Number(values["timeout-s"]) * 1000;
    const hung = new Promise<"hung">((res) => timer = setTimeout(() => res("hung"), timeoutMs));
    const ran = await Promise.race([scenarios[name]!((x) => current = x), hung]);
    clearTimeout(timer);
    let s: QueueSetup, problems: string[];
    if (ran === "hung") {
      if (!current) throw new Error(`${name} #${i}: no setup within ${timeoutMs / 1000} s`);
      s = current;
      problems = [`hung: not finished after ${timeoutMs / 1000} s`, await queueSnapshot(s)];
      for (const p of s.submitters) p.kill("SIGKILL");
    } else ({ s, problems } = ran);
    const dt = (performance.now() - t0) / 1000;
    const t = tally[name] ??= { runs: 0, bad: 0 };
    t.runs++;
    if (problems.length) {
      t.bad++;
      const file = join(logDir, `${name}_${i}_${Date.now()}.log`);
      await Deno.writeTextFile(file, [...problems, "", dumpLogs(s)].join("\n"));
      console.log(`${name} #${i}: ${dt.toFixed(1)} s  WRONG: ${problems.join("; ")} (${file})`);
    } else console.log(`${name} #${i}: ${dt.toFixed(1)} s  ok`);
    await teardownQueue(s);
  }
}
console.log(
  "tally: " +
    Object.entries(tally).map(([k, t]) => `${k} ${t.runs - t.bad}/${t.runs} ok`).join(", "),
);
Deno.exit(Object.values(tally).some((t) => t.bad) ? 1 : 0);
