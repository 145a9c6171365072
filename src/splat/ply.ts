/**
 * Read and write the standard 3DGS `.ply` (binary little-endian): per vertex
 * `x y z nx ny nz f_dc_0..2 f_rest_0..(3·(K−1)−1) opacity scale_0..2 rot_0..3`,
 * w-first quaternion, logit opacity, log scales. `f_rest` is channel-major like the
 * reference (all R coefficients 1..K−1, then G, then B); in memory the scene keeps
 * SH as [N, K, 3]. Reading accepts any property order, extra properties, any PLY
 * scalar type and elements before/after `vertex`; files written here re-read
 * bit-exactly.
 *
 * @module
 */
import { SH_C0, SH_COLOR_OFFSET, shCoeffCount } from "./_math.ts";
import { writeFileAtomic } from "../atomic.ts";
import { SplatInputError } from "./errors.ts";

export { writeFileAtomic };
import type { GaussianScene } from "./types.ts";
import { assertScene } from "./scene.ts";

const HINT =
  "export a standard 3DGS PLY (binary_little_endian with x y z f_dc_* opacity scale_* rot_*)";

const SCALARS: Record<string, [number, (v: DataView, o: number) => number]> = {
  char: [1, (v, o) => v.getInt8(o)],
  int8: [1, (v, o) => v.getInt8(o)],
  uchar: [1, (v, o) => v.getUint8(o)],
  uint8: [1, (v, o) => v.getUint8(o)],
  short: [2, (v, o) => v.getInt16(o, true)],
  int16: [2, (v, o) => v.getInt16(o, true)],
  ushort: [2, (v, o) => v.getUint16(o, true)],
  uint16: [2, (v, o) => v.getUint16(o, true)],
  int: [4, (v, o) => v.getInt32(o, true)],
  int32: [4, (v, o) => v.getInt32(o, true)],
  uint: [4, (v, o) => v.getUint32(o, true)],
  uint32: [4, (v, o) => v.getUint32(o, true)],
  float: [4, (v, o) => v.getFloat32(o, true)],
  float32: [4, (v, o) => v.getFloat32(o, true)],
  double: [8, (v, o) => v.getFloat64(o, true)],
  float64: [8, (v, o) => v.getFloat64(o, true)],
};

interface Property {
  name: string;
  type: string; // scalar type, or the item type of a list
  countType?: string; // list properties only
}

interface Element {
  name: string;
  count: number;
  props: Property[];
}

function fail(name: string, what: string): never {
  throw new SplatInputError(`Cannot read "${name}": ${what}`, { hint: HINT });
}

/** Parses the header; returns the elements and the byte offset of the body. */
function parseHeader(bytes: Uint8Array, name: string): { elements: Element[]; bodyStart: number } {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, Math.min(bytes.length, 1 << 16)));
  if (!head.startsWith("ply")) fail(name, 'not a PLY file (no "ply" magic)');
  const m = /end_header\r?\n/.exec(head);
  if (!m) fail(name, 'the header has no "end_header" line (truncated or not a PLY file)');
  const bodyStart = m.index + m[0].length;
  const lines = head.slice(0, m.index).split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l.length > 0
  );
  const elements: Element[] = [];
  let format = "";
  for (const line of lines.slice(1)) {
    const w = line.split(/\s+/);
    switch (w[0]) {
      case "format":
        format = `${w[1]} ${w[2]}`;
        break;
      case "comment":
      case "obj_info":
        break;
      case "element": {
        const count = Number(w[2]);
        if (w.length !== 3 || !Number.isInteger(count) || count < 0) {
          fail(name, `bad header line "${line}"`);
        }
        elements.push({ name: w[1]!, count, props: [] });
        break;
      }
      case "property": {
        const el = elements[elements.length - 1];
        if (!el) fail(name, `property before any element: "${line}"`);
        if (w[1] === "list") {
          if (w.length !== 5 || !SCALARS[w[2]!] || !SCALARS[w[3]!]) {
            fail(name, `bad header line "${line}"`);
          }
          el.props.push({ name: w[4]!, type: w[3]!, countType: w[2]! });
        } else {
          if (w.length !== 3 || !SCALARS[w[1]!]) fail(name, `unsupported property line "${line}"`);
          el.props.push({ name: w[2]!, type: w[1]! });
        }
        break;
      }
      default:
        fail(name, `unknown header line "${line}"`);
    }
  }
  if (!format) fail(name, "the header has no format line");
  if (format !== "binary_little_endian 1.0") {
    fail(name, `format "${format}" is not supported; only "binary_little_endian 1.0" is`);
  }
  return { elements, bodyStart };
}

