import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath, shortClipPath } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { parseWorkflow } from "../src/workflow/load.ts";
import { planWorkflow } from "../src/workflow/plan.ts";
import { type RunEvent, runWorkflow } from "../src/workflow/run.ts";
import { dubWorkflow, mediaTest } from "./_helpers.ts";
import { REGISTRY } from "../src/stages/mod.ts";

const media = await openMedia();
const clip = await shortClipPath(media, 2);
const speech = await demoSpeechPath();

function workflow(
  dir: string,
  o: { footage?: string; dialogue?: string | null; out?: string } = {},
): string {
  return dubWorkflow({
    footage: o.footage ?? clip,
    dialogue: o.dialogue === undefined ? speech : o.dialogue,
    out: o.out ?? join(dir, "out", "{stem}_dubbed.mp4"),
  });
}

async function run(
  dir: string,
  text: string,
  opts: { force?: string | boolean; sets?: string[] } = {},
) {
  const wf = parseWorkflow(join(dir, "wf.yaml"), text, {
    registry: REGISTRY,
    sets: opts.sets ?? [],
  });
  const events: RunEvent[] = [];
  const report = await runWorkflow(wf, {
    cacheDir: join(dir, "cache"),
    media,
    onEvent: (e) => events.push(e),
    ...(opts.force !== undefined ? { force: opts.force } : {}),
  });
  const status = (id: string) =>
    (events.filter((e) => e.type === "step_end" && e.step === id) as { status: string }[]).map((
      e,
    ) => e.status);
  return { report, events, status, wf };
}

mediaTest(
  "runWorkflow() caches by content: re-run is all cached, a changed parameter re-runs only what depends on it",
  async () => {
    const dir = await Deno.makeTempDir();
    const text = workflow(dir);
    const r1 = await run(dir, text);
    assert.equal(r1.report.clips[0]!.status, "ok", String(r1.report.clips[0]!.error));
    assert.deepEqual([r1.status("probe"), r1.status("rep"), r1.status("enc")], [["ran"], ["ran"], [
      "ran",
    ]]);
    const out = join(dir, "out", "cap12_2s_dubbed.mp4");
    const p = await media.probe(out);
    assert.equal(p.video?.frameCount, 50);
    assert.equal(p.audio.length, 1);
    // Values flow: the report records the probe's values.
    assert.equal(r1.report.clips[0]!.steps[0]!.values.width, 400);

    const r2 = await run(dir, text);
    assert.deepEqual([r2.status("probe"), r2.status("rep"), r2.status("enc")], [["cached"], [
      "cached",
    ], ["cached"]]);

    const r3 = await run(dir, text, { sets: ["crf=30"] });
    assert.deepEqual([r3.status("probe"), r3.status("rep"), r3.status("enc")], [["cached"], [
      "cached",
    ], ["ran"]]);

    const plan = await planWorkflow(r3.wf, { cacheDir: join(dir, "cache") });
    assert.deepEqual(plan[0]!.steps.map((s) => s.status), ["cached", "cached", "cached"]);
    const plan2 = await planWorkflow(
      parseWorkflow(join(dir, "wf.yaml"), text, { registry: REGISTRY, sets: ["crf=31"] }),
      { cacheDir: join(dir, "cache") },
    );
    assert.equal(plan2[0]!.steps[2]!.status, "run");
    assert.match(plan2[0]!.steps[2]!.reason, /parameter "crf" changed/);

    const r4 = await run(dir, text, { force: "rep" });
    assert.deepEqual([r4.status("probe"), r4.status("rep")], [["cached"], ["ran"]]);
    await Deno.remove(dir, { recursive: true });
  },
);

mediaTest("runWorkflow() treats a corrupt or partial cache entry as a miss", async () => {
  const dir = await Deno.makeTempDir();
  const text = workflow(dir);
  const r1 = await run(dir, text);
  const rep = r1.report.clips[0]!.steps.find((s) => s.id === "rep")!;
  // Truncate the cached video: the entry is corrupt, the step re-runs.
  const bytes = await Deno.readFile(rep.outputs.video!);
  await Deno.writeFile(rep.outputs.video!, bytes.subarray(0, 1000));
  // Garble the probe's manifest.
  const probe = r1.report.clips[0]!.steps.find((s) => s.id === "probe")!;
  await Deno.writeTextFile(
    join(dir, "cache", "manifests", probe.key.slice(0, 2), `${probe.key}.json`),
    "{ not json",
  );
  const r2 = await run(dir, text);
  assert.equal(r2.report.clips[0]!.status, "ok");
  assert.deepEqual([r2.status("probe"), r2.status("rep"), r2.status("enc")], [["ran"], ["ran"], [
    "cached",
  ]]);
  // A leftover staging folder (killed run) does not disturb anything.
  await Deno.mkdir(join(dir, "cache", "staging", "deadbeef.1234"), { recursive: true });
  const r3 = await run(dir, text);
  assert.deepEqual(r3.status("enc"), ["cached"]);
  await Deno.remove(dir, { recursive: true });
});

