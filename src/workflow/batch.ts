/**
 * Batch expansion: a folder or glob of clips → one clip job each, pairing every
 * other file input by a naming rule. The default rule pairs `clips/scene01.mp4`
 * with `clips/scene01.wav` (or .mp3/.m4a/.flac/.ogg/.opus/.aac); `batch.pair`
 * gives a template per input using `{dir}`, `{stem}` and `{a,b}` alternatives,
 * e.g. `{dir}/../dubbed_audio/{stem}_es.wav`. When no file matches, an input with
 * a default value keeps it (unless it has an explicit `pair` rule); otherwise the
 * clip fails with a message naming what was looked for.
 *
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { DubError } from "../errors.ts";
import type { LoadedWorkflow } from "./load.ts";
import type { ClipJob } from "./run.ts";

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

/** Files matching `pattern` (a folder = its video files; globs in the last component only). */
export async function matchFiles(pattern: string): Promise<string[]> {
  try {
    if ((await Deno.stat(pattern)).isDirectory) {
      return (await listDir(pattern)).filter((n) =>
        VIDEO_EXTENSIONS.includes(extname(n).toLowerCase())
      )
        .map((n) => join(pattern, n));
    }
  } catch { /* not a plain path */ }
  const dir = dirname(pattern);
  const re = globToRegExp(basename(pattern));
  return (await listDir(dir)).filter((n) => re.test(n)).map((n) => join(dir, n));
}

/** Expand a batch into clip jobs. A clip whose pair is missing becomes a job that fails with a clear error. */
export async function expandBatch(
  wf: LoadedWorkflow,
  pattern: string,
  input: string,
  pair: Record<string, string>,
  base: Record<string, unknown>,
): Promise<(ClipJob & { error?: string })[]> {
  const clips = await matchFiles(pattern);
  if (clips.length === 0) {
    throw new DubError("input", `No clips match "${pattern}"`, {
      hint: "pass a folder of videos or a glob such as clips/*.mp4",
    });
  }
  const fileInputs = Object.entries(wf.file.inputs)
    .filter(([k, d]) => k !== input && typeof d === "object" && d.type === "file")
    .map(([k]) => k);
  const jobs: (ClipJob & { error?: string })[] = [];
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
