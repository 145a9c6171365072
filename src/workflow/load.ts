/**
 * Read, parse and validate a workflow file. Every problem is reported as
 * `file:line:col: message` pointing into the YAML; all problems are collected,
 * not just the first.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { type Document, isMap, isPair, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { z } from "zod";
import { DubError } from "../errors.ts";
import type { StageRegistry } from "./registry.ts";
import { findRefs, type Ref, refText, walkStrings, wholeRef } from "./refs.ts";
import { type StepDecl, type WorkflowFile, WorkflowSchema } from "./schema.ts";

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** The workflow is invalid; `diagnostics` lists every problem found. */
export class WorkflowError extends DubError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[], hint?: string) {
    super(
      "workflow",
      diagnostics.map((
        d,
      ) => (d.line > 0 ? `${d.file}:${d.line}:${d.col}: ${d.message}` : `${d.file}: ${d.message}`))
        .join("\n"),
      hint ? { hint } : undefined,
    );
    this.name = "WorkflowError";
    this.diagnostics = diagnostics;
  }
}

export interface LoadedWorkflow {
  /** Absolute path of the workflow file. */
  path: string;
  /** Folder relative paths are resolved against. */
  dir: string;
  file: WorkflowFile;
  /** Steps in a valid execution order. */
  order: StepDecl[];
  /** Step id → ids of the steps it depends on. */
  deps: Map<string, Set<string>>;
  /** Input values given with --set (file paths there are relative to the current folder). */
  cwdInputs: Record<string, unknown>;
  /** The step types this workflow was validated against (passed in by the caller). */
  registry: StageRegistry;
  /** The text and `--set` overrides it was loaded from (what a queue job carries). */
  source: { text: string; sets: readonly string[] };
  /** Source position of a value, for errors raised later (at run time). */
  locate(path: (string | number)[]): { line: number; col: number };
}

type Path = (string | number)[];

/** Parse `--set key=value` overrides into a list (value parsed as a YAML scalar). */
export function parseSets(sets: readonly string[]): { key: string; value: unknown }[] {
  return sets.map((s) => {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      throw new DubError("usage", `Invalid --set "${s}"`, {
        hint: "use --set input=value or --set step_id.param=value",
      });
    }
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      const d = parseDocument(raw);
      if (d.errors.length === 0) value = d.toJS();
    } catch { /* keep as string */ }
    if (value === null || value === undefined) value = raw;
    return { key: s.slice(0, eq), value };
  });
}

/** Apply overrides to the raw (parsed, unvalidated) workflow object. */
function applySets(
  raw: Record<string, unknown>,
  sets: { key: string; value: unknown }[],
  cwdInputs: Record<string, unknown>,
): string[] {
  const errors: string[] = [];
  const steps = Array.isArray(raw.steps) ? (raw.steps as Record<string, unknown>[]) : [];
  const inputs = (raw.inputs && typeof raw.inputs === "object" ? raw.inputs : {}) as Record<
    string,
    unknown
  >;
  for (const { key, value } of sets) {
    const parts = key.replace(/^steps\./, "").split(".");
    if (parts.length === 1 || key.startsWith("inputs.")) {
      const name = key.replace(/^inputs\./, "");
      if (!(name in inputs)) {
        errors.push(
          `--set ${key}: the workflow has no input "${name}" (inputs: ${
            Object.keys(inputs).join(", ") || "none"
          })`,
        );
        continue;
      }
      cwdInputs[name] = value;
      const decl = inputs[name];
      if (decl && typeof decl === "object") (decl as Record<string, unknown>).default = value;
      else inputs[name] = value;
    } else if (parts.length === 2) {
      const step = steps.find((s) => s && s.id === parts[0]);
      if (!step) {
        errors.push(`--set ${key}: the workflow has no step "${parts[0]}"`);
        continue;
      }
      step.with = { ...(step.with as Record<string, unknown> ?? {}), [parts[1]!]: value };
    } else {
      errors.push(`--set ${key}: expected "input=value" or "step_id.param=value"`);
    }
  }
  return errors;
}