mediaTest(
  "runWorkflow() runs a batch, pairs audio by name, and keeps going past bad clips",
  async () => {
    const dir = await Deno.makeTempDir();
    const clips = join(dir, "clips");
    await Deno.mkdir(clips);
    await Deno.copyFile(clip, join(clips, "good.mp4"));
    await Deno.copyFile(speech, join(clips, "good.wav"));
    const bytes = await Deno.readFile(clip);
    await Deno.writeFile(join(clips, "broken.mp4"), bytes.subarray(0, bytes.length / 3));
    await Deno.copyFile(speech, join(clips, "broken.wav"));
    await Deno.copyFile(clip, join(clips, "orphan.mp4")); // no dialogue next to it
    await Deno.copyFile(clip, join(clips, "good.mov")); // same stem as good.mp4: same output path
    const text = workflow(dir, { dialogue: null }) +
      `batch:\n  clips: ${JSON.stringify(clips)}\n  concurrency: 2\n`;
    const { report } = await run(dir, text);
    const byClip = Object.fromEntries(report.clips.map((c) => [c.clip, c]));
    assert.equal(byClip["good.mov"]!.status, "ok", String(byClip["good.mov"]!.error));
    assert.equal(byClip["good.mp4"]!.status, "failed");
    assert.match(byClip["good.mp4"]!.error!, /Clips "good\.mov" and "good\.mp4" would both write/);
    assert.equal(byClip["broken.mp4"]!.status, "failed");
    assert.match(byClip["broken.mp4"]!.error!, /broken\.mp4/);
    assert.equal(byClip["orphan.mp4"]!.status, "failed");
    assert.match(byClip["orphan.mp4"]!.error!, /No file found for input "dialogue"/);
    const outs = [...Deno.readDirSync(join(dir, "out"))].map((e) => e.name).sort();
    assert.deepEqual(
      outs,
      ["good_dubbed.mp4", "wf_batch_report"],
      "only the good clip has an output, no partial files",
    );
    await Deno.remove(dir, { recursive: true });
  },
);

mediaTest("runWorkflow() refuses to overwrite an input before any step runs", async () => {
  const dir = await Deno.makeTempDir();
  const footage = join(dir, "scene.mp4");
  await Deno.copyFile(clip, footage);
  const before = await Deno.readFile(footage);
  const text = workflow(dir, { footage, out: footage });
  await assert.rejects(
    () => run(dir, text),
    /Refusing to write output "dubbed" ".*scene\.mp4": it is input "footage"/,
  );
  assert.deepEqual(await Deno.readFile(footage), before);
  assert.throws(() => Deno.statSync(join(dir, "cache", "steps")), "no step ran");
  await Deno.remove(dir, { recursive: true });
});

mediaTest("runWorkflow() hashes models into the key and checks a declared sha256", async () => {
  const dir = await Deno.makeTempDir();
  const model = join(dir, "m.bin");
  await Deno.copyFile(clip, model);
  const text = (sha: string) =>
    `version: 1\nmodels:\n  m: { path: ${
      JSON.stringify(model)
    }${sha} }\nsteps:\n  - id: probe\n    uses: media.probe\n    with:\n      input: \${{ models.m }}\n`;
  const r1 = await run(dir, text(""));
  assert.equal(r1.report.clips[0]!.status, "ok");
  const r2 = await run(dir, text(`, sha256: \"${"0".repeat(64)}\"`));
  assert.equal(r2.report.clips[0]!.status, "failed");
  assert.match(
    r2.report.clips[0]!.error!,
    /Model "m" at ".*m\.bin" has sha256 [0-9a-f]{64}, but the workflow expects 0{64}/,
  );
  // Changing the model's content changes the key.
  await Deno.writeFile(model, new Uint8Array([0]), { append: true });
  const r3 = await run(dir, text(""));
  assert.notEqual(r3.report.clips[0]!.steps[0]!.key, r1.report.clips[0]!.steps[0]!.key);
  await Deno.remove(dir, { recursive: true });
});

mediaTest(
  "runWorkflow() resolves relative paths in with: against the workflow folder",
  async () => {
    const dir = await Deno.makeTempDir();
    await Deno.copyFile(clip, join(dir, "scene.mp4"));
    const text =
      "version: 1\nsteps:\n  - id: probe\n    uses: media.probe\n    with:\n      input: scene.mp4\n" +
      'outputs:\n  info: { from: "${{ steps.probe.outputs.info }}", path: scene.mp4 }\n';
    // The relative input is found next to the workflow, so the output that would
    // overwrite it is refused before the step runs.
    await assert.rejects(
      () => run(dir, text),
      /Refusing to write output "info" ".*scene\.mp4": it is file "input" of step "probe"/,
    );
    assert.equal((await media.probe(join(dir, "scene.mp4"))).video?.frameCount, 50);
    await Deno.remove(dir, { recursive: true });
  },
);
