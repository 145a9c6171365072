import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { openMedia } from "../src/media/mod.ts";
import type { SelectedBackend } from "../src/splat/mod.ts";
import { parseWorkflow } from "../src/workflow/load.ts";
import { stageRegistry } from "../src/workflow/registry.ts";
import { runWorkflow } from "../src/workflow/run.ts";
import { defineStage } from "../src/workflow/stage.ts";
import { mediaTest, withTempDir } from "./_helpers.ts";

/** Every backend `ctx.splat()` handed out, with the step that asked. */
const handed: { step: string; backend: SelectedBackend }[] = [];

const splatUser = defineStage({
  type: "test.splat_user",
  version: 1,
  description: "Asks the run for its CPU splat backend and records what it got",
  params: z.strictObject({ tag: z.string() }),
  fileParams: [],
  outputs: { backend: { kind: "value", description: "name of the backend it got" } },
  async run(ctx) {
    const backend = await ctx.splat("cpu");
    handed.push({ step: ctx.stepId, backend });
    return { values: { backend: backend.name } };
  },
});

mediaTest(
  "runWorkflow(): the steps of one run share one ctx.splat() backend; the next run gets its own",
  async () => {
    await using media = await openMedia();
    await withTempDir(async (dir) => {
      const registry = stageRegistry([splatUser]);
      // Two independent steps (they may run at once) and one that depends on the first.
      const text = (run: string) =>
        `version: 1
steps:
  - id: a
    uses: test.splat_user
    with: { tag: "${run}-a" }
  - id: b
    uses: test.splat_user
    with: { tag: "${run}-b" }
  - id: c
    uses: test.splat_user
    with: { tag: "\${{ steps.a.outputs.backend }}-${run}-c" }
`;
      const run = async (name: string) => {
        handed.length = 0;
        const wf = parseWorkflow(join(dir, `${name}.yaml`), text(name), { registry, sets: [] });
        const report = await runWorkflow(wf, {
          cacheDir: join(dir, "cache"),
          media,
          reportHtml: false,
        });
        assert.equal(report.clips[0]!.status, "ok", String(report.clips[0]!.error));
        assert.deepEqual(handed.map((h) => h.step).sort(), ["a", "b", "c"]);
        return handed.map((h) => h.backend);
      };
      const first = await run("one");
      assert.equal(first[0]!.name, "cpu");
      assert.ok(first.every((b) => b === first[0]), "all three steps got the same backend object");
      const second = await run("two");
      assert.ok(second.every((b) => b === second[0]));
      assert.notEqual(second[0], first[0], "a new run creates its own backend");
    });
  },
);
