import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath } from "../../fixtures/mod.ts";
import type { RunEvent } from "../workflow/run.ts";
import { readArticulation, readFeatures } from "../audio/mod.ts";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { publish, workflowTest } from "./_testing.ts";

workflowTest(
  "lipsync.expression turns audio.features output into a frame-exact articulation track",
  async ({ dir, run }) => {
    const speech = await demoSpeechPath();
    // A face track of a speaker who barely opens the jaw (0…0.15), with some
    // frames without a face (NaN), in the face-track file format.
    const t = 300;
    const measured = new Float32Array(t * ARTICULATION_DIM);
    for (let i = 0; i < t; i++) {
      for (let c = 0; c < ARTICULATION_DIM; c++) {
        measured[i * ARTICULATION_DIM + c] = i % 50 === 0
          ? NaN
          : c === 0
          ? 0.15 * Math.abs(Math.sin(i / 7))
          : 0;
      }
    }
    const trackPath = join(dir, "speaker.safetensors");
    await writeSafetensors(trackPath, [{
      name: "articulation",
      dtype: "F32",
      shape: [t, ARTICULATION_DIM],
      data: new Uint8Array(measured.buffer),
    }], { format: "dub.face_track", version: "1", clip: "{}" });
    const text = `version: 1
inputs:
  dialogue: { type: file, default: ${JSON.stringify(speech)} }
steps:
  - id: feat
    uses: audio.features
    with: { audio: "\${{ inputs.dialogue }}" }
  - id: lips
    uses: lipsync.expression
    with: { features: "\${{ steps.feat.outputs.features }}", fps: "30000/1001" }
  - id: base
    uses: lipsync.expression
    with: { features: "\${{ steps.feat.outputs.features }}", fps: 25, method: baseline, vad: false }
  - id: styled
    uses: lipsync.expression
    with: { features: "\${{ steps.feat.outputs.features }}", fps: "30000/1001", track: ${
      JSON.stringify(trackPath)
    } }
outputs:
${publish("styled", "styled", "articulation", join(dir, "out", "styled.safetensors"))}
${publish("track", "lips", "articulation", join(dir, "out", "lips.safetensors"))}
${publish("base", "base", "articulation", join(dir, "out", "base.safetensors"))}
${publish("feat", "feat", "features", join(dir, "out", "feat.safetensors"))}
`;
    const events: RunEvent[] = [];
    const report = await run(text, { onEvent: (e) => events.push(e) });
    assert.equal(report.clips[0]!.status, "ok", String(report.clips[0]!.error));
    const feat = await readFeatures(join(dir, "out", "feat.safetensors"));
    const lips = await readArticulation(join(dir, "out", "lips.safetensors"));
    const base = await readArticulation(join(dir, "out", "base.safetensors"));
    assert.deepEqual(lips.fps, { num: 30000, den: 1001 });
    assert.equal(lips.frames, Math.ceil((feat.durationS * 30000) / 1001 - 1e-9));
    assert.equal(base.frames, Math.ceil(feat.durationS * 25 - 1e-9));
    assert.equal(lips.metadata.method, "prior");
    assert.match(lips.metadata.model_sha256 ?? "", /^[0-9a-f]{64}$/);
    assert.equal(base.metadata.vad, "off");
    // The mouth moves somewhere in the dialogue.
    let maxJaw = 0;
    for (let i = 0; i < lips.frames; i++) {
      maxJaw = Math.max(maxJaw, lips.articulation[i * ARTICULATION_DIM]!);
    }
    assert.ok(maxJaw > 0.25, `max jaw ${maxJaw}`);
    // Speaker style: the styled jaw stays within this speaker's small range.
    const styled = await readArticulation(join(dir, "out", "styled.safetensors"));
    let maxStyled = 0;
    for (let i = 0; i < styled.frames; i++) {
      maxStyled = Math.max(maxStyled, styled.articulation[i * ARTICULATION_DIM]!);
    }
    assert.ok(
      maxStyled < 0.6 * maxJaw && maxStyled > 0.05,
      `styled jaw max ${maxStyled} vs ${maxJaw}`,
    );
    assert.match(styled.metadata.style ?? "", /"jaw_open":\{"scale":/);
  },
);

workflowTest(
  "lipsync.expression fails with a clear error for a wrong-shaped model",
  async ({ dir, run }) => {
    const speech = await demoSpeechPath();
    const bad = join(dir, "bad.onnx");
    await Deno.writeTextFile(bad, "not an onnx model");
    const text = `version: 1
steps:
  - id: feat
    uses: audio.features
    with: { audio: ${JSON.stringify(speech)}, vad: false }
  - id: lips
    uses: lipsync.expression
    with: { features: "\${{ steps.feat.outputs.features }}", fps: 25, vad: false, model: ${
      JSON.stringify(bad)
    } }
`;
    const report = await run(text);
    assert.equal(report.clips[0]!.status, "failed");
    assert.match(report.clips[0]!.error ?? "", /Cannot load audio prior ".*bad\.onnx"/);
  },
);
