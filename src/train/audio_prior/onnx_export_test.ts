import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { PriorNet, useWasmBackend } from "./model.ts";
import { exportOnnx } from "./onnx_export.ts";
import { AudioPrior, PriorModelError } from "../../audio/prior.ts";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

function tinyNet(seed: number): PriorNet {
  const mean = Float32Array.from({ length: 80 }, (_, i) => -8 + i * 0.05);
  const std = Float32Array.from({ length: 80 }, (_, i) => 1 + (i % 7) * 0.1);
  return new PriorNet(
    {
      nMels: 80,
      hidden: 12,
      layers: [{ kernel: 5, dilation: 1 }, { kernel: 3, dilation: 2 }, { kernel: 5, dilation: 4 }],
    },
    mean,
    std,
    seed,
  );
}

Deno.test("exportOnnx() gives onnxruntime outputs equal to TF.js within 1e-4", async () => {
  await useWasmBackend();
  const net = tinyNet(7);
  // Train one step so biases are non-zero and the exported values are not the init.
  const x = tf.randomNormal([1, 150, 80], -6, 2, "float32", 3) as tf.Tensor3D;
  const opt = tf.train.adam(0.05);
  opt.minimize(() => tf.mean(tf.square(net.apply(x))) as tf.Scalar);
  const ref = net.apply(x).dataSync() as Float32Array;
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "tiny.onnx");
    await Deno.writeFile(
      path,
      exportOnnx({
        config: net.config,
        melMean: net.melMean,
        melStd: net.melStd,
        ...net.snapshot(),
      }),
    );
    using prior = await AudioPrior.load(path);
    const got = await prior.predict(x.dataSync() as Float32Array);
    assert.equal(got.length, ref.length);
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
    assert.ok(maxDiff < 1e-4, `max |onnx − tfjs| = ${maxDiff}`);
    // Outputs vary over time (a constant output would hide a broken export).
    let spread = 0;
    for (let i = 8; i < ref.length; i++) spread = Math.max(spread, Math.abs(ref[i]! - ref[i - 8]!));
    assert.ok(spread > 1e-3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conv1dSame() gradient matches finite differences", async () => {
  await useWasmBackend();
  const { conv1dSame } = await import("./model.ts");
  const x = tf.randomNormal([2, 20, 3], 0, 1, "float32", 1) as tf.Tensor3D;
  const w = tf.randomNormal([3, 3, 4], 0, 1, "float32", 2) as tf.Tensor3D;
  const loss = (xx: tf.Tensor3D, ww: tf.Tensor3D) =>
    tf.sum(tf.square(conv1dSame(xx, ww, 2))) as tf.Scalar;
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    loss(a as tf.Tensor3D, b as tf.Tensor3D)
  )([x, w]);
  const wData = w.dataSync() as Float32Array;
  const xData = x.dataSync() as Float32Array;
  const eps = 1e-2;
  for (const idx of [0, 5, 17, 35]) {
    const wp = wData.slice();
    wp[idx]! += eps;
    const wm = wData.slice();
    wm[idx]! -= eps;
    const num = (loss(x, tf.tensor3d(wp, [3, 3, 4])).dataSync()[0]! -
      loss(x, tf.tensor3d(wm, [3, 3, 4])).dataSync()[0]!) / (2 * eps);
    const ana = gw!.dataSync()[idx]!;
    assert.ok(
      Math.abs(num - ana) < 1e-2 * Math.max(1, Math.abs(num)),
      `dw[${idx}]: ${ana} vs ${num}`,
    );
  }
  for (const idx of [0, 13, 59, 119]) {
    const xp = xData.slice();
    xp[idx]! += eps;
    const xm = xData.slice();
    xm[idx]! -= eps;
    const num = (loss(tf.tensor3d(xp, [2, 20, 3]), w).dataSync()[0]! -
      loss(tf.tensor3d(xm, [2, 20, 3]), w).dataSync()[0]!) / (2 * eps);
    const ana = gx!.dataSync()[idx]!;
    assert.ok(
      Math.abs(num - ana) < 1e-2 * Math.max(1, Math.abs(num)),
      `dx[${idx}]: ${ana} vs ${num}`,
    );
  }
});

