import assert from "node:assert/strict";
import { decodePly, encodePly, readPly, writePly } from "./ply.ts";
import { randomScene } from "./scene.ts";
import { SplatInputError } from "./errors.ts";
import type { GaussianScene } from "./types.ts";

const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

function assertSameScene(a: GaussianScene, b: GaussianScene): void {
  assert.equal(a.count, b.count);
  assert.equal(a.shDegree, b.shDegree);
  for (const k of ["means", "logScales", "quats", "opacityLogits", "colors"] as const) {
    assert.deepEqual(bits(a[k]), bits(b[k]), k);
  }
}

type Prop = [type: string, name: string];
const SIZES: Record<string, number> = { float: 4, double: 8, uchar: 1, int: 4 };

/** A hand-built binary little-endian PLY. */
function buildPly(
  props: Prop[],
  rows: number[][],
  opts: { format?: string; extraHeader?: string[]; tail?: Uint8Array; count?: number } = {},
): Uint8Array {
  const header = [
    "ply",
    `format ${opts.format ?? "binary_little_endian"} 1.0`,
    "comment made by a test",
    `element vertex ${opts.count ?? rows.length}`,
    ...props.map(([t, n]) => `property ${t} ${n}`),
    ...(opts.extraHeader ?? []),
    "end_header",
    "",
  ].join("\n");
  const stride = props.reduce((s, [t]) => s + SIZES[t]!, 0);
  const body = new DataView(new ArrayBuffer(rows.length * stride));
  rows.forEach((r, i) => {
    let o = i * stride;
    props.forEach(([t], j) => {
      const v = r[j]!;
      if (t === "float") body.setFloat32(o, v, true);
      else if (t === "double") body.setFloat64(o, v, true);
      else if (t === "uchar") body.setUint8(o, v);
      else body.setInt32(o, v, true);
      o += SIZES[t]!;
    });
  });
  const hb = new TextEncoder().encode(header);
  const tail = opts.tail ?? new Uint8Array(0);
  const out = new Uint8Array(hb.length + body.byteLength + tail.length);
  out.set(hb),
    out.set(new Uint8Array(body.buffer), hb.length),
    out.set(tail, hb.length + body.byteLength);
  return out;
}

const STD: Prop[] = [
  "x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3"
    .split(" "),
].flat().map((n) => ["float", n]);
const row = (i: number) => STD.map((_, j) => i * 100 + j + 0.5);

Deno.test("encodePly()/decodePly() round-trip bit-exactly (SH degrees 0 and 3)", () => {
  for (const deg of [0, 3]) {
    const s = randomScene({ count: 257, seed: deg + 1, shDegree: deg });
    s.means[5] = -0; // sign of zero survives
    s.means[7] = 1e-40; // subnormal survives
    const bytes = encodePly(s);
    const back = decodePly(bytes, "a.ply");
    assertSameScene(s, back);
    assert.deepEqual(encodePly(back), bytes, "a file written here re-encodes identically");
  }
});

Deno.test("encodePly() stores f_rest channel-major like the reference", () => {
  const s = randomScene({ count: 2, shDegree: 1 });
  // colors[i, k, c] = 100·k + c + 1000·i
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 4; k++) {
      for (let c = 0; c < 3; c++) s.colors[i * 12 + k * 3 + c] = 100 * k + c + 1000 * i;
    }
  }
  const bytes = encodePly(s);
  const text = new TextDecoder().decode(bytes.subarray(0, 2000));
  const props = [...text.matchAll(/property float (\S+)/g)].map((m) => m[1]!);
  assert.deepEqual(props.slice(6, 18), [
    "f_dc_0",
    "f_dc_1",
    "f_dc_2",
    ...Array.from({ length: 9 }, (_, i) => `f_rest_${i}`),
  ]);
  const bodyStart = text.indexOf("end_header\n") + 11;
  const v = new DataView(bytes.buffer, bytes.byteOffset + bodyStart);
  const at = (i: number, p: string) =>
    v.getFloat32((i * props.length + props.indexOf(p)) * 4, true);
  assert.deepEqual([0, 1, 2].map((c) => at(1, `f_dc_${c}`)), [1000, 1001, 1002]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((j) => at(0, `f_rest_${j}`)), [
    100,
    200,
    300,
    101,
    201,
    301,
    102,
    202,
    302,
  ]);
});

Deno.test("decodePly() accepts any property order, extra properties, doubles and other elements", () => {
  const props: Prop[] = [...STD].reverse();
  props[3] = ["double", props[3]![1]];
  props.splice(5, 0, ["uchar", "red"]);
  const rows = [0, 1, 2].map((i) => {
    const r = row(i);
    const byName = new Map(STD.map(([, n], j) => [n, r[j]!]));
    return props.map(([, n]) => (n === "red" ? 7 : byName.get(n)!));
  });
  const face = new Uint8Array([3, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]); // one triangle
  const bytes = buildPly(props, rows, {
    extraHeader: ["element face 1", "property list uchar int vertex_indices"],
    tail: face,
  });
  const s = decodePly(bytes, "b.ply");
  assert.equal(s.count, 3);
  assert.equal(s.shDegree, 0);
  assert.deepEqual([...s.means.subarray(3, 6)], [100.5, 101.5, 102.5]);
  assert.deepEqual([...s.quats.subarray(0, 4)], [13.5, 14.5, 15.5, 16.5]);
  assert.equal(s.opacityLogits[2], 209.5);
  assert.deepEqual([...s.colors.subarray(0, 3)], [6.5, 7.5, 8.5]);
});

Deno.test("decodePly() rejects malformed files with errors naming the file and the problem", () => {
  const good = [row(0), row(1)];
  const cases: [Uint8Array, RegExp][] = [
    [
      buildPly(
        STD.filter(([, n]) => n !== "opacity"),
        good.map((r) => r.slice(0, 9).concat(r.slice(10))),
      ),
      /missing property "opacity"/,
    ],
    [buildPly(STD, good).subarray(0, -5), /truncated/],
    [buildPly(STD, good, { count: 1 }), /bytes after the 1 vertices/],
    [
      buildPly(STD, [row(0), row(1).map((v, j) => (j === 11 ? NaN : v))]),
      /vertex 1 has a non-finite "scale_1"/,
    ],
    [buildPly(STD, good, { format: "ascii" }), /format "ascii 1.0" is not supported/],
    [buildPly(STD, good, { format: "binary_big_endian" }), /not supported/],
    [
      buildPly(
        [...STD, ["float", "f_rest_0"], ["float", "f_rest_1"]],
        good.map((r) => [...r, 0, 0]),
      ),
      /2 f_rest_\* properties/,
    ],
    [new TextEncoder().encode("hello"), /not a PLY file/],
    [
      new TextEncoder().encode("ply\nformat binary_little_endian 1.0\nelement vertex 1\n"),
      /no "end_header"/,
    ],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => decodePly(bytes, "bad.ply"), (e: unknown) => {
      assert.ok(e instanceof SplatInputError, String(e));
      assert.match(e.message, /^Cannot read "bad\.ply": /);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("writePly() writes atomically and readPly() reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = randomScene({ count: 10, shDegree: 2 });
    const path = `${dir}/scene.ply`;
    await writePly(path, s);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["scene.ply"]);
    assertSameScene(await readPly(path), s);
    await assert.rejects(() => readPly(`${dir}/missing.ply`), /Cannot read ".*missing\.ply"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
