/**
 * Face tracking: the 468-point face mesh per frame, the rigid head pose against the
 * MediaPipe canonical face mesh, the non-rigid expression in canonical head space,
 * blinks and articulation, temporal smoothing, scene cuts and speaker choice. The
 * file format is documented in `track_file.ts`.
 *
 * @module
 */
export {
  type CanonicalMesh,
  loadCanonicalMesh,
  MESH_TRIANGLE_COUNT,
  MESH_VERTEX_COUNT,
} from "./canonical_mesh.ts";
export { createFaceDetector, type FaceDetector, type RawFace } from "./detector.ts";
export { DEFAULT_ONE_EURO, FAST_ONE_EURO, OneEuroFilter, type OneEuroParams } from "./filter.ts";
export {
  applyPose,
  eulerFromRotation,
  fitPoseRobust,
  fitSimilarity,
  type HeadPose,
  rotationFromEuler,
  unapplyPose,
} from "./pose.ts";
export {
  type Box,
  chooseSpeaker,
  FaceTracker,
  type FrameStatus,
  type FrameTrack,
  type SpeakerChoice,
  TRACKER_REVISION,
  type TrackerOptions,
} from "./tracker.ts";
export {
  type FaceTrackFile,
  readTrack,
  TRACK_FORMAT,
  TRACK_VERSION,
  type TrackClipInfo,
  TrackWriter,
} from "./track_file.ts";
export { trackClip, type TrackClipOptions } from "./track_clip.ts";
export { ContactSheet, drawMesh, drawPoseAxes, meshEdges } from "./draw.ts";
