/**
 * What `speaker.adapt` writes besides the model: a standard 3DGS `.ply` of the
 * neutral head (canonical mesh + the speaker's neutral expression, canonical cm,
 * y up), a contact sheet of fitted vs real crops, and the loss curve.
 *
 * @module
 */
import { writeFileAtomic } from "../atomic.ts";
import { writePly } from "../splat/ply.ts";
import { writePngFloat as writePng } from "../image/png.ts";
import type { GaussianScene, SplatBackend } from "../splat/types.ts";
import type { SpeakerModel } from "./model.ts";
import { canonicalMesh, framesFor, poseModel } from "./render.ts";
import type { AdaptView } from "./views.ts";

/** The model posed on the neutral mesh, in canonical cm. */
export async function neutralScene(m: SpeakerModel): Promise<GaussianScene> {
  const mesh = await canonicalMesh();
  return poseModel(m, framesFor(mesh, m.neutral, m.neutral));
}

/** Writes the neutral head as a 3DGS PLY (rgb colours become SH degree 0), atomically. */
export async function writeNeutralPly(path: string, m: SpeakerModel): Promise<void> {
  await writePly(path, await neutralScene(m));
}

/**
 * Renders `views` with the model (premultiplied over black, as trained) and writes
 * a grid of [fitted | real] pairs at native crop resolution, the real crop dimmed
 * outside the face mask. Returns the masked PSNR (dB) per view.
 */
export async function writeContactSheet(
  path: string,
  backend: SplatBackend,
  m: SpeakerModel,
  views: readonly AdaptView[],
  maxViews = 8,
): Promise<number[]> {
  const pick = views.length <= maxViews
    ? [...views]
    : Array.from({ length: maxViews }, (_, i) => views[Math.floor((i * views.length) / maxViews)]!);
  const cw = Math.max(...pick.map((v) => v.crop.w)), ch = Math.max(...pick.map((v) => v.crop.h));
  const cols = Math.min(4, pick.length), rows = Math.ceil(pick.length / cols);
  const W = cols * 2 * cw, H = rows * ch;
  const img = new Float32Array(W * H * 3);
  const psnr: number[] = [];
  for (const [k, v] of pick.entries()) {
    const scene = poseModel(m, v.frames);
    const out = await backend.render(scene, v.camera);
    const x0 = (k % cols) * 2 * cw, y0 = Math.floor(k / cols) * ch;
    let se = 0, n = 0;
    for (let y = 0; y < v.crop.h; y++) {
      for (let x = 0; x < v.crop.w; x++) {
        const i = y * v.crop.w + x, msk = v.mask[i]!;
        for (let c = 0; c < 3; c++) {
          const f = out.rgb[i * 3 + c]!, r = v.rgb[i * 3 + c]!;
          img[((y0 + y) * W + x0 + x) * 3 + c] = f;
          img[((y0 + y) * W + x0 + cw + x) * 3 + c] = r * (0.35 + 0.65 * msk);
          if (msk > 0.5) se += (f - r) ** 2, n++;
        }
      }
    }
    psnr.push(n > 0 ? 10 * Math.log10(1 / Math.max(1e-12, se / n)) : NaN);
  }
  await writePng(path, img, W, H);
  return psnr;
}

/** The loss curve as JSON: `{ "iteration": [...], "loss": [...] }` (1-based iterations). */
export async function writeLossCurve(path: string, losses: readonly number[]): Promise<void> {
  await writeFileAtomic(
    path,
    JSON.stringify({ iteration: losses.map((_, i) => i + 1), loss: losses }) + "\n",
  );
}
