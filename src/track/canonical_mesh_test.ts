import assert from "node:assert/strict";
import {
  findPackedMember,
  loadCanonicalMesh,
  MESH_TRIANGLE_COUNT,
  MESH_VERTEX_COUNT,
  parseGeometryMetadata,
} from "./canonical_mesh.ts";
import { readFields, repeatedFloats, repeatedVarints } from "./_protobuf.ts";

Deno.test("loadCanonicalMesh() parses 468 vertices and 898 triangles with valid indices", async () => {
  const m = await loadCanonicalMesh();
  assert.equal(m.vertices.length, MESH_VERTEX_COUNT * 3);
  assert.equal(m.uvs.length, MESH_VERTEX_COUNT * 2);
  assert.equal(m.triangles.length, MESH_TRIANGLE_COUNT * 3);
  const used = new Set<number>();
  for (const i of m.triangles) {
    assert.ok(i < MESH_VERTEX_COUNT);
    used.add(i);
  }
  assert.equal(used.size, MESH_VERTEX_COUNT, "every vertex belongs to a triangle");
  for (const uv of m.uvs) assert.ok(uv >= 0 && uv <= 1, `uv ${uv} outside [0, 1]`);
  // Face-sized (cm) and mirror-symmetric: eye corners 33 / 263 are mirror images.
  const x = (i: number, k: number) => m.vertices[i * 3 + k]!;
  assert.ok(Math.abs(x(33, 0) + x(263, 0)) < 1e-3 && Math.abs(x(33, 1) - x(263, 1)) < 1e-3);
  const height = x(10, 1) - x(152, 1); // forehead top to chin
  assert.ok(height > 15 && height < 20, `face height ${height} cm`);
  // Nose tip (1) is the most forward point region.
  assert.ok(x(1, 2) > x(234, 2) + 5);
  let weighted = 0;
  for (const w of m.procrustesWeights) if (w > 0) weighted++;
  assert.ok(weighted >= 20, `${weighted} Procrustes landmarks`);
});

Deno.test("readFields() decodes varints, packed floats and nested messages", () => {
  // field 1: nested { field 3: packed floats [1.5, -2], field 4: packed varints [1, 300] }, field 2: varint 7
  const floats = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const nested = [0x1a, 8, ...floats, 0x22, 3, 1, 0xac, 0x02];
  const msg = Uint8Array.from([0x0a, nested.length, ...nested, 0x10, 7]);
  const top = readFields(msg);
  assert.deepEqual(top.map((f) => [f.field, f.wireType]), [[1, 2], [2, 0]]);
  assert.equal(top[1]!.varint, 7n);
  const inner = readFields(top[0]!.bytes);
  assert.deepEqual(repeatedFloats(inner, 3), [1.5, -2]);
  assert.deepEqual(repeatedVarints(inner, 4), [1, 300]);
  assert.throws(() => readFields(Uint8Array.from([0x0a, 5, 1])), /Truncated/);
});

Deno.test("parseGeometryMetadata() rejects a mesh with the wrong vertex count", () => {
  const floats = new Uint8Array(new Float32Array(10).buffer); // 2 vertices
  const mesh = [0x1a, floats.length, ...floats];
  assert.throws(
    () => parseGeometryMetadata(Uint8Array.from([0x0a, mesh.length, ...mesh])),
    /expected 468 vertices/,
  );
});

Deno.test("findPackedMember() reads offsets from the loader table", () => {
  const js = `loadPackage({"files": [{"filename": "/a/b/x.tflite", "start": 0, "end": 10}, ` +
    `{"filename": "/a/geometry_pipeline_metadata_landmarks.binarypb", "start": 10, "end": 42}]})`;
  assert.deepEqual(findPackedMember(js, "geometry_pipeline_metadata_landmarks.binarypb"), {
    start: 10,
    end: 42,
  });
  assert.throws(() => findPackedMember(js, "missing.binarypb"), /Cannot find/);
});
