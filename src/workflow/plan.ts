/** `dub plan`: which steps are cached and which will run, and why. */
import { type CacheStore, LocalCacheStore } from "./cache.ts";
import { clipJobs } from "./jobs.ts";
import type { LoadedWorkflow } from "./load.ts";
import { FolderRunRecords, type RunRecords } from "./records.ts";
import { explainChange, resolveStep } from "./resolve.ts";
import type { JsonValue } from "./stage.ts";

export interface PlannedStep {
  id: string;
  uses: string;
  status: "cached" | "run" | "blocked";
  reason: string;
  key?: string;
}

export interface ClipPlan {
  clip: string;
  steps: PlannedStep[];
}

export async function planWorkflow(
  wf: LoadedWorkflow,
  opts: {
    cacheDir: string;
    store?: CacheStore;
    records?: RunRecords;
    force?: boolean | string;
    batch?: string;
  },
): Promise<ClipPlan[]> {
  const store = opts.store ?? new LocalCacheStore(opts.cacheDir);
  const records = opts.records ?? new FolderRunRecords(store.root);
  const plans: ClipPlan[] = [];
  for (const job of await clipJobs(wf, opts.batch)) {
    const state = await records.readState(wf.path, job.name);
    const results = new Map<
      string,
      { paths: Record<string, string>; values: Record<string, JsonValue> }
    >();
    const willRun = new Set<string>();
    const steps: PlannedStep[] = [];
    for (const step of wf.order) {
      const base = { id: step.id, uses: step.uses };
      if (job.error) {
        steps.push({ ...base, status: "blocked", reason: job.error });
        continue;
      }
      const upstream = [...(wf.deps.get(step.id) ?? [])].filter((d) => willRun.has(d));
      if (upstream.length) {
        willRun.add(step.id);
        steps.push({
          ...base,
          status: "run",
          reason: `after ${upstream.join(", ")} (runs if its output changes)`,
        });
        continue;
      }
      try {
        const rs = await resolveStep(wf, wf.file.steps.indexOf(step), job.inputs, results);
        const forced = opts.force === true || opts.force === step.id;
        const entry = forced ? null : await store.get(rs.key);
        if (entry) {
          results.set(step.id, { paths: entry.paths, values: entry.manifest.values });
          steps.push({
            ...base,
            status: "cached",
            reason: "inputs, parameters, version and code unchanged",
            key: rs.key,
          });
        } else {
          willRun.add(step.id);
          const reason = forced ? "forced (--force)" : explainChange(state.steps[step.id], rs);
          steps.push({ ...base, status: "run", reason, key: rs.key });
        }
      } catch (e) {
        willRun.add(step.id);
        steps.push({ ...base, status: "blocked", reason: (e as Error).message });
      }
    }
    plans.push({ clip: job.name, steps });
  }
  return plans;
}
