/**
 * Step resolution: a workflow step, the clip's inputs and the upstream results →
 * a plain {@link StepJob} (parameters resolved, files checked, the cache key
 * computed from content hashes and stable names, never from paths). Also why a
 * step's key changed since the last run, for `dub plan`.
 *
 * @module
 */
import { resolve } from "node:path";
import type { z } from "zod";
import { DubError } from "../errors.ts";
import { hashFile, hashJson } from "./cache.ts";
import { stageCodeHash } from "./code_hash.ts";
import { fileKind } from "./guard.ts";
import type { LoadedWorkflow } from "./load.ts";
import { findRefs, interpolate, mapStrings, type Ref, refText, walkStrings } from "./refs.ts";
import type { JsonValue } from "./stage.ts";

/** Memoised content hashes for one run (path → sha256). */
const hashMemo = new Map<string, { mtime: number; size: number; hash: Promise<string> }>();
async function contentHash(path: string): Promise<string> {
  const st = await Deno.stat(path);
  if (!st.isFile) throw new Error(`it is ${fileKind(st)}, not a regular file`);
  const m = hashMemo.get(path);
  const mtime = st.mtime?.getTime() ?? 0;
  if (m && m.mtime === mtime && m.size === st.size) return await m.hash;
  const hash = hashFile(path);
  hashMemo.set(path, { mtime, size: st.size, hash });
  return await hash;
}

/**
 * A step ready to execute, with no workflow attached: its type and version, its
 * resolved parameters (file paths absolute), the hashes its key is made of, and
 * the key. This is all {@link executeStep} needs.
 */
export interface StepJob {
  /** The step's id in its workflow (for messages and events). */
  id: string;
  type: string;
  version: number;
  key: string;
  params: Record<string, unknown>;
  /** Parameter name → sha256 of its value, or of its files' content (plus `models`). */
  inputHashes: Record<string, string>;
}

/** A step job as resolved from a workflow, with what `dub plan` needs to explain it. */
export interface ResolvedStep extends StepJob {
  uses: string;
  /** Names of the step type's file parameters. */
  fileParams: readonly string[];
  /**
   * Key components, for explaining why a step re-runs. `code`: the hash of the step
   * type's module and its local imports (`code_hash.ts`); absent where the sources
   * cannot be read, and the version alone stands for the code.
   */
  components: { type: string; version: number; code?: string; params: Record<string, string> };
}

/** Upstream results by step id (file output paths and values). */
export type Results = Map<
  string,
  { paths: Record<string, string>; values: Record<string, JsonValue> }
>;

