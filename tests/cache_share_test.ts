/**
 * Cache keys mean the same on every machine: two checkouts of a project in
 * different folders (different absolute paths for the workflow, its inputs and
 * its model) share one cache, and the second run is all hits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_PRIOR_PATH } from "../src/audio/mod.ts";
import { encodeWav, openMedia } from "../src/media/mod.ts";
import { parseWorkflow } from "../src/workflow/load.ts";
import { type RunEvent, runWorkflow } from "../src/workflow/run.ts";
import { REGISTRY } from "../src/stages/mod.ts";

const media = await openMedia();

/** A workflow using the model by a path relative to itself, or the step's default. */
const workflow = (model: "relative" | "default") =>
  `version: 1
inputs:
  dialogue: { type: file, default: speech.wav }
${model === "relative" ? "models:\n  prior: models/audio_prior.onnx\n" : ""}steps:
  - id: feat
    uses: audio.features
    with: { audio: "\${{ inputs.dialogue }}", vad: false }
  - id: art
    uses: lipsync.expression
    with:
      features: "\${{ steps.feat.outputs.features }}"
      fps: 25
      vad: false
${model === "relative" ? '      model: "${{ models.prior }}"\n' : ""}outputs:
  articulation: { from: "\${{ steps.art.outputs.articulation }}", path: out/art.safetensors }
`;

async function checkout(base: string, name: string, model: "relative" | "default") {
  const dir = join(base, name);
  await Deno.mkdir(join(dir, "models"), { recursive: true });
  const rate = 16000;
  const samples = new Float32Array(rate); // [S] 1 s of a gliding tone
  for (let i = 0; i < samples.length; i++) {
    samples[i] = 0.3 * Math.sin(2 * Math.PI * (200 + 200 * i / rate) * i / rate);
  }
  await Deno.writeFile(join(dir, "speech.wav"), encodeWav(samples, rate));
  await Deno.copyFile(DEFAULT_PRIOR_PATH, join(dir, "models", "audio_prior.onnx"));
  const path = join(dir, "wf.yaml");
  await Deno.writeTextFile(path, workflow(model));
  return parseWorkflow(path, workflow(model), { registry: REGISTRY });
}

Deno.test({
  name: "two checkouts in different folders share one cache: the second run is all hits",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const base = await Deno.makeTempDir({ prefix: "dub-share-" });
    const cacheDir = join(base, "shared-cache");
    const run = async (wf: ReturnType<typeof parseWorkflow>) => {
      const events: RunEvent[] = [];
      const report = await runWorkflow(wf, { cacheDir, media, onEvent: (e) => events.push(e) });
      assert.equal(report.clips[0]!.status, "ok", String(report.clips[0]!.error));
      return events.filter((e) => e.type === "step_end").map((e) =>
        (e as { status: string }).status
      );
    };
    assert.deepEqual(await run(await checkout(base, "machine-a/project", "relative")), [
      "ran",
      "ran",
    ]);
    // Another folder, its own copies of the inputs and the model: same content, all hits.
    assert.deepEqual(await run(await checkout(base, "machine-b/elsewhere/project", "relative")), [
      "cached",
      "cached",
    ]);
    // The step's default model (an absolute path inside this checkout) is keyed by its content
    // too, so it shares the entry of the same model named through `models:`.
    assert.deepEqual(await run(await checkout(base, "machine-c", "default")), [
      "cached",
      "cached",
    ]);
    await Deno.remove(base, { recursive: true });
  },
});