/** Closest name by edit distance, for "did you mean" hints. */
export function closest(word: string, options: readonly string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = tmp;
      }
    }
    return d[b.length]!;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const dd = dist(word, o);
    if (dd < bestD) [best, bestD] = [o, dd];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80
      ? 0
      : (b & 0xe0) === 0xc0 && b >= 0xc2
      ? 1
      : (b & 0xf0) === 0xe0
      ? 2
      : (b & 0xf8) === 0xf0 && b <= 0xf4
      ? 3
      : -1;
    if (n < 0 || i + n >= bytes.length) return i;
    for (let k = 1; k <= n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/** Decode workflow bytes strictly as UTF-8. */
function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const bad = Math.max(0, firstInvalidUtf8(bytes));
    let line = 1, col = 1;
    for (let i = 0; i < bad; i++) {
      if (bytes[i] === 0x0a) [line, col] = [line + 1, 1];
      else if ((bytes[i]! & 0xc0) !== 0x80) col++;
    }
    throw new WorkflowError(
      [{
        file,
        line,
        col,
        message: `the file is not valid UTF-8 text (byte 0x${
          bytes[bad]?.toString(16)
        } at offset ${bad})`,
      }],
      "save the workflow as UTF-8",
    );
  }
}

/**
 * Limits on a workflow file (a hand-written file is a few KB): its size, and YAML
 * aliases (`*name`), each of which may expand to a whole subtree ("billion laughs").
 */
export const WORKFLOW_LIMITS = {
  /**
   * Largest workflow file read (bytes). 256 KiB is ~50× the largest workflow here
   * and parses in about a second even when it is all keys (measured: 20 000 keys
   * in 2.5 s with the duplicate-key check below on a loaded 2-core machine; yaml's
   * own `uniqueKeys` check is quadratic: 25 s).
   */
  maxBytes: 256 * 1024,
  /** Most alias nodes in a workflow. */
  maxAliases: 64,
  /** Most nodes an alias may expand to, summed (yaml's `maxAliasCount` budget). */
  maxAliasExpansion: 1000,
} as const;

/** Load and validate a workflow. Throws {@link WorkflowError} listing every problem. */
export async function loadWorkflow(
  pathArg: string,
  opts: { sets?: readonly string[]; registry: StageRegistry },
): Promise<LoadedWorkflow> {
  const path = resolve(pathArg);
  let bytes: Uint8Array;
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) {
      throw new DubError("usage", `Cannot read workflow "${pathArg}": it is not a regular file`, {
        hint: "pass the path of a workflow YAML file",
      });
    }
    if (st.size > WORKFLOW_LIMITS.maxBytes) {
      throw new DubError(
        "workflow",
        `${path}: the workflow file is ${st.size} bytes; the limit is ${WORKFLOW_LIMITS.maxBytes}`,
        {
          hint: "a workflow names inputs, models and steps; put data in files it references",
        },
      );
    }
    bytes = await readAtMost(path, WORKFLOW_LIMITS.maxBytes + 1);
    if (bytes.length > WORKFLOW_LIMITS.maxBytes) {
      throw new DubError(
        "workflow",
        `${path}: the workflow file is larger than the limit of ${WORKFLOW_LIMITS.maxBytes} bytes`,
        { hint: "a workflow names inputs, models and steps; put data in files it references" },
      );
    }
  } catch (e) {
    if (e instanceof DubError) throw e;
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new DubError("usage", `Cannot read workflow "${pathArg}": ${why}`, {
      hint: "pass the path of a workflow YAML file",
    });
  }
  return parseWorkflow(path, decodeUtf8(path, bytes), opts);
}

