/**
 * Write the prior as an ONNX model (protobuf built in TypeScript with
 * onnx-proto), opset 17. The graph keeps TF.js' NWC contract at its edges:
 *
 *   input  "mel"          float32 [N, T, 80]   (log-mel, see src/audio/mel.ts)
 *   output "articulation" float32 [N, T, 8]    (channels of src/articulation/mod.ts)
 *
 * Inside: Transpose → NCW, (x − μ)·(1/σ), Conv (+Relu, residual Add) layers
 * with ONNX Conv weights `[Cout, Cin, K]` (TF.js `[K, Cin, Cout]` transposed),
 * symmetric pads d·(K−1)/2, then Sigmoid·span + lo and Transpose back.
 *
 * @module
 */
import onnxProto from "onnx-proto";
import {
  ARTICULATION_CHANNELS,
  ARTICULATION_DIM,
  ARTICULATION_NAMES,
} from "../../articulation/mod.ts";
import { MEL_CONFIG } from "../../audio/mel.ts";
import type { PriorConfig } from "./model.ts";

const { onnx } = onnxProto;

/** Plain weights of a trained net (what {@link exportOnnx} needs). */
export interface PriorWeights {
  config: PriorConfig;
  melMean: Float32Array;
  melStd: Float32Array;
  /** TF.js conv kernels `[K, Cin, Cout]`, the last one the 1×1 output layer. */
  weights: Array<{ shape: number[]; data: Float32Array }>;
  biases: Float32Array[];
}

