/**
 * The content hash of a step type's implementation, part of its cache key: the
 * file that defines the step (`StageDef.module`) and every local file it imports,
 * transitively, so that a changed stage, or a changed helper it uses (the mouth map
 * under `head.render`), re-runs the step without anyone bumping its `version`.
 *
 * What counts: relative imports (`./`, `../`) found in the files' text — static
 * `import … from`, `export … from`, side-effect `import "…"` and `import("…")` with
 * a literal — resolved against the importing file, and `.wgsl` files a module names
 * by a string literal (the shaders read beside the code). Type-only statements
 * (`import type …`, `export type … from`) are left out: they cannot change what a
 * step computes. Bare and `npm:`/`node:`/`jsr:`/`https:` specifiers are left out
 * (their versions are pinned in deno.json). A relative specifier that names no file
 * (a comment, a string in an example) is skipped.
 *
 * The hash is sha256 over the sorted (path relative to the stage file's folder,
 * sha256 of content) pairs: the same code gives the same key in any checkout or on
 * any machine. It is computed once per process and step type ({@link stageCodeHash}),
 * so a long-lived process keeps the hash of the code it loaded.
 *
 * When the module is not a readable `file:` URL (run from a remote URL, or a bundle
 * or compiled binary whose sources are not on disk), there is no code hash and the
 * manual `version` alone stands for the code, as before.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { hashJson } from "./cache.ts";

/** A step type's code: the files it is made of and their combined hash. */
export interface CodeHash {
  /** sha256 over the sorted `[path, sha256]` pairs of {@link files}. */
  hash: string;
  /** Paths relative to the stage file's folder (POSIX separators), sorted. */
  files: string[];
}

/** Parses as a module (its imports are followed); anything else is hashed only. */
const MODULE_EXT = /\.(ts|tsx|mts|js|jsx|mjs)$/;

/**
 * Relative specifiers a module's text imports at run time, and the `.wgsl` files it
 * names. Regular expressions over the text, not a parser: a match inside a comment
 * or string adds a file at most (over-invalidation, never a stale hit).
 */
export function localImports(text: string): { modules: string[]; assets: string[] } {
  const modules = new Set<string>();
  // `import x from "…"`, `import {\n a,\n b } from "…"`, `export * from "…"` at the start of
  // a line (`[^;'"`]` keeps to one statement; group 1 is `type` of a type-only one), a
  // side-effect `import "…"`, and `import("…")` anywhere.
  const from = /^[ \t]*(?:import|export)\s+(type\s+)?[^;'"`]*?\sfrom\s*["']([^"'\n]+)["']/gm;
  for (const m of text.matchAll(from)) if (!m[1]) modules.add(m[2]!);
  for (const m of text.matchAll(/^[ \t]*import\s*["']([^"'\n]+)["']/gm)) modules.add(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"'\n]+)["']\s*\)/g)) modules.add(m[1]!);
  const assets = new Set<string>();
  const wgsl = /["'`]((?:\.{1,2}\/)*[\w-][\w./-]*\.wgsl)["'`]/g;
  for (const m of text.matchAll(wgsl)) assets.add(m[1]!);
  const local = (s: string) => s.startsWith("./") || s.startsWith("../");
  return {
    modules: [...modules].filter(local),
    assets: [...assets].map((a) => (local(a) ? a : `./${a}`)),
  };
}

/** Reads a file's text; rejects like `Deno.readTextFile`. */
export type ReadText = (url: URL) => Promise<string>;

/**
 * Walk the local import graph from `root` and hash it (no memo: every call reads
 * the files). Null when `root` is not a `file:` URL or cannot be read; a file
 * that another names but that does not exist is skipped; any other read error
 * (permissions) gives null too, so the caller falls back to the version alone.
 */
export async function hashModuleTree(
  root: string | URL,
  read: ReadText = (u) => Deno.readTextFile(u),
): Promise<CodeHash | null> {
  let rootUrl: URL;
  try {
    rootUrl = new URL(root);
  } catch {
    return null;
  }
  if (rootUrl.protocol !== "file:") return null;
  const base = dirname(fileURLToPath(rootUrl));
  const seen = new Map<string, string>(); // href → sha256 of content
  const queue: { url: URL; parse: boolean }[] = [{ url: rootUrl, parse: true }];
  while (queue.length) {
    const { url, parse } = queue.pop()!;
    url.search = url.hash = "";
    if (seen.has(url.href)) continue;
    let text: string;
    try {
      text = await read(url);
    } catch (e) {
      if (url.href !== rootUrl.href && e instanceof Deno.errors.NotFound) continue;
      return null;
    }
    seen.set(url.href, createHash("sha256").update(text).digest("hex"));
    if (!parse) continue;
    const { modules, assets } = localImports(text);
    for (const s of modules) queue.push({ url: new URL(s, url), parse: MODULE_EXT.test(s) });
    for (const s of assets) queue.push({ url: new URL(s, url), parse: false });
  }
  const pairs = [...seen].map(([href, sha]) =>
    [relative(base, fileURLToPath(href)).replaceAll("\\", "/"), sha] as const
  ).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { hash: hashJson(pairs), files: pairs.map((p) => p[0]) };
}

const memo = new Map<string, Promise<CodeHash | null>>();

/**
 * {@link hashModuleTree} of a step type's module, once per process and module URL
 * (later calls return the first result, even if the files changed since).
 */
export function stageCodeHash(module: string): Promise<CodeHash | null> {
  let p = memo.get(module);
  if (!p) memo.set(module, p = hashModuleTree(module));
  return p;
}