/** The first `max` bytes of a file (never more, whatever the file claims). */
async function readAtMost(path: string, max: number): Promise<Uint8Array> {
  using f = await Deno.open(path);
  const buf = new Uint8Array(max);
  let n = 0;
  while (n < max) {
    const r = await f.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** Validate workflow text (exported for tests). */
export function parseWorkflow(
  path: string,
  text: string,
  opts: { sets?: readonly string[]; registry: StageRegistry },
): LoadedWorkflow {
  const findStage = opts.registry.find;
  const STAGES = opts.registry.stages;
  const lineCounter = new LineCounter();
  // Duplicate keys are checked below in linear time (yaml's own check is quadratic).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const diags: Diagnostic[] = [];
  const at = (offset: number, message: string) =>
    diags.push({ file: path, ...pos(offset), message });
  for (const e of doc.errors) {
    if (e.code === "MULTIPLE_DOCS") {
      at(e.pos[0], "a workflow file holds one YAML document; remove this `---` and what follows");
    } else at(e.pos[0], e.message.split("\n")[0]!);
  }
  if (diags.length) throw new WorkflowError(diags);
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : null;
        if (k === null) continue;
        if (seen.has(k)) {
          at(
            isScalar(pair.key) ? pair.key.range?.[0] ?? 0 : 0,
            `duplicate key "${k}" (a key may appear once per mapping)`,
          );
        }
        seen.add(k);
      }
    },
  });
  if (diags.length) throw new WorkflowError(diags);
  if (text.length > WORKFLOW_LIMITS.maxBytes) {
    at(0, `the workflow is larger than the limit of ${WORKFLOW_LIMITS.maxBytes} bytes`);
    throw new WorkflowError(diags);
  }
  // Aliases: bounded in number and in what they expand to.
  const aliases: number[] = [];
  visit(doc, {
    Alias(_, node) {
      aliases.push(node.range?.[0] ?? 0);
    },
  });
  if (aliases.length > WORKFLOW_LIMITS.maxAliases) {
    at(
      aliases[WORKFLOW_LIMITS.maxAliases]!,
      `too many YAML aliases (${aliases.length}; the limit is ${WORKFLOW_LIMITS.maxAliases})`,
    );
    throw new WorkflowError(diags, "write the values out instead of repeating `*alias` references");
  }

  const locate = (p: Path) => pos(nodeOffset(doc, p));
  const atPath = (p: Path, message: string) => diags.push({ file: path, ...locate(p), message });

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: WORKFLOW_LIMITS.maxAliasExpansion });
  } catch (e) {
    if (!(e instanceof ReferenceError) || aliases.length === 0) throw e;
    at(
      aliases[0]!,
      `YAML aliases expand to too much data (an "alias bomb"; the limit is ${WORKFLOW_LIMITS.maxAliasExpansion} nodes)`,
    );
    throw new WorkflowError(diags, "write the values out instead of nesting `*alias` references");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    at(0, "a workflow is a YAML mapping with `version`, `inputs`, `steps`…");
    throw new WorkflowError(diags);
  }
  const cwdInputs: Record<string, unknown> = {};
  for (
    const msg of applySets(raw as Record<string, unknown>, parseSets(opts.sets ?? []), cwdInputs)
  ) {
    diags.push({ file: "--set", line: 0, col: 0, message: msg });
  }
  const parsed = WorkflowSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of flattenUnions(parsed.error.issues)) {
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          const hint = closest(k, knownKeys(issue.path as Path));
          diags.push({
            file: path,
            ...pos(keyOffset(doc, [...issue.path as Path], k)),
            message: `unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
          });
        }
      } else {
        atPath(issue.path as Path, `${describePath(issue.path as Path)}: ${issue.message}`);
      }
    }
    throw new WorkflowError(diags);
  }
  const wf = parsed.data;

  // Steps: unique ids, known types, parameters.
  const ids = new Set<string>();
  wf.steps.forEach((s, i) => {
    if (ids.has(s.id)) atPath(["steps", i, "id"], `duplicate step id "${s.id}"`);
    ids.add(s.id);
  });
  const fileInputs = new Set(
    Object.entries(wf.inputs).filter(([, d]) => typeof d === "object" && d.type === "file").map((
      [k],
    ) => k),
  );
  const deps = new Map<string, Set<string>>();
  wf.steps.forEach((s, i) => {
    deps.set(s.id, new Set());
    const stage = findStage(s.uses);
    if (!stage) {
      const hint = closest(s.uses, STAGES.map((x) => x.type));
      atPath(
        ["steps", i, "uses"],
        `unknown step type "${s.uses}"${
          hint ? ` (did you mean "${hint}"?)` : ""
        }; \`dub steps\` lists them`,
      );
      return;
    }
    // References inside `with`.
    walkStrings(s.with, ["steps", i, "with"], (str, p) => {
      for (const f of findRefs(str)) {
        const err = checkRef(f.ref, f.expr, wf, s.id, findStage);
        if (err) atPath(p, err);
        else if (f.ref?.kind === "steps") deps.get(s.id)!.add(f.ref.step);
      }
    });
    // Parameter types: keys whose value is a whole reference are checked at run time.
    const refKeys = Object.keys(s.with).filter((k) => {
      const v = s.with[k];
      return typeof v === "string" && wholeRef(v) !== null;
    });
    const known = Object.keys(stage.params.shape);
    for (const k of Object.keys(s.with)) {
      if (!known.includes(k)) {
        const hint = closest(k, known);
        diags.push({
          file: path,
          ...pos(keyOffset(doc, ["steps", i, "with"], k)),
          message: `step "${s.id}" (${s.uses}) has no parameter "${k}"${
            hint ? ` (did you mean "${hint}"?)` : ""
          }; parameters: ${known.join(", ")}`,
        });
      }
    }
    const mask = Object.fromEntries(refKeys.filter((k) => known.includes(k)).map((k) => [k, true]));
    const partial = (stage.params as z.ZodObject).omit(mask as never).strip();
    const values = Object.fromEntries(
      Object.entries(s.with).filter(([k]) => known.includes(k) && !refKeys.includes(k)),
    );
    const r = partial.safeParse(values);
    if (!r.success) {
      for (const issue of r.error.issues) {
        const p = ["steps", i, "with", ...(issue.path as Path)];
        atPath(
          p,
          `step "${s.id}" parameter ${describeParam(issue.path as Path)}: ${issue.message}`,
        );
      }
    }
  });
  // Outputs must reference a step's file output.
  for (const [name, o] of Object.entries(wf.outputs)) {
    const r = wholeRef(o.from);
    const p = ["outputs", name, "from"];
    if (!r || r.kind !== "steps") {
      atPath(p, `output "${name}": "from" must be a reference like \${{ steps.ID.outputs.NAME }}`);
      continue;
    }
    const err = checkRef(r, refText(r), wf, null, findStage);
    if (err) atPath(p, err);
    else {
      const stage = findStage(wf.steps.find((s) => s.id === r.step)!.uses);
      if (stage && stage.outputs[r.output]?.kind !== "file") {
        atPath(p, `output "${name}": steps.${r.step}.outputs.${r.output} is a value, not a file`);
      }
    }
  }
  if (wf.batch) {
    const input = wf.batch.input ?? [...fileInputs][0];
    if (!input || !fileInputs.has(input)) {
      atPath(
        ["batch", wf.batch.input ? "input" : "clips"],
        `batch: ${
          input
            ? `"${input}" is not a file input`
            : "the workflow has no file input to receive the clips"
        }; declare it with \`type: file\``,
      );
    }
    for (const k of Object.keys(wf.batch.pair)) {
      if (!fileInputs.has(k)) {
        atPath(["batch", "pair", k], `batch.pair: "${k}" is not a file input`);
      }
    }
  }
  if (diags.length) throw new WorkflowError(diags);

  // Order the DAG (Kahn); report a cycle with its path.
  const order: StepDecl[] = [];
  const indeg = new Map([...deps].map(([id, d]) => [id, d.size]));
  const ready = wf.steps.filter((s) => indeg.get(s.id) === 0).map((s) => s.id);
  while (ready.length) {
    const id = ready.shift()!;
    order.push(wf.steps.find((s) => s.id === id)!);
    for (const s of wf.steps) {
      if (deps.get(s.id)!.has(id)) {
        indeg.set(s.id, indeg.get(s.id)! - 1);
        if (indeg.get(s.id) === 0) ready.push(s.id);
      }
    }
  }
  if (order.length < wf.steps.length) {
    const cycle = findCycle(deps);
    const i = wf.steps.findIndex((s) => s.id === cycle[0]);
    atPath(["steps", i, "with"], `steps form a cycle: ${cycle.join(" → ")}`);
    throw new WorkflowError(diags);
  }
  return {
    path,
    dir: dirname(path),
    file: wf,
    order,
    deps,
    locate,
    cwdInputs,
    registry: opts.registry,
    source: { text, sets: [...(opts.sets ?? [])] },
  };

  function knownKeys(p: Path): string[] {
    if (p.length === 0) return Object.keys(WorkflowSchema.shape);
    if (p[0] === "steps" && p.length === 2) return ["id", "uses", "name", "with"];
    if (p[0] === "batch") return ["clips", "input", "pair", "concurrency"];
    if (p[0] === "outputs") return ["from", "path"];
    if (p[0] === "inputs") return ["type", "default", "description"];
    if (p[0] === "models") return ["path", "sha256", "description"];
    return [];
  }
}