/** Resolve a step's parameters against inputs and upstream results, check files, compute its key. */
export async function resolveStep(
  wf: LoadedWorkflow,
  index: number,
  inputs: Record<string, unknown>,
  results: Results,
): Promise<ResolvedStep> {
  const step = wf.file.steps[index]!;
  const stage = wf.registry.find(step.uses)!;
  const where = () => {
    const p = wf.locate(["steps", index, "with"]);
    return `${wf.path}:${p.line}:${p.col}`;
  };
  const lookup = (r: Ref): unknown => {
    if (r.kind === "inputs") {
      const v = inputs[r.name];
      if (v === undefined) {
        throw new DubError("workflow", `${where()}: input "${r.name}" has no value`, {
          hint: `give it a default in the workflow or pass --set ${r.name}=VALUE`,
        });
      }
      return v;
    }
    if (r.kind === "models") {
      const m = wf.file.models[r.name]!;
      return resolve(wf.dir, typeof m === "string" ? m : m.path);
    }
    const res = results.get(r.step);
    if (!res) throw new DubError("step", `${where()}: step "${r.step}" has not produced results`);
    if (r.output in res.paths) return res.paths[r.output];
    if (r.output in res.values) return res.values[r.output];
    throw new DubError("step", `${where()}: step "${r.step}" did not produce "${refText(r)}"`);
  };
  const raw = mapStrings(step.with, (s) => interpolate(s, lookup)) as Record<string, unknown>;
  const parsed = stage.params.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i: z.core.$ZodIssue) =>
      `parameter "${i.path.join(".")}": ${i.message}`
    ).join("; ");
    throw new DubError("workflow", `${where()}: step "${step.id}" (${step.uses}) ${msg}`);
  }
  const params = parsed.data as Record<string, unknown>;
  const paramHashes: Record<string, string> = {};
  /** Content hashes already in the key through file parameters. */
  const fileHashes = new Set<string>();
  for (const [k, v] of Object.entries(params)) {
    if (stage.fileParams.includes(k) && v !== undefined && v !== null) {
      // Relative paths written in `with:` are relative to the workflow file.
      const files = (Array.isArray(v) ? v.map(String) : [String(v)]).map((f) => resolve(wf.dir, f));
      params[k] = Array.isArray(v) ? files : files[0];
      const hashes: string[] = [];
      for (const f of files) {
        try {
          hashes.push(await contentHash(f));
        } catch (e) {
          const nf = e instanceof Deno.errors.NotFound;
          throw new DubError(
            "input",
            `Cannot read "${f}" (step "${step.id}", parameter "${k}"): ${
              nf ? "file not found" : (e as Error).message
            }`,
            {
              hint: nf
                ? "check the path; relative paths in a workflow are relative to the workflow file"
                : undefined as never,
            },
          );
        }
      }
      for (const h of hashes) fileHashes.add(h);
      paramHashes[k] = hashJson({ files: hashes });
    } else {
      paramHashes[k] = hashJson(v);
    }
  }
  // Models referenced anywhere in `with` are hashed by content (and checked against a declared
  // sha256). Only content enters the key, never the model's name or path, and a model already
  // hashed as a file parameter is not added twice: the key of a step given a model through
  // `models:` equals the key of the same step using the same file by default or by path.
  const models: string[] = [];
  const modelRefs = new Set<string>();
  walkStrings(step.with, [], (str) => {
    for (const f of findRefs(str)) if (f.ref?.kind === "models") modelRefs.add(f.ref.name);
  });
  for (const name of [...modelRefs].sort()) {
    const decl = wf.file.models[name]!;
    const file = resolve(wf.dir, typeof decl === "string" ? decl : decl.path);
    let hash: string;
    try {
      hash = await contentHash(file);
    } catch {
      throw new DubError("input", `Cannot read model "${name}" at "${file}": file not found`, {
        hint: "fix the path under models: in the workflow",
      });
    }
    if (typeof decl === "object" && decl.sha256 && decl.sha256 !== hash) {
      throw new DubError(
        "input",
        `Model "${name}" at "${file}" has sha256 ${hash}, but the workflow expects ${decl.sha256}`,
        {
          hint: "use the model the workflow was written for, or update its sha256",
        },
      );
    }
    if (!fileHashes.has(hash)) models.push(hash);
  }
  if (models.length) paramHashes["models"] = hashJson(models.sort());
  const code = stage.module ? await stageCodeHash(stage.module) : null;
  const components = {
    type: stage.type,
    version: stage.version,
    ...(code ? { code: code.hash } : {}),
    params: paramHashes,
  };
  return {
    id: step.id,
    uses: step.uses,
    type: stage.type,
    version: stage.version,
    params,
    inputHashes: paramHashes,
    key: hashJson(components),
    fileParams: stage.fileParams,
    components,
  };
}

/** What the last run recorded per step (for `dub plan`'s explanations). */
export interface ExplainState {
  steps: Record<string, ResolvedStep["components"] & { key: string }>;
}

/** Why a step's key differs from the one recorded last time. */
export function explainChange(
  prev: (ResolvedStep["components"] & { key: string }) | undefined,
  cur: ResolvedStep,
): string {
  if (!prev) return "never run";
  if (prev.key === cur.key) return "its cache entry is missing or corrupt";
  if (prev.type !== cur.components.type) {
    return `step type changed (${prev.type} → ${cur.components.type})`;
  }
  if (prev.version !== cur.components.version) {
    return `step version changed (${prev.version} → ${cur.components.version})`;
  }
  if (prev.code !== cur.components.code) {
    return `the code of "${cur.type}" changed (its module or a local file it imports)`;
  }
  const changed = [...new Set([...Object.keys(prev.params), ...Object.keys(cur.components.params)])]
    .filter((k) => prev.params[k] !== cur.components.params[k]);
  return changed.map((k) =>
    cur.fileParams.includes(k) ? `content of "${k}" changed` : `parameter "${k}" changed`
  ).join(", ") || "inputs changed";
}
