/** Synthetic faces for composite tests: the canonical mesh projected with a pose. */
import { type CanonicalMesh, loadCanonicalMesh } from "../track/canonical_mesh.ts";

let mesh: Promise<CanonicalMesh> | null = null;
export const canonical = (): Promise<CanonicalMesh> => (mesh ??= loadCanonicalMesh());

/**
 * Project the canonical mesh (x right in the image = canonical −x is the subject's
 * right…; here simply image x = cx + s·X, image y = cy − s·Y) with the lower face
 * (canonical y < `hingeY`) moved down by `jawDropCm` × (hingeY − y)/(hingeY − chinY).
 * Returns `[468, 2]` px.
 */
export async function syntheticLandmarks(
  cx: number,
  cy: number,
  pxPerCm: number,
  jawDropCm = 0,
  hingeY = -3.4,
): Promise<Float32Array> {
  const m = await canonical();
  const out = new Float32Array(468 * 2);
  const chinY = -9.4;
  for (let i = 0; i < 468; i++) {
    const X = m.vertices[i * 3]!, Y = m.vertices[i * 3 + 1]!;
    const drop = Y < hingeY ? jawDropCm * (hingeY - Y) / (hingeY - chinY) : 0;
    out[i * 2] = cx + pxPerCm * X;
    out[i * 2 + 1] = cy - pxPerCm * (Y - drop);
  }
  return out;
}