function checkRef(
  r: Ref | null,
  expr: string,
  wf: WorkflowFile,
  self: string | null,
  findStage: StageRegistry["find"],
): string | null {
  if (!r) {
    return `invalid reference "\${{ ${expr} }}"; use inputs.NAME, models.NAME or steps.ID.outputs.NAME`;
  }
  if (r.kind === "inputs" && !(r.name in wf.inputs)) {
    const hint = closest(r.name, Object.keys(wf.inputs));
    return `unknown input "${r.name}"${hint ? ` (did you mean "${hint}"?)` : ""}`;
  }
  if (r.kind === "models" && !(r.name in wf.models)) {
    return `unknown model "${r.name}"; declare it under models:`;
  }
  if (r.kind === "steps") {
    if (r.step === self) return `step "${self}" refers to its own output`;
    const step = wf.steps.find((s) => s.id === r.step);
    if (!step) {
      const hint = closest(r.step, wf.steps.map((s) => s.id));
      return `unknown step "${r.step}"${hint ? ` (did you mean "${hint}"?)` : ""}`;
    }
    const stage = findStage(step.uses);
    if (stage && !(r.output in stage.outputs)) {
      return `step "${r.step}" (${step.uses}) has no output "${r.output}"; outputs: ${
        Object.keys(stage.outputs).join(", ")
      }`;
    }
  }
  return null;
}