function tensor(
  name: string,
  dims: number[],
  data: Float32Array | BigInt64Array,
): onnxProto.onnx.ITensorProto {
  const isInt = data instanceof BigInt64Array;
  return {
    name,
    dims,
    dataType: isInt ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

function ints(name: string, v: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
}

function valueInfo(name: string, dims: Array<number | string>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/** TF.js `[K, Cin, Cout]` → ONNX `[Cout, Cin, K]`. */
function toOnnxKernel(shape: number[], data: Float32Array): { dims: number[]; data: Float32Array } {
  const [k, cin, cout] = shape as [number, number, number];
  const out = new Float32Array(data.length);
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < cin; i++) {
      for (let o = 0; o < cout; o++) out[(o * cin + i) * k + a] = data[(a * cin + i) * cout + o]!;
    }
  }
  return { dims: [cout, cin, k], data: out };
}

/** Serialise the prior to ONNX bytes, with its contract in the metadata. */
export function exportOnnx(
  w: PriorWeights,
  extraMetadata: Record<string, string> = {},
): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  const nMels = w.config.nMels;
  nodes.push({
    opType: "Transpose",
    input: ["mel"],
    output: ["x_ncw"],
    attribute: [ints("perm", [0, 2, 1])],
  });
  inits.push(tensor("mel_mean", [1, nMels, 1], w.melMean));
  inits.push(tensor("mel_inv_std", [1, nMels, 1], w.melStd.map((v) => 1 / v)));
  nodes.push({ opType: "Sub", input: ["x_ncw", "mel_mean"], output: ["x_c"] });
  nodes.push({ opType: "Mul", input: ["x_c", "mel_inv_std"], output: ["h0"] });
  let h = "h0";
  const layers = [...w.config.layers, { kernel: 1, dilation: 1 }];
  layers.forEach((l, i) => {
    const wt = w.weights[i]!;
    const k = toOnnxKernel(wt.shape, wt.data);
    inits.push(tensor(`conv${i}_w`, k.dims, k.data));
    inits.push(tensor(`conv${i}_b`, [w.biases[i]!.length], w.biases[i]!));
    const p = (l.dilation * (l.kernel - 1)) / 2;
    const conv = {
      opType: "Conv",
      input: [h, `conv${i}_w`, `conv${i}_b`],
      output: [`conv${i}`],
      attribute: [
        ints("kernel_shape", [l.kernel]),
        ints("dilations", [l.dilation]),
        ints("pads", [p, p]),
        ints("strides", [1]),
      ],
    };
    nodes.push(conv);
    if (i === layers.length - 1) return;
    nodes.push({ opType: "Relu", input: [`conv${i}`], output: [`relu${i}`] });
    if (i === 0) h = `relu${i}`;
    else {
      nodes.push({ opType: "Add", input: [h, `relu${i}`], output: [`res${i}`] });
      h = `res${i}`;
    }
  });
  const last = `conv${layers.length - 1}`;
  inits.push(
    tensor(
      "out_span",
      [1, ARTICULATION_DIM, 1],
      Float32Array.from(ARTICULATION_CHANNELS, (c) => c.range[1] - c.range[0]),
    ),
  );
  inits.push(
    tensor(
      "out_lo",
      [1, ARTICULATION_DIM, 1],
      Float32Array.from(ARTICULATION_CHANNELS, (c) => c.range[0]),
    ),
  );
  nodes.push({ opType: "Sigmoid", input: [last], output: ["sig"] });
  nodes.push({ opType: "Mul", input: ["sig", "out_span"], output: ["scaled"] });
  nodes.push({ opType: "Add", input: ["scaled", "out_lo"], output: ["y_ncw"] });
  nodes.push({
    opType: "Transpose",
    input: ["y_ncw"],
    output: ["articulation"],
    attribute: [ints("perm", [0, 2, 1])],
  });
  const metadata: Record<string, string> = {
    "dub.contract": "audio_prior/1",
    "dub.channels": ARTICULATION_NAMES.join(","),
    "dub.sample_rate_hz": String(MEL_CONFIG.sampleRateHz),
    "dub.hop_length": String(MEL_CONFIG.hopLength),
    "dub.n_mels": String(MEL_CONFIG.nMels),
    "dub.frame_rate_hz": String(MEL_CONFIG.frameRateHz),
    ...extraMetadata,
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: "dub",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 17 }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: "audio_prior",
      node: nodes,
      initializer: inits,
      input: [valueInfo("mel", ["N", "T", nMels])],
      output: [valueInfo("articulation", ["N", "T", ARTICULATION_DIM])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/**
 * Read the weights back from an ONNX file written by {@link exportOnnx} (to
 * fine-tune a shipped model). Throws, naming `file`, when the graph is not one
 * of ours.
 */
export function importOnnx(bytes: Uint8Array, file: string): PriorWeights {
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`Cannot read "${file}": not an ONNX file (${(e as Error).message})`);
  }
  const inits = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of m.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData) continue;
    const raw = new Uint8Array(t.rawData); // a copy at offset 0 (protobufjs may hand out Buffer views)
    inits.set(t.name ?? "", {
      dims: (t.dims ?? []).map(Number),
      data: new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4),
    });
  }
  const get = (name: string) => {
    const v = inits.get(name);
    if (!v) {
      throw new Error(`Cannot read "${file}": no initializer "${name}"; not a dub audio prior`);
    }
    return v;
  };
  const convs = (m.graph?.node ?? []).filter((n) => n.opType === "Conv");
  if (convs.length < 2) {
    throw new Error(`Cannot read "${file}": ${convs.length} Conv layers; not a dub audio prior`);
  }
  const layers = convs.slice(0, -1).map((n) => {
    const at = (name: string) => Number(n.attribute?.find((a) => a.name === name)?.ints?.[0] ?? 1);
    return { kernel: at("kernel_shape"), dilation: at("dilations") };
  });
  const weights: PriorWeights["weights"] = [];
  const biases: Float32Array[] = [];
  convs.forEach((_, i) => {
    const w = get(`conv${i}_w`);
    const [cout, cin, k] = w.dims as [number, number, number];
    const data = new Float32Array(w.data.length);
    for (let a = 0; a < k; a++) {
      for (let j = 0; j < cin; j++) {
        for (let o = 0; o < cout; o++) {
          data[(a * cin + j) * cout + o] = w.data[(o * cin + j) * k + a]!;
        }
      }
    }
    weights.push({ shape: [k, cin, cout], data });
    biases.push(get(`conv${i}_b`).data.slice());
  });
  const first = weights[0]!;
  return {
    config: { nMels: first.shape[1]!, hidden: first.shape[2]!, layers },
    melMean: get("mel_mean").data.slice(),
    melStd: get("mel_inv_std").data.map((v) => 1 / v),
    weights,
    biases,
  };
}
