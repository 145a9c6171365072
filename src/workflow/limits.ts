/**
 * What the machine can hold: the number of clip jobs a batch may run at once.
 *
 * A clip job's memory is dominated by the media backend: with native ffmpeg a job
 * holds a decoder and an encoder process plus a few frames in Deno (measured:
 * 10-minute 1080p decode → encode peaks at ≈415 MB, deno + ffmpeg, README
 * "Media"); with ffmpeg.wasm each job's wasm heap holds the compressed files plus up
 * to 192 MB of frames (measured peak 1.77 GB at 1080p). Tracking and the prior add
 * ≈300 MB (face.track on franck: 275 MiB peak). The budgets below are those peaks,
 * rounded up, and jobs are also limited to twice the CPU cores (media and tracking
 * are CPU-bound; more jobs only add memory).
 *
 * @module
 */

/** Memory budgeted per clip job, by media backend (bytes). */
export const JOB_MEMORY_BYTES: Record<string, number> = {
  native: 768 * 2 ** 20,
  wasm: 2048 * 2 ** 20,
};

export interface ConcurrencyCap {
  jobs: number;
  /** Why, in words, for the notice shown when a request is lowered. */
  reason: string;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/** The most clip jobs this machine can run at once with the given media backend. */
export function concurrencyCap(
  media: string,
  machine: { cores?: number; availableBytes?: number } = {},
): ConcurrencyCap {
  const cores = machine.cores ?? navigator.hardwareConcurrency ?? 1;
  let available = machine.availableBytes;
  if (available === undefined) {
    try {
      available = Deno.systemMemoryInfo().available;
    } catch {
      available = 4 * 2 ** 30;
    }
  }
  const perJob = JOB_MEMORY_BYTES[media] ?? JOB_MEMORY_BYTES.wasm!;
  // Keep a quarter of the free memory for the rest of the machine.
  const byMemory = Math.max(1, Math.floor((available * 0.75) / perJob));
  const byCores = Math.max(1, cores * 2);
  const jobs = Math.min(byMemory, byCores);
  return {
    jobs,
    reason: `this machine has ${cores} CPU core${cores === 1 ? "" : "s"} and ${
      gib(available)
    } of free memory; a clip job with the ${media} media backend needs up to ${
      gib(perJob)
    } (limit: ${byCores} by cores, ${byMemory} by memory)`,
  };
}
