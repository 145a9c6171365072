/**
 * Shared helpers for the cross-room tests in `tests/`: run the `dub` CLI as a user
 * would, build test workflows from the committed ones in `fixtures/workflows/`, and
 * temporary folders that are removed afterwards.
 *
 * @module
 */
import { join } from "node:path";
import { parseDocument } from "yaml";
import { COMMITTED_DIR, REPO_ROOT } from "../fixtures/mod.ts";

/** The CLI entry point. */
export const DUB_MAIN: string = join(REPO_ROOT, "src", "cli", "main.ts");

export interface DubRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd?: string;
  /** Extra environment (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
  /** Replace PATH (e.g. to hide native ffmpeg). */
  path?: string;
}

/** A `dub …` command ready to spawn (stdout/stderr piped). */
export function spawnDub(args: string[], opts: SpawnOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DUB_MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { NO_COLOR: "1", ...(opts.path ? { PATH: opts.path } : {}), ...opts.env },
  });
}

/** Run `dub …` to completion. */
export async function dub(args: string[], opts: SpawnOptions = {}): Promise<DubRun> {
  const o = await spawnDub(args, opts).output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

/** Parse `--json` NDJSON output into events. */
export function events(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** A test that runs media subprocesses/workers (resource sanitizers off). */
export function mediaTest(
  name: string,
  fn: () => Promise<void>,
  opts: { ignore?: boolean } = {},
): void {
  Deno.test({ name, ...opts, sanitizeOps: false, sanitizeResources: false, fn });
}

/** Run `fn` with a fresh temporary folder, removed afterwards (also on failure). */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "dub-test-" });
  try {
    return await fn(dir);
  } finally {
    // Tests may leave read-only folders behind (permission cases): make them removable.
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", dir] }).output().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Path of a small committed fixture (`tiny.ply`, `cameras.json`, `workflows/…`). */
export function committed(name: string): string {
  return join(COMMITTED_DIR, name);
}

export interface DubWorkflowOptions {
  /** Default of the `footage` input. */
  footage: string;
  /** Default of the `dialogue` input; `null` leaves it without a default (batch pairing). */
  dialogue: string | null;
  /** Output path template (default `out/{stem}_dubbed.mp4`, relative to the workflow). */
  out?: string;
  /** x264 preset of the encode step (default ultrafast). */
  preset?: string;
  /** Extra top-level YAML appended as is (e.g. a `batch:` block). */
  extra?: string;
}

/**
 * The text of `fixtures/workflows/dub_short.yaml` (probe → audio.replace →
 * video.encode) with its defaults set to real files.
 */
export function dubWorkflow(o: DubWorkflowOptions): string {
  const doc = parseDocument(
    Deno.readTextFileSync(committed("workflows/dub_short.yaml")),
  );
  doc.setIn(["inputs", "footage", "default"], o.footage);
  if (o.dialogue === null) doc.deleteIn(["inputs", "dialogue", "default"]);
  else doc.setIn(["inputs", "dialogue", "default"], o.dialogue);
  if (o.out !== undefined) doc.setIn(["outputs", "dubbed", "path"], o.out);
  if (o.preset !== undefined) doc.setIn(["steps", 2, "with", "preset"], o.preset);
  return doc.toString({ lineWidth: 0 }) + (o.extra ?? "");
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string): { line: number; col: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new RangeError(`"${needle}" is not in the text`);
  const before = text.slice(0, i).split("\n");
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Names in a folder, sorted ([] when it does not exist). */
export function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Whether `unshare` can give us a private mount namespace (tmpfs mounts without root). */
export const CAN_UNSHARE: boolean = (() => {
  try {
    return new Deno.Command("unshare", {
      args: ["--user", "--map-root-user", "--mount", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();
export const UNSHARE_SKIP =
  "needs util-linux `unshare` with unprivileged user namespaces (Debian package util-linux)";

/**
 * Run `dub …` with a fault in the file system:
 * - `enospc`: `dir` is a fresh tmpfs of `sizeKiB` KiB (disk full when more is written);
 * - `erofs`: `dir` is a fresh read-only tmpfs;
 * - `eacces`: `dir` exists but the process may not write in it (mode 0555; as root the
 *   process runs in a user namespace without privileges, so the mode applies).
 * The mounts live in a private mount namespace and vanish with the process; `left`
 * lists the names in `dir` after the run (hidden temp files included).
 */
export async function dubWithFault(
  fault: "enospc" | "erofs" | "eacces",
  dir: string,
  args: string[],
  opts: { sizeKiB?: number } = {},
): Promise<DubRun & { left: string[] }> {
  const deno = [Deno.execPath(), "run", "-A", DUB_MAIN, ...args];
  let cmd: string[];
  if (fault === "eacces") {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.chmod(dir, 0o555);
    cmd = Deno.uid() === 0 ? ["unshare", "--user", ...deno] : deno;
  } else {
    await Deno.mkdir(dir, { recursive: true });
    const mountOpts = fault === "erofs" ? "ro" : `size=${opts.sizeKiB ?? 32}k`;
    cmd = [
      "unshare",
      "--user",
      "--map-root-user",
      "--mount",
      "sh",
      "-c",
      // The tmpfs vanishes with the namespace: list what is left in it from inside.
      `mount -t tmpfs -o ${mountOpts} tmpfs "$0" || exit 99; "$@"; rc=$?; ` +
      `echo "@@left:$(ls -A "$0" | tr '\\n' '/')"; exit $rc`,
      dir,
      ...deno,
    ];
  }
  const o = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  let stdout = dec.decode(o.stdout);
  let left: string[];
  const m = /@@left:(.*)\n?$/.exec(stdout);
  if (m) {
    left = m[1]!.split("/").filter((x) => x).sort();
    stdout = stdout.slice(0, m.index);
  } else left = listDir(dir);
  return { code: o.code, stdout, stderr: dec.decode(o.stderr), left };
}
