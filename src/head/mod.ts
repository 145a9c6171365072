/**
 * The speaker's Gaussian head (GGTalker's Customized Adaptation, rendered by the
 * splatter in `src/splat/`): Gaussians bound to the canonical face mesh's 898
 * triangles (`binding.ts`), an inner mouth on rigid head/jaw frames
 * (`inner_mouth.ts`), the initialiser interface (`init.ts`), the tracked pose →
 * splatter camera (`camera.ts`), training views (`views.ts`), the adaptation loop
 * (`adapt.ts`), the speaker model file (`model.ts`) and rendering a posed head
 * (`render.ts`, `renderHead`).
 *
 * ```ts
 * import { readSpeakerModel, renderHead } from "./src/head/mod.ts";
 * import { createSplatBackend } from "./src/splat/mod.ts";
 * using backend = await createSplatBackend({ backend: "auto" });
 * const model = await readSpeakerModel("speaker.safetensors");
 * const { rgb, alpha } = await renderHead(backend, model, frame, { width: 1920, height: 1080 });
 * ```
 *
 * @module
 */
export {
  bindBackward,
  type BindingFrames,
  bindToWorld,
  type BoundGaussians,
  computeFrames,
  FRAME_COUNT,
  HEAD_FRAME,
  JAW_FRAME,
  type LocalGrads,
} from "./binding.ts";
export { type CropBox, faceCrop, poseToCamera } from "./camera.ts";
export { buildInnerMouth, fitJaw, JAW_VERTICES, PART } from "./inner_mouth.ts";
export {
  FootageInitializer,
  type HeadInitializer,
  type InitRequest,
  type InitView,
} from "./init.ts";
export {
  decodeSpeakerModel,
  readSpeakerModel,
  SPEAKER_MODEL_FORMAT,
  SPEAKER_MODEL_VERSION,
  type SpeakerModel,
  type SpeakerModelInfo,
  writeSpeakerModel,
} from "./model.ts";
export { canonicalMesh, framesFor, type HeadFrame, poseModel, renderHead } from "./render.ts";
export {
  type AdaptOptions,
  type AdaptResult,
  type AdaptState,
  initAdaptation,
  runAdaptation,
  skinCountFor,
  stateToModel,
  viewLoss,
} from "./adapt.ts";
export { type AdaptView, loadViews, selectFrames, usableRows, viewGeometry } from "./views.ts";