/** Decodes a 3DGS PLY file's bytes; `name` is used in error messages. */
export function decodePly(bytes: Uint8Array, name = "scene.ply"): GaussianScene {
  const { elements, bodyStart } = parseHeader(bytes, name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = bodyStart;
  const vi = elements.findIndex((e) => e.name === "vertex");
  if (vi < 0) fail(name, 'no "vertex" element');
  // Skip elements stored before the vertices.
  for (const el of elements.slice(0, vi)) {
    for (let i = 0; i < el.count; i++) {
      for (const p of el.props) {
        if (p.countType) {
          const [cs, read] = SCALARS[p.countType]!;
          if (offset + cs > bytes.length) {
            fail(name, `the body is truncated inside element "${el.name}"`);
          }
          offset += cs + read(view, offset) * SCALARS[p.type]![0];
        } else offset += SCALARS[p.type]![0];
      }
    }
  }
  const vert = elements[vi]!;
  if (vert.props.some((p) => p.countType)) fail(name, "the vertex element has a list property");
  const n = vert.count;
  const col = new Map<string, { off: number; read: (v: DataView, o: number) => number }>();
  let stride = 0;
  for (const p of vert.props) {
    const [size, read] = SCALARS[p.type]!;
    if (col.has(p.name)) fail(name, `property "${p.name}" appears twice`);
    col.set(p.name, { off: stride, read });
    stride += size;
  }
  const required = [
    "x",
    "y",
    "z",
    "f_dc_0",
    "f_dc_1",
    "f_dc_2",
    "opacity",
    "scale_0",
    "scale_1",
    "scale_2",
  ];
  required.push("rot_0", "rot_1", "rot_2", "rot_3");
  for (const r of required) if (!col.has(r)) fail(name, `missing property "${r}"`);
  let nRest = 0;
  while (col.has(`f_rest_${nRest}`)) nRest++;
  const strayRest = vert.props.find((p) =>
    /^f_rest_\d+$/.test(p.name) && Number(p.name.slice(7)) >= nRest
  );
  if (strayRest) {
    fail(
      name,
      `property "${strayRest.name}" without "f_rest_${nRest}" (f_rest_* must be contiguous)`,
    );
  }
  const degree = [0, 9, 24, 45].indexOf(nRest);
  if (degree < 0) {
    fail(name, `${nRest} f_rest_* properties; expected 0, 9, 24 or 45 (SH degree 0..3)`);
  }
  const need = offset + n * stride;
  if (bytes.length < need) {
    fail(
      name,
      `the body is truncated: ${n} vertices need ${n * stride} bytes, found ${
        bytes.length - offset
      }`,
    );
  }
  if (vi === elements.length - 1 && bytes.length > need) {
    fail(
      name,
      `${
        bytes.length - need
      } bytes after the ${n} vertices; the vertex count in the header is wrong`,
    );
  }
  const K = shCoeffCount(degree);
  const scene: GaussianScene = {
    count: n,
    means: new Float32Array(n * 3),
    logScales: new Float32Array(n * 3),
    quats: new Float32Array(n * 4),
    opacityLogits: new Float32Array(n),
    shDegree: degree,
    colorMode: "sh",
    colors: new Float32Array(n * K * 3),
  };
  const targets: [string, Float32Array, number][] = [];
  ["x", "y", "z"].forEach((p, j) => targets.push([p, scene.means, j]));
  [0, 1, 2].forEach((j) => targets.push([`scale_${j}`, scene.logScales, j]));
  [0, 1, 2, 3].forEach((j) => targets.push([`rot_${j}`, scene.quats, j]));
  targets.push(["opacity", scene.opacityLogits, 0]);
  const widths = new Map<Float32Array, number>([[scene.means, 3], [scene.logScales, 3], [
    scene.quats,
    4,
  ], [
    scene.opacityLogits,
    1,
  ]]);
  for (let c = 0; c < 3; c++) targets.push([`f_dc_${c}`, scene.colors, c]);
  for (let c = 0; c < 3; c++) {
    for (let k = 1; k < K; k++) {
      targets.push([`f_rest_${c * (K - 1) + k - 1}`, scene.colors, k * 3 + c]);
    }
  }
  widths.set(scene.colors, K * 3);
  for (const [prop, arr, j] of targets) {
    const { off, read } = col.get(prop)!;
    const w = widths.get(arr)!;
    for (let i = 0; i < n; i++) {
      const v = read(view, offset + i * stride + off);
      if (!Number.isFinite(v)) fail(name, `vertex ${i} has a non-finite "${prop}" (${v})`);
      arr[i * w + j] = v;
    }
  }
  return scene;
}

/** Encodes a scene as a 3DGS PLY (rgb-mode colours become SH degree 0). */
export function encodePly(scene: GaussianScene): Uint8Array {
  assertScene(scene);
  const n = scene.count;
  const deg = scene.colorMode === "sh" ? scene.shDegree : 0;
  const K = shCoeffCount(deg);
  const names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"];
  for (let i = 0; i < 3 * (K - 1); i++) names.push(`f_rest_${i}`);
  names.push("opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3");
  const header = [
    "ply",
    "format binary_little_endian 1.0",
    `element vertex ${n}`,
    ...names.map((p) => `property float ${p}`),
    "end_header",
    "",
  ].join("\n");
  const hb = new TextEncoder().encode(header);
  const stride = names.length;
  const body = new Float32Array(n * stride);
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    body[o] = scene.means[i * 3]!,
      body[o + 1] = scene.means[i * 3 + 1]!,
      body[o + 2] = scene.means[i * 3 + 2]!;
    let p = o + 6;
    if (scene.colorMode === "sh") {
      for (let c = 0; c < 3; c++) body[p++] = scene.colors[i * K * 3 + c]!;
      for (let c = 0; c < 3; c++) {
        for (let k = 1; k < K; k++) body[p++] = scene.colors[i * K * 3 + k * 3 + c]!;
      }
    } else {
      for (let c = 0; c < 3; c++) body[p++] = (scene.colors[i * 3 + c]! - SH_COLOR_OFFSET) / SH_C0;
    }
    body[p++] = scene.opacityLogits[i]!;
    for (let c = 0; c < 3; c++) body[p++] = scene.logScales[i * 3 + c]!;
    for (let c = 0; c < 4; c++) body[p++] = scene.quats[i * 4 + c]!;
  }
  for (let i = 0; i < body.length; i++) {
    if (!Number.isFinite(body[i]!)) {
      throw new RangeError(
        `Cannot write PLY: Gaussian ${Math.floor(i / stride)} has a non-finite "${
          names[i % stride]
        }"`,
      );
    }
  }
  const out = new Uint8Array(hb.length + body.byteLength);
  out.set(hb, 0);
  // Float32Array is little-endian on every platform Deno runs on; assert it once.
  if (new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) {
    throw new Error("Big-endian host is not supported");
  }
  out.set(new Uint8Array(body.buffer), hb.length);
  return out;
}

