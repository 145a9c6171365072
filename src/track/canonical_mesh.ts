/**
 * The MediaPipe canonical face mesh (468 vertices in cm, UVs, 898 triangles),
 * parsed at load time from the assets that ship in the npm package
 * `@mediapipe/face_mesh` (`face_mesh_solution_packed_assets.data`, member
 * `geometry_pipeline_metadata_landmarks.binarypb`). Nothing is copied into the repo.
 *
 * Canonical head space: centimetres, x to the subject's left (image right for a
 * frontal face), y up, z out of the face towards the viewer; the origin is inside
 * the head, roughly between the ears.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { readFields, repeatedFloats, repeatedVarints } from "./_protobuf.ts";

/** Number of mesh vertices (and face-mesh landmarks). */
export const MESH_VERTEX_COUNT = 468;
/** Number of triangles of the canonical mesh. */
export const MESH_TRIANGLE_COUNT = 898;

/** The canonical face mesh. */
export interface CanonicalMesh {
  vertices: Float32Array; // [468, 3] cm
  uvs: Float32Array; // [468, 2] texture coordinates in [0, 1]
  triangles: Uint32Array; // [898, 3] vertex indices
  /**
   * Landmark weights of MediaPipe's own Procrustes basis (its rigid, stable
   * region: forehead, nose bridge, cheekbones); 0 for every other vertex.
   */
  procrustesWeights: Float32Array; // [468]
}

const PACKAGE_DIR = new URL(
  "../../node_modules/@mediapipe/face_mesh/",
  import.meta.url,
);
const MEMBER = "geometry_pipeline_metadata_landmarks.binarypb";

/** Parse `GeometryPipelineMetadata` bytes (field 1 = canonical Mesh3d, field 2 = Procrustes basis). */
export function parseGeometryMetadata(bytes: Uint8Array): CanonicalMesh {
  const top = readFields(bytes);
  const meshField = top.find((f) => f.field === 1 && f.wireType === 2);
  if (!meshField) {
    throw new Error(
      `Cannot read "${MEMBER}": no canonical mesh (field 1); reinstall @mediapipe/face_mesh`,
    );
  }
  const mesh = readFields(meshField.bytes);
  const vb = repeatedFloats(mesh, 3); // [V, 5] x, y, z, u, v
  const ib = repeatedVarints(mesh, 4);
  if (
    vb.length !== MESH_VERTEX_COUNT * 5 || ib.length !== MESH_TRIANGLE_COUNT * 3
  ) {
    throw new Error(
      `Cannot read "${MEMBER}": expected ${MESH_VERTEX_COUNT} vertices and ${MESH_TRIANGLE_COUNT} triangles, got ${
        vb.length / 5
      } and ${ib.length / 3}; use @mediapipe/face_mesh@0.4.1657299874`,
    );
  }
  const vertices = new Float32Array(MESH_VERTEX_COUNT * 3);
  const uvs = new Float32Array(MESH_VERTEX_COUNT * 2);
  for (let i = 0; i < MESH_VERTEX_COUNT; i++) {
    vertices[i * 3] = vb[i * 5]!;
    vertices[i * 3 + 1] = vb[i * 5 + 1]!;
    vertices[i * 3 + 2] = vb[i * 5 + 2]!;
    uvs[i * 2] = vb[i * 5 + 3]!;
    uvs[i * 2 + 1] = vb[i * 5 + 4]!;
  }
  const triangles = Uint32Array.from(ib);
  for (const idx of triangles) {
    if (idx >= MESH_VERTEX_COUNT) {
      throw new Error(
        `Cannot read "${MEMBER}": triangle index ${idx} out of range`,
      );
    }
  }
  const procrustesWeights = new Float32Array(MESH_VERTEX_COUNT);
  for (const f of top) {
    if (f.field !== 2 || f.wireType !== 2) continue;
    const ref = readFields(f.bytes);
    const id = repeatedVarints(ref, 1)[0] ?? 0;
    const w = repeatedFloats(ref, 2)[0] ?? 0;
    if (id < MESH_VERTEX_COUNT) procrustesWeights[id] = w;
  }
  return { vertices, uvs, triangles, procrustesWeights };
}

/** Locate the metadata member inside the packed asset file using the loader's offset table. */
export function findPackedMember(
  loaderJs: string,
  member: string,
): { start: number; end: number } {
  const re = new RegExp(
    `"filename":\\s*"[^"]*/${
      member.replace(/\./g, "\\.")
    }",\\s*"start":\\s*(\\d+),\\s*"end":\\s*(\\d+)`,
  );
  const m = re.exec(loaderJs);
  if (!m) {
    throw new Error(
      `Cannot find "${member}" in the face_mesh asset loader; use @mediapipe/face_mesh@0.4.1657299874`,
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

let cached: Promise<CanonicalMesh> | null = null;

/** Load (once per process) the canonical mesh from the installed `@mediapipe/face_mesh`. */
export function loadCanonicalMesh(): Promise<CanonicalMesh> {
  cached ??= (async () => {
    const dir = fileURLToPath(PACKAGE_DIR);
    let loader: string;
    let data: Uint8Array;
    try {
      loader = await readFile(
        `${dir}face_mesh_solution_packed_assets_loader.js`,
        "utf8",
      );
      data = new Uint8Array(
        await readFile(`${dir}face_mesh_solution_packed_assets.data`),
      );
    } catch (e) {
      throw new Error(
        `Cannot read the @mediapipe/face_mesh assets in "${dir}": ${
          (e as Error).message
        }; run \`deno install\``,
      );
    }
    const { start, end } = findPackedMember(loader, MEMBER);
    if (end > data.length) {
      throw new Error(
        `Packed face_mesh assets are truncated; reinstall @mediapipe/face_mesh`,
      );
    }
    return parseGeometryMetadata(data.subarray(start, end));
  })();
  cached.catch(() => {
    cached = null;
  });
  return cached;
}
