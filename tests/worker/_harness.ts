/**
 * Test harness for the queue: a real `redis-server` on a free 127.0.0.1 port
 * (append-only file, so a restart keeps the queue), `dub worker` subprocesses
 * with their NDJSON logs, and tiny generated clips. Tests call
 * {@link redisMissing} and skip with its message where Debian `redis-server` is
 * not installed.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav, type MediaBackend } from "../../src/media/mod.ts";
import { forEachLine } from "../../src/worker/child.ts";

export const REPO: string = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const MAIN = join(REPO, "src", "cli", "main.ts");

/** Why queue tests cannot run here, or null when they can. */
export async function redisMissing(): Promise<string | null> {
  try {
    const o = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .output();
    return o.success ? null : "redis-server does not run";
  } catch {
    return "Debian package redis-server is not installed (apt-get install redis-server)";
  }
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function ping(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      // "-NOAUTH" also means it is up (a password is set).
      const reply = n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
      return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

/** A redis-server of our own; `restart()` stops it (persisting) and starts it again. */
export class RedisServer {
  #proc: Deno.ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly password?: string,
  ) {}

  get url(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : "";
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  static async start(opts: { password?: string } = {}): Promise<RedisServer> {
    const s = new RedisServer(
      freePort(),
      await Deno.makeTempDir({ prefix: "dub-redis-" }),
      opts.password,
    );
    await s.#spawn();
    return s;
  }

  async #spawn(): Promise<void> {
    this.#proc = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        ...(this.password ? ["--requirepass", this.password] : []),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100; i++) {
      if (await ping(this.port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stop (SIGTERM: redis flushes its append-only file) and wait for the process. */
  async stop(): Promise<void> {
    if (!this.#proc) return;
    try {
      this.#proc.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#proc.status;
    this.#proc = null;
  }

  async restart(downMs = 1000): Promise<void> {
    await this.stop();
    await sleep(downMs);
    await this.#spawn();
  }

  async dispose(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One parsed NDJSON line of a subprocess. */
export type LogLine = Record<string, unknown> & { type: string };

/** A `dub …` subprocess whose stdout NDJSON lines are collected. */
export class DubProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly #proc: Deno.ChildProcess;
  readonly status: Promise<Deno.CommandStatus>;
  readonly #reading: Promise<void>;

  constructor(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    }).spawn();
    const read = forEachLine;
    this.#reading = Promise.all([
      read(this.#proc.stdout, (l) => {
        try {
          this.lines.push(JSON.parse(l));
        } catch {
          this.lines.push({ type: "text", text: l });
        }
      }),
      read(this.#proc.stderr, (l) => this.stderr.push(l)),
    ]).then(() => {});
    this.status = this.#proc.status;
  }

  get pid(): number {
    return this.#proc.pid;
  }

  kill(sig: Deno.Signal = "SIGTERM"): void {
    try {
      this.#proc.kill(sig);
    } catch { /* already gone */ }
  }

  /** Wait until a line matches (or throw after `timeoutMs`, with the process's stderr). */
  async waitFor(pred: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`Timed out waiting; stderr:\n${this.stderr.slice(-20).join("\n")}`);
      }
      await sleep(25);
    }
  }

  /** Exit code after the process ends (stdout fully read). */
  async done(): Promise<number> {
    const s = await this.status;
    await this.#reading;
    return s.code;
  }
}

/** Start `dub worker` with NDJSON logs and per-step events. */
export function startWorker(
  url: string,
  opts: {
    cacheDir: string;
    roots: string[];
    concurrency?: number;
    lockS?: number;
    graceS?: number;
  },
): DubProcess {
  return new DubProcess([
    "worker",
    "--queue",
    url,
    "--json",
    "--verbose",
    "--cache-dir",
    opts.cacheDir,
    ...opts.roots.flatMap((r) => ["--root", r]),
    "--concurrency",
    String(opts.concurrency ?? 1),
    "--lock-s",
    // Long enough that a worker starved of CPU on a loaded machine still renews its lock
    // (a lapsed lock makes BullMQ hand a live job to a second worker); tests of dead
    // workers pass a short one.
    String(opts.lockS ?? 15),
    "--grace-s",
    String(opts.graceS ?? 10),
  ]);
}

/**
 * `n` tiny distinct clips in `dir`: `clip_XX.mp4` (64×48, `frames` frames at
 * 25 fps, a flat colour per clip) with a matching `clip_XX.wav` (a tone).
 */
export async function makeClips(
  media: MediaBackend,
  dir: string,
  n: number,
  frames = 10,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const out: string[] = [];
  const [w, h] = [64, 48];
  for (let i = 0; i < n; i++) {
    const name = `clip_${String(i).padStart(2, "0")}`;
    const path = join(dir, `${name}.mp4`);
    const wr = await media.encodeVideo(path, {
      width: w,
      height: h,
      fps: 25,
      crf: 30,
      preset: "ultrafast",
    });
    const frame = new Uint8Array(w * h * 3); // [H*W*3] RGB
    for (let f = 0; f < frames; f++) {
      for (let p = 0; p < w * h; p++) {
        frame[p * 3] = (i * 40) % 256;
        frame[p * 3 + 1] = (f * 20) % 256;
        frame[p * 3 + 2] = ((p % w) * 4) % 256;
      }
      await wr.write(frame);
    }
    await wr.close();
    const rate = 16000;
    const samples = new Float32Array(Math.round(rate * frames / 25)); // [S] mono
    for (let s = 0; s < samples.length; s++) {
      samples[s] = 0.3 * Math.sin(2 * Math.PI * (300 + 50 * i) * s / rate);
    }
    await Deno.writeFile(join(dir, `${name}.wav`), encodeWav(samples, rate));
    out.push(path);
  }
  return out;
}

