/**
 * Set-up shared by the tests that run workflows with the built-in steps
 * (`src/stages/*_test.ts`, `tests/`): a media backend, a temporary folder that is
 * removed afterwards, and workflow texts parsed and run in it.
 *
 * @module
 */
import { join } from "node:path";
import { type MediaBackend, openMedia } from "../media/mod.ts";
import { type LoadedWorkflow, parseWorkflow } from "../workflow/load.ts";
import { type RunOptions, type RunReport, runWorkflow } from "../workflow/run.ts";
import { REGISTRY } from "./mod.ts";

/** What a {@link workflowTest} body gets. */
export interface WorkflowTestEnv {
  media: MediaBackend;
  /** A fresh temporary folder, removed after the test (also on failure). */
  dir: string;
  /** Parses `text` as `<dir>/<name>` (default `wf.yaml`) with the built-in steps. */
  parse(text: string, name?: string): LoadedWorkflow;
  /** Parses and runs `text` with the cache in `<dir>/cache`; asserts nothing. */
  run(text: string, opts?: Partial<Omit<RunOptions, "media">>): Promise<RunReport>;
}

/**
 * A test that runs workflows: media subprocesses and workers outlive single calls,
 * so the op and resource sanitizers are off.
 */
export function workflowTest(
  name: string,
  fn: (t: WorkflowTestEnv) => Promise<void>,
  opts: { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ...opts,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      await using media = await openMedia();
      const dir = await Deno.makeTempDir();
      const parse = (text: string, name = "wf.yaml") =>
        parseWorkflow(join(dir, name), text, { registry: REGISTRY, sets: [] });
      try {
        await fn({
          media,
          dir,
          parse,
          run: (text, o = {}) =>
            runWorkflow(parse(text), { cacheDir: join(dir, "cache"), ...o, media }),
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/**
 * One entry of a workflow's `outputs:` block (indented two spaces): publish
 * `steps.<step>.outputs.<output>` to `path` (JSON-quoted, so any path is safe).
 */
export function publish(name: string, step: string, output: string, path: string): string {
  return `  ${name}: { from: "\${{ steps.${step}.outputs.${output} }}", path: ${
    JSON.stringify(path)
  } }`;
}
