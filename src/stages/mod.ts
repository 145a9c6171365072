/**
 * The registry of step types. Adding a step type = one file in this folder plus
 * one line here.
 *
 * @module
 */
import type { StageDef } from "../workflow/stage.ts";
import { type StageRegistry, stageRegistry } from "../workflow/registry.ts";
import audioReplace from "./audio_replace.ts";
import bodyInpaint from "./body_inpaint.ts";
import videoSideBySide from "./video_side_by_side.ts";
import videoTrim from "./video_trim.ts";
import faceTrack from "./face_track.ts";
import headRender from "./head_render.ts";
import mediaProbe from "./media_probe.ts";
import videoEncode from "./video_encode.ts";
import audioFeatures from "./audio_features.ts";
import lipsyncExpression from "./lipsync_expression.ts";
import speakerAdapt from "./speaker_adapt.ts";
import videoCompare from "./video_compare.ts";

// deno-lint-ignore no-explicit-any
export const STAGES: readonly StageDef<any>[] = [
  audioFeatures,
  lipsyncExpression,
  mediaProbe,
  audioReplace,
  videoEncode,
  faceTrack,
  speakerAdapt,
  headRender,
  bodyInpaint,
  videoTrim,
  videoSideBySide,
  videoCompare,
];

/** Look up a step type by its `uses:` name. */
// deno-lint-ignore no-explicit-any
export function findStage(type: string): StageDef<any> | undefined {
  return STAGES.find((s) => s.type === type);
}

/** The built-in registry, handed to the loader, planner, runner and worker by the CLI. */
export const REGISTRY: StageRegistry = stageRegistry(STAGES);