/** The queue test workflow: put the dialogue in, re-encode; one output per clip. */
export function queueWorkflow(): string {
  return `version: 1
inputs:
  footage: { type: file }
  dialogue: { type: file }
batch:
  clips: clips/
steps:
  - id: rep
    uses: audio.replace
    with: { video: "\${{ inputs.footage }}", audio: "\${{ inputs.dialogue }}", length_policy: pad }
  - id: enc
    uses: video.encode
    with: { video: "\${{ steps.rep.outputs.video }}", crf: 30, preset: ultrafast }
outputs:
  dubbed: { from: "\${{ steps.enc.outputs.video }}", path: "out/{stem}_dubbed.mp4" }
`;
}

/** A queue scenario: a temp folder with clips and the workflow, a redis-server, workers. */
export interface QueueSetup {
  dir: string;
  cache: string;
  wf: string;
  clips: string[];
  redis: RedisServer;
  workers: DubProcess[];
  /** Every submitter started with {@link submit} (for {@link dumpLogs}). */
  submitters: DubProcess[];
}

export type WorkerOpts = Partial<Parameters<typeof startWorker>[1]>;

/** `nClips` tiny clips, a fresh redis-server and `nWorkers` ready workers. */
export async function setupQueue(
  media: MediaBackend,
  nClips: number,
  nWorkers: number,
  opts: { password?: string; worker?: WorkerOpts; frames?: number } = {},
): Promise<QueueSetup> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dub-queue-" }));
  const clips = await makeClips(media, join(dir, "clips"), nClips, opts.frames ?? 10);
  const wf = join(dir, "wf.yaml");
  await Deno.writeTextFile(wf, queueWorkflow());
  const redis = await RedisServer.start(opts.password ? { password: opts.password } : {});
  const cache = join(dir, "cache");
  const s: QueueSetup = { dir, cache, wf, clips, redis, workers: [], submitters: [] };
  for (let i = 0; i < nWorkers; i++) addWorker(s, opts.worker);
  for (const w of s.workers) await w.waitFor((l) => l.type === "worker_ready");
  return s;
}

export function addWorker(s: QueueSetup, opts: WorkerOpts = {}): DubProcess {
  const w = startWorker(s.redis.url, { cacheDir: s.cache, roots: [s.dir], ...opts });
  s.workers.push(w);
  return w;
}

export async function teardownQueue(s: QueueSetup, opts: { keep?: boolean } = {}): Promise<void> {
  for (const w of s.workers) w.kill("SIGTERM");
  for (const w of s.workers) await w.done();
  await s.redis.dispose();
  if (!opts.keep) await Deno.remove(s.dir, { recursive: true }).catch(() => {});
}

/** `dub run` of the setup's workflow against its queue, NDJSON on stdout. */
export function submit(s: QueueSetup, extra: string[] = []): DubProcess {
  const p = new DubProcess(["run", s.wf, "--queue", s.redis.url, "--json", ...extra]);
  s.submitters.push(p);
  return p;
}

/** Completed jobs per clip name across workers (`job_end` ok lines). */
export function completions(workers: DubProcess[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const w of workers) {
    for (const l of w.lines) {
      if (l.type === "job_end" && l.status === "ok") {
        m[String(l.clip)] = (m[String(l.clip)] ?? 0) + 1;
      }
    }
  }
  return m;
}

/** Every line of every process of a scenario (submitters' full NDJSON, workers', stderr). */
export function dumpLogs(s: QueueSetup): string {
  const part = (name: string, p: DubProcess) =>
    [
      `== ${name} (pid ${p.pid})`,
      ...p.lines.map((l) => JSON.stringify(l)),
      ...p.stderr.map((l) => `stderr: ${l}`),
    ].join("\n");
  return [
    ...s.submitters.map((p, i) => part(`submitter ${i}`, p)),
    ...s.workers.map((p, i) => part(`worker ${i}`, p)),
  ].join("\n");
}

/** The clips' file names (`clip_00.mp4`, …). */
export const clipNames = (s: QueueSetup): string[] => s.clips.map((c) => c.split("/").pop()!);

/** The submitter's `summary` line. */
export const summaryOf = (p: DubProcess): LogLine =>
  p.lines.find((l) => l.type === "summary") as LogLine;

/** Where the queue workflow writes a clip's output. */
export const outPath = (s: QueueSetup, clip: string): string =>
  join(s.dir, "out", `${clip.replace(/\.mp4$/, "")}_dubbed.mp4`);

/** A worker's line: its run of a job started step `step`. */
export const stepStarted = (step: string) => (l: LogLine): boolean =>
  l.type === "worker_event" && (l.event as LogLine).type === "step_start" &&
  (l.event as LogLine).step === step;

/**
 * The first of the setup's workers to log a line matching `pred` (polled every
 * `pollMs`), or undefined after `timeoutMs`.
 */
export async function workerWhere(
  s: QueueSetup,
  pred: (l: LogLine) => boolean,
  timeoutMs = 120_000,
  pollMs = 10,
): Promise<DubProcess | undefined> {
  const t0 = Date.now();
  for (;;) {
    const w = s.workers.find((w) => w.lines.some(pred));
    if (w || Date.now() - t0 >= timeoutMs) return w;
    await sleep(pollMs);
  }
}