function findCycle(deps: Map<string, Set<string>>): string[] {
  const state = new Map<string, number>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 1);
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.get(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(id, 2);
    return null;
  };
  for (const id of deps.keys()) {
    if (!state.get(id)) {
      const c = visit(id);
      if (c) return c.reverse();
    }
  }
  return [];
}

function describePath(p: Path): string {
  return p.length
    ? p.map((x) => (typeof x === "number" ? `[${x}]` : x)).join(".").replace(/\.\[/g, "[")
    : "workflow";
}
function describeParam(p: Path): string {
  return p.length ? `"${describePath(p)}"` : "(with)";
}

/** Offset of the deepest existing node along `p`. */
function nodeOffset(doc: Document, p: Path): number {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return node.range[0];
    if (n > 0) {
      // The key itself (for a missing or null value).
      const parent = doc.getIn(p.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) =>
          isPair(it) && isScalar(it.key) && it.key.value === p[n - 1]
        );
        const key = pair?.key as { range?: [number, number, number] } | undefined;
        if (key?.range) return key.range[0];
      }
    }
  }
  return 0;
}

/** Offset of key `k` in the map at `p`. */
function keyOffset(doc: Document, p: Path, k: string): number {
  const map = p.length ? doc.getIn(p, true) : doc.contents;
  if (isMap(map)) {
    const pair = map.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === k);
    const key = pair?.key as { range?: [number, number, number] } | undefined;
    if (key?.range) return key.range[0];
  }
  return nodeOffset(doc, p);
}

/**
 * Replace a union's "Invalid input" by the issues of its most specific branch
 * (the one whose issues reach deepest into the value), with full paths.
 */
function flattenUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "invalid_union" && issue.errors.length) {
      const branches = issue.errors.map((b) =>
        flattenUnions(b).map((i) =>
          ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue
        )
      );
      const depth = (b: z.core.$ZodIssue[]) =>
        Math.max(...b.map((i) => i.path.length)) -
        (b.some((i) => i.code === "invalid_type") ? 0.5 : 0);
      branches.sort((a, b) => depth(b) - depth(a));
      out.push(...branches[0]!);
    } else out.push(issue);
  }
  return out;
}
