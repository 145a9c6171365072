/**
 * Clip jobs: what one clip's run needs (its input values, the stem for output
 * paths), for a single run or a batch. Batch expansion: a folder or glob of clips
 * → one clip job each, pairing every other file input by a naming rule. The
 * default rule pairs `clips/scene01.mp4` with `clips/scene01.wav` (or
 * .mp3/.m4a/.flac/.ogg/.opus/.aac); `batch.pair` gives a template per input using
 * `{dir}`, `{stem}` and `{a,b}` alternatives, e.g.
 * `{dir}/../dubbed_audio/{stem}_es.wav`. When no file matches, an input with a
 * default value keeps it (unless it has an explicit `pair` rule); otherwise the
 * clip fails with a message naming what was looked for.
 *
 * @module
 */
import { basename, dirname, extname, join, parse, resolve, sep } from "node:path";
import { DubError } from "../errors.ts";
import type { LoadedWorkflow } from "./load.ts";

/** One clip job: the workflow plus the values of its inputs. */
export interface ClipJob {
  name: string;
  inputs: Record<string, unknown>;
  /** Template values for output paths. */
  stem: string;
  /** Set when the job cannot run (e.g. a batch clip without its audio). */
  error?: string;
  /** Kind of `error` (default "input"). */
  errorKind?: "input" | "workflow";
}

/** Resolve the workflow's input values (file inputs to absolute paths). */
export function resolveInputs(
  wf: LoadedWorkflow,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(wf.file.inputs)) {
    const isObj = typeof decl === "object";
    let v: unknown = name in overrides ? overrides[name] : isObj ? decl.default : decl;
    const type = isObj
      ? decl.type
      : typeof decl === "number"
      ? "number"
      : typeof decl === "boolean"
      ? "boolean"
      : "string";
    if (v === undefined) {
      out[name] = undefined;
      continue;
    }
    if (type === "file") {
      if (String(v).trim() === "") {
        throw new DubError("usage", `Input "${name}" is an empty path`, {
          hint: `pass a file: --set ${name}=PATH (or give it a default in the workflow)`,
        });
      }
      v = resolve(name in overrides ? Deno.cwd() : wf.dir, String(v));
    } else if (type === "number") {
      const n = Number(v);
      if (!Number.isFinite(n)) {
        throw new DubError("workflow", `Input "${name}" must be a number, got "${v}"`);
      }
      v = n;
    } else if (type === "boolean") v = v === true || v === "true";
    out[name] = v;
  }
  for (const [name, val] of Object.entries(wf.cwdInputs ?? {})) {
    const decl = wf.file.inputs[name];
    if (typeof decl === "object" && decl.type === "file" && !(name in overrides)) {
      if (String(val).trim() === "") {
        throw new DubError("usage", `--set ${name}= is an empty path`, {
          hint: `pass a file: --set ${name}=PATH`,
        });
      }
      out[name] = resolve(Deno.cwd(), String(val));
    }
  }
  return out;
}

/** The clip jobs of a run: one for a plain run, one per clip for a batch. */
export async function clipJobs(wf: LoadedWorkflow, batchOverride?: string): Promise<ClipJob[]> {
  const base = resolveInputs(wf);
  const batch = wf.file.batch;
  const pattern = batchOverride
    ? resolve(Deno.cwd(), batchOverride)
    : batch
    ? resolve(wf.dir, batch.clips)
    : null;
  if (!pattern) {
    const stem = typeof base[firstFileInput(wf) ?? ""] === "string"
      ? basename(String(base[firstFileInput(wf)!]), extname(String(base[firstFileInput(wf)!])))
      : wf.file.name ?? "run";
    return [{ name: wf.file.name ?? basename(wf.path, extname(wf.path)), inputs: base, stem }];
  }
  const input = batch?.input ?? firstFileInput(wf);
  if (!input) {
    throw new DubError("workflow", `Cannot batch "${wf.path}": it has no file input`, {
      hint: "declare an input with `type: file`",
    });
  }
  return await expandBatch(wf, pattern, input, batch?.pair ?? {}, base);
}

function firstFileInput(wf: LoadedWorkflow): string | undefined {
  return Object.entries(wf.file.inputs).find(([, d]) => typeof d === "object" && d.type === "file")
    ?.[0];
}

/** Destination of a workflow output for one clip job. */
export function outputPath(wf: LoadedWorkflow, template: string, job: ClipJob): string {
  const clip = job.name.replace(/[/\\]/g, "_");
  return resolve(wf.dir, template.replaceAll("{stem}", job.stem).replaceAll("{clip}", clip));
}

/** In a batch, two clips writing the same output path (a.mp4 and a.mov → {stem}) is an error for the later ones. */
export function markDuplicateOutputs(wf: LoadedWorkflow, jobs: ClipJob[]): void {
  const seen = new Map<string, string>();
  for (const job of jobs) {
    for (const o of Object.values(wf.file.outputs)) {
      const dest = outputPath(wf, o.path, job);
      const first = seen.get(dest);
      if (first !== undefined && first !== job.name) {
        job.error ??=
          `Clips "${first}" and "${job.name}" would both write "${dest}"; rename one of them or put {clip} in the output path`;
      } else seen.set(dest, job.name);
    }
  }
}