/** Reads a 3DGS `.ply` file. */
export async function readPly(path: string): Promise<GaussianScene> {
  return decodePly(await readInputFile(path), path);
}

/** Writes a scene to `path` atomically (temp name + rename). */
export async function writePly(path: string, scene: GaussianScene): Promise<void> {
  await writeFileAtomic(path, encodePly(scene));
}

/** Largest scene file read (bytes): one ArrayBuffer; ≈ 8 M Gaussians with SH degree 3. */
export const MAX_SCENE_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads an input file of at most `maxBytes`, turning I/O errors into a
 * {@link SplatInputError} naming it; devices, FIFOs and folders are refused.
 */
export async function readInputFile(
  path: string,
  maxBytes: number = MAX_SCENE_FILE_BYTES,
): Promise<Uint8Array> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) {
      throw new SplatInputError(`Cannot read "${path}": it is not a regular file`, {
        hint: "pass the path of a file",
      });
    }
    if (st.size > maxBytes) {
      throw new SplatInputError(
        `Cannot read "${path}": it is ${st.size} bytes; the limit is ${maxBytes}`,
        { hint: "pass a smaller file" },
      );
    }
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof SplatInputError) throw e;
    throw new SplatInputError(
      `Cannot read "${path}": ${e instanceof Error ? e.message : String(e)}`,
      { hint: "check the path", cause: e },
    );
  }
}