Deno.test("AudioPrior.load() rejects malformed and wrong-shaped models with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const garbage = join(dir, "garbage.onnx");
    await Deno.writeFile(garbage, new TextEncoder().encode("this is not a protobuf at all"));
    await assert.rejects(AudioPrior.load(garbage), (e: Error) => {
      assert.ok(e instanceof PriorModelError);
      assert.match(
        e.message,
        /^Cannot load audio prior ".*garbage\.onnx": .*; pass a valid ONNX file$/,
      );
      return true;
    });
    await assert.rejects(
      AudioPrior.load(join(dir, "missing.onnx")),
      /Cannot load audio prior ".*missing\.onnx"/,
    );

    // A valid ONNX model with the right names but 5 output channels instead of 8.
    const f = onnx.TensorProto.DataType.FLOAT;
    const wrong = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: "wrong",
        node: [{ opType: "MatMul", input: ["mel", "w"], output: ["articulation"] }],
        initializer: [{
          name: "w",
          dims: [80, 5],
          dataType: f,
          rawData: new Uint8Array(80 * 5 * 4),
        }],
        input: [{
          name: "mel",
          type: {
            tensorType: {
              elemType: f,
              shape: { dim: [{ dimParam: "N" }, { dimParam: "T" }, { dimValue: 80 }] },
            },
          },
        }],
        output: [{ name: "articulation", type: { tensorType: { elemType: f } } }],
      },
    })).finish();
    const wrongPath = join(dir, "wrong.onnx");
    await Deno.writeFile(wrongPath, wrong);
    await assert.rejects(
      AudioPrior.load(wrongPath),
      /maps \[1, 64, 80\] to \[1, 64, 5\]; it needs input "mel" \[N, T, 80\]/,
    );

    // Wrong input name.
    const renamed = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: "renamed",
        node: [{ opType: "Identity", input: ["audio"], output: ["articulation"] }],
        input: [{ name: "audio", type: { tensorType: { elemType: f } } }],
        output: [{ name: "articulation", type: { tensorType: { elemType: f } } }],
      },
    })).finish();
    const renamedPath = join(dir, "renamed.onnx");
    await Deno.writeFile(renamedPath, renamed);
    await assert.rejects(
      AudioPrior.load(renamedPath),
      /has inputs \[audio\]; an audio prior needs input "mel"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importOnnx() reads back exactly the weights exportOnnx() wrote", async () => {
  const { importOnnx } = await import("./onnx_export.ts");
  await useWasmBackend();
  const net = tinyNet(11);
  const snap = net.snapshot();
  const bytes = exportOnnx({
    config: net.config,
    melMean: net.melMean,
    melStd: net.melStd,
    ...snap,
  });
  const back = importOnnx(bytes, "tiny.onnx");
  assert.deepEqual(back.config, net.config);
  assert.deepEqual(back.melMean, net.melMean);
  for (let i = 0; i < 80; i++) {
    assert.ok(Math.abs(back.melStd[i]! - net.melStd[i]!) < 1e-6 * net.melStd[i]!);
  }
  snap.weights.forEach((w, i) => {
    assert.deepEqual(back.weights[i]!.shape, w.shape);
    assert.deepEqual(back.weights[i]!.data, w.data);
    assert.deepEqual(back.biases[i], snap.biases[i]);
  });
  // Loading into a fresh net reproduces the outputs.
  const other = tinyNet(99);
  other.assign(back);
  const x = tf.randomNormal([1, 40, 80], -5, 2, "float32", 3) as tf.Tensor3D;
  const a = net.apply(x).dataSync();
  const b = other.apply(x).dataSync();
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
  assert.throws(() => importOnnx(new Uint8Array([8, 1]), "junk.onnx"), /junk\.onnx/);
});

for (const file of ["audio_prior.onnx", "audio_prior_synth.onnx"]) {
  Deno.test(`shipped models/${file} follows the contract: any T, channel ranges, no delay`, async () => {
    const { ARTICULATION_CHANNELS } = await import("../../articulation/mod.ts");
    const path = join(new URL("../../../models/", import.meta.url).pathname, file);
    using prior = await AudioPrior.load(path);
    // A log-mel-like input: quiet floor with a loud band from frame 60 on.
    const t = 121;
    const mel = new Float32Array(t * 80).fill(-11);
    for (let j = 60; j < t; j++) for (let m = 5; m < 40; m++) mel[j * 80 + m] = -2;
    const y = await prior.predict(mel);
    assert.equal(y.length, t * 8);
    for (let j = 0; j < t; j++) {
      ARTICULATION_CHANNELS.forEach((c, k) => {
        const v = y[j * 8 + k]!;
        assert.ok(v >= c.range[0] - 1e-6 && v <= c.range[1] + 1e-6, `${c.name}[${j}] = ${v}`);
      });
    }
    // The receptive field is ±30 frames around the output frame: a change at
    // frame 60 leaves frames ≤ 29 untouched and reaches frame 30 onwards.
    const quiet = await prior.predict(new Float32Array(t * 80).fill(-11));
    const diff = (j: number) => {
      let d = 0;
      for (let k = 0; k < 8; k++) d = Math.max(d, Math.abs(y[j * 8 + k]! - quiet[j * 8 + k]!));
      return d;
    };
    for (let j = 0; j < 30; j++) assert.ok(diff(j) < 1e-6, `frame ${j} sees the future beyond 30`);
    assert.ok(diff(45) > 1e-4, "frame 45 does not see frame 60");
    assert.ok(diff(60) > 1e-3, "frame 60 does not react");
  });
}
