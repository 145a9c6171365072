/**
 * Content-addressed step cache behind a small store interface (a local folder
 * now; a shared or object store later). An entry is a folder of output files plus
 * `manifest.json` recording each file's size and sha256. Entries are built in a
 * staging folder and renamed into place, so a half-written entry never looks
 * finished; a manifest that fails validation is a miss, never a crash.
 *
 * Layout: `<dir>/steps/<key[0..2]>/<key>/`, staging `<dir>/staging/<key>.<rand>/`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { pidAlive } from "../atomic.ts";
import type { JsonValue } from "./stage.ts";

export const MANIFEST_VERSION = 1;

const JsonSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonSchema),
    z.record(z.string(), JsonSchema),
  ])
);

/** The machine's record of one cache entry (versioned, validated on read). */
export const ManifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  stepType: z.string(),
  stepVersion: z.number(),
  createdAt: z.string(),
  durationS: z.number(),
  files: z.record(z.string(), z.object({ name: z.string(), size: z.number(), sha256: z.string() })),
  values: z.record(z.string(), JsonSchema),
  warnings: z.array(z.string()).default([]),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export interface CacheEntry {
  manifest: Manifest;
  /** Output name → absolute path of the cached file. */
  paths: Record<string, string>;
}

export interface Staging {
  key: string;
  dir: string;
}

/** Where step results are stored. */
export interface CacheStore {
  /** A valid entry for `key`, or null (missing, partial or corrupt = miss). */
  get(key: string, opts?: { verify?: boolean }): Promise<CacheEntry | null>;
  /** Start building an entry: an empty staging folder. */
  begin(key: string): Promise<Staging>;
  /**
   * Finish: hash the staged files, write the manifest, publish atomically. An
   * existing valid entry for the key is kept (and returned) unless `replace`.
   */
  commit(
    staging: Staging,
    info: Omit<Manifest, "files" | "key" | "manifestVersion" | "createdAt">,
    files: Record<string, string>,
    opts?: { replace?: boolean },
  ): Promise<CacheEntry>;
  /** Remove staging folders of killed runs; returns how many. */
  sweepStaging(): Promise<number>;
  /** Throw away a staging folder. */
  discard(staging: Staging): Promise<void>;
  /** Remove an entry (e.g. for --force). */
  remove(key: string): Promise<void>;
  readonly root: string;
}

/** sha256 of a file's content, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  await new Promise<void>((res, rej) => {
    const s = createReadStream(path);
    s.on("data", (c) => h.update(c));
    s.on("end", () => res());
    s.on("error", rej);
  });
  return h.digest("hex");
}

/** sha256 of a canonical JSON encoding (sorted object keys). */
export function hashJson(v: unknown): string {
  return createHash("sha256").update(canonicalJson(v)).digest("hex");
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${
      Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v ?? null);
}

export class LocalCacheStore implements CacheStore {
  constructor(readonly root: string) {}

  #entryDir(key: string): string {
    return join(this.root, "steps", key.slice(0, 2), key);
  }

  async get(key: string, opts: { verify?: boolean } = {}): Promise<CacheEntry | null> {
    const dir = this.#entryDir(key);
    let manifest: Manifest;
    try {
      const parsed = ManifestSchema.safeParse(
        JSON.parse(await Deno.readTextFile(join(dir, "manifest.json"))),
      );
      if (!parsed.success || parsed.data.key !== key) return null;
      manifest = parsed.data;
    } catch {
      return null;
    }
    const paths: Record<string, string> = {};
    for (const [name, f] of Object.entries(manifest.files)) {
      const p = join(dir, f.name);
      try {
        const st = await Deno.stat(p);
        if (!st.isFile || st.size !== f.size) return null;
        if (opts.verify !== false && (await hashFile(p)) !== f.sha256) return null;
      } catch {
        return null;
      }
      paths[name] = p;
    }
    return { manifest, paths };
  }

  async begin(key: string): Promise<Staging> {
    const dir = join(this.root, "staging", `${key}.${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, ".incomplete"),
      `${new Date().toISOString()} pid ${Deno.pid}\n`,
    );
    return { key, dir };
  }

  async commit(
    staging: Staging,
    info: Omit<Manifest, "files" | "key" | "manifestVersion" | "createdAt">,
    files: Record<string, string>,
    opts: { replace?: boolean } = {},
  ): Promise<CacheEntry> {
    const out: Manifest["files"] = {};
    for (const [name, fileName] of Object.entries(files)) {
      const p = join(staging.dir, fileName);
      const st = await Deno.stat(p);
      out[name] = { name: fileName, size: st.size, sha256: await hashFile(p) };
    }
    const manifest: Manifest = {
      manifestVersion: MANIFEST_VERSION,
      key: staging.key,
      createdAt: new Date().toISOString(),
      ...info,
      files: out,
    };
    await Deno.writeTextFile(join(staging.dir, "manifest.json"), JSON.stringify(manifest, null, 2));
    await Deno.remove(join(staging.dir, ".incomplete"));
    const dest = this.#entryDir(staging.key);
    await Deno.mkdir(join(dest, ".."), { recursive: true });
    // Publish by rename, never delete-then-rename, so concurrent writers of the
    // same key (batch clips sharing a step, two processes on one cache) cannot
    // remove each other's entry. An existing entry that verifies (full hashes)
    // wins unless `replace`; a corrupt one is moved aside first.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await Deno.rename(staging.dir, dest);
        break;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists || /not empty|exists/i.test(String(e)))) {
          throw e;
        }
        const existing = await this.get(staging.key);
        if (existing && !opts.replace) {
          await this.discard(staging);
          return existing;
        }
        const trash = join(
          this.root,
          "staging",
          `trash-${staging.key}.${crypto.randomUUID().slice(0, 8)}`,
        );
        await Deno.rename(dest, trash).catch(() => {});
        await Deno.remove(trash, { recursive: true }).catch(() => {});
      }
    }
    const entry = await this.get(staging.key, { verify: false });
    if (!entry) throw new Error(`Cache entry ${staging.key} vanished after commit`);
    return entry;
  }

  /** Remove staging folders left by runs that were killed (their process is gone). */
  async sweepStaging(): Promise<number> {
    const dir = join(this.root, "staging");
    let removed = 0;
    try {
      for await (const e of Deno.readDir(dir)) {
        const p = join(dir, e.name);
        let stale = e.name.startsWith("trash-");
        try {
          const marker = await Deno.readTextFile(join(p, ".incomplete"));
          const pid = Number(/pid (\d+)/.exec(marker)?.[1]);
          if (pid && pid !== Deno.pid) stale = !pidAlive(pid);
          else if (!pid) stale = true;
        } catch {
          const st = await Deno.stat(p).catch(() => null);
          stale ||= !!st?.mtime && Date.now() - st.mtime.getTime() > 24 * 3600e3;
        }
        if (stale) {
          await Deno.remove(p, { recursive: true }).catch(() => {});
          removed++;
        }
      }
    } catch { /* no staging folder */ }
    return removed;
  }

  async discard(staging: Staging): Promise<void> {
    await Deno.remove(staging.dir, { recursive: true }).catch(() => {});
  }

  async remove(key: string): Promise<void> {
    await Deno.remove(this.#entryDir(key), { recursive: true }).catch(() => {});
  }
}