export const VIDEO_EXTENSIONS = [
  ".mp4",
  ".mov",
  ".mkv",
  ".avi",
  ".webm",
  ".m4v",
  ".mxf",
  ".mts",
  ".m2ts",
];
export const DEFAULT_PAIR = "{dir}/{stem}.{wav,mp3,m4a,flac,ogg,opus,aac}";

/** Translate a basename glob (`*`, `?`, `{a,b}`) to a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  let inBrace = false;
  for (const ch of glob) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "{") [re, inBrace] = [re + "(?:", true];
    else if (ch === "}" && inBrace) [re, inBrace] = [re + ")", false];
    else if (ch === "," && inBrace) re += "|";
    else re += ch.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) out.push(e.name);
  } catch {
    return [];
  }
  return out.sort();
}

async function listSubdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) out.push(e.name);
      else if (e.isSymlink && (await Deno.stat(join(dir, e.name)).catch(() => null))?.isDirectory) {
        out.push(e.name);
      }
    }
  } catch {
    return [];
  }
  return out.sort();
}

const GLOB_CHARS = /[*?{]/;

/** Files under `dir` matching the path components `parts` (globs in any of them). */
async function walkGlob(dir: string, parts: string[]): Promise<string[]> {
  const [head, ...rest] = parts;
  if (head === undefined) return [];
  if (rest.length === 0) {
    const re = globToRegExp(head);
    return (await listDir(dir)).filter((n) => re.test(n)).map((n) => join(dir, n));
  }
  if (!GLOB_CHARS.test(head)) return await walkGlob(join(dir, head), rest);
  const re = globToRegExp(head);
  const out: string[] = [];
  for (const d of await listSubdirs(dir)) {
    if (re.test(d)) out.push(...await walkGlob(join(dir, d), rest));
  }
  return out;
}

/**
 * Files matching `pattern`: a folder = its video files; otherwise a glob whose
 * components may each hold `*`, `?` and `{a,b}` (`scenes/{a,b}/*.{mp4,mov}`; no `**`).
 */
export async function matchFiles(pattern: string): Promise<string[]> {
  try {
    if ((await Deno.stat(pattern)).isDirectory) {
      return (await listDir(pattern)).filter((n) =>
        VIDEO_EXTENSIONS.includes(extname(n).toLowerCase())
      )
        .map((n) => join(pattern, n));
    }
  } catch { /* not a plain path */ }
  if (!GLOB_CHARS.test(dirname(pattern))) {
    const dir = dirname(pattern);
    const re = globToRegExp(basename(pattern));
    return (await listDir(dir)).filter((n) => re.test(n)).map((n) => join(dir, n));
  }
  const abs = resolve(pattern);
  const parts = abs.split(sep).filter((p) => p !== "");
  const first = parts.findIndex((p) => GLOB_CHARS.test(p));
  const root = parse(abs).root + parts.slice(0, first).join(sep);
  return await walkGlob(root, parts.slice(first));
}

/** Expand a batch into clip jobs. A clip whose pair is missing becomes a job that fails with a clear error. */
export async function expandBatch(
  wf: LoadedWorkflow,
  pattern: string,
  input: string,
  pair: Record<string, string>,
  base: Record<string, unknown>,
): Promise<ClipJob[]> {
  const clips = await matchFiles(pattern);
  if (clips.length === 0) {
    throw new DubError("input", `No clips match "${pattern}"`, {
      hint: "pass a folder of videos or a glob such as clips/*.mp4",
    });
  }
  const fileInputs = Object.entries(wf.file.inputs)
    .filter(([k, d]) => k !== input && typeof d === "object" && d.type === "file")
    .map(([k]) => k);
  const jobs: ClipJob[] = [];
  for (const clip of clips) {
    const stem = basename(clip, extname(clip));
    const inputs: Record<string, unknown> = { ...base, [input]: resolve(clip) };
    const missing: string[] = [];
    for (const k of fileInputs) {
      const template = pair[k] ?? DEFAULT_PAIR;
      const want = template.replaceAll("{dir}", dirname(clip)).replaceAll("{stem}", stem);
      const found = (await matchFiles(resolve(want))).filter((f) => resolve(f) !== resolve(clip));
      if (found.length > 0) inputs[k] = resolve(found[0]!);
      // No per-clip file: an explicit pair rule is required, a default value is the fallback.
      else if (pair[k] !== undefined || base[k] === undefined) {
        missing.push(`"${k}" (looked for ${want})`);
      }
    }
    jobs.push({
      name: basename(clip),
      inputs,
      stem,
      ...(missing.length
        ? { error: `No file found for input ${missing.join(", ")} of clip "${clip}"` }
        : {}),
    });
  }
  return jobs;
}
