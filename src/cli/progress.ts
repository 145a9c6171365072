/** Renders run events: progress bars on a terminal, plain lines otherwise, NDJSON with --json. */
import cliProgress from "cli-progress";
import type { RunEvent } from "../workflow/run.ts";

export interface Renderer {
  onEvent(e: RunEvent): void;
  stop(): void;
}

/** `12.3s`, `1m05s`, `2h03m07s` (rounded to whole seconds from a minute on; never `1m60s`). */
export function formatDuration(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : `${m}m${pad(sec)}s`;
}
const fmtS = formatDuration;

/** One JSON object per line on stdout. */
export function jsonRenderer(write: (line: string) => void): Renderer {
  return {
    onEvent: (e) => write(JSON.stringify({ ...e, time: new Date().toISOString() })),
    stop() {},
  };
}

/** Human output on stderr; bars when `tty`. */
export function humanRenderer(
  opts: { tty: boolean; verbose: boolean; err: (line: string) => void },
): Renderer {
  const { err, verbose } = opts;
  let multi: cliProgress.MultiBar | null = null;
  const bars = new Map<string, cliProgress.SingleBar>();
  const lastPlain = new Map<string, number>();
  const log = (line: string) => (multi ? multi.log(line + "\n") : err(line));
  if (opts.tty) {
    multi = new cliProgress.MultiBar({
      format:
        " {clip} {step} [{bar}] {percentage}% {value}/{total} {unit} {rate}/s ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      stream: process.stderr,
      fps: 10,
    }, cliProgress.Presets.shades_classic);
  }
  return {
    onEvent(e) {
      const id = "clip" in e ? `${e.clip}/${"step" in e ? e.step : ""}` : "";
      switch (e.type) {
        case "run_start":
          log(
            `dub: ${e.workflow} — ${e.clips} clip${
              e.clips === 1 ? "" : "s"
            }, media ${e.media}, cache ${e.cacheDir}`,
          );
          break;
        case "step_start":
          if (verbose) {
            log(
              `  ${e.clip} ${e.step} (${e.uses}) key ${e.key.slice(0, 12)}${
                e.cached ? " cached" : ""
              }`,
            );
          }
          break;
        case "step_progress": {
          if (multi && e.total) {
            let bar = bars.get(id);
            const payload = {
              clip: e.clip,
              step: e.step,
              unit: e.unit ?? "",
              rate: (e.ratePerS ?? 0).toFixed(1),
            };
            if (!bar) {
              bar = multi.create(e.total, e.done, payload);
              bars.set(id, bar);
            }
            bar.update(e.done, payload);
          } else if (!multi) {
            const now = Date.now();
            if (now - (lastPlain.get(id) ?? 0) > 5000) {
              lastPlain.set(id, now);
              log(
                `  ${e.clip} ${e.step}: ${e.done}${e.total ? `/${e.total}` : ""} ${e.unit ?? ""}${
                  e.ratePerS ? ` (${e.ratePerS.toFixed(1)}/s)` : ""
                }`,
              );
            }
          }
          break;
        }
        case "notice":
          log(`note: ${e.message}`);
          break;
        case "step_log":
          if (e.level === "warn") {
            log(
              `warning: ${e.clip} ${e.step}: ${e.message}${
                e.cached ? " (from the cached result)" : ""
              }`,
            );
          } else if (verbose) log(`  ${e.clip} ${e.step}: ${e.message}`);
          break;
        case "step_end": {
          const bar = bars.get(id);
          if (bar) {
            multi?.remove(bar);
            bars.delete(id);
          }
          const what = e.status === "cached"
            ? "cached"
            : e.status === "ran"
            ? `done in ${fmtS(e.durationS)}`
            : "FAILED";
          log(`  ${e.clip} ${e.step}: ${what}`);
          break;
        }
        case "output_written":
          log(`  ${e.clip} → ${e.path}`);
          break;
        case "clip_end":
          if (e.status === "failed") log(`  ${e.clip}: FAILED`);
          break;
        case "report_written":
          break; // printed last by the command (src/cli/main.ts)
        case "report_failed":
          log(`warning: the HTML report could not be written: ${e.error}`);
          break;
        case "summary":
          multi?.update(); // flush lines logged since the last redraw
          multi?.stop();
          multi = null;
          err(`${e.ok} ok, ${e.failed} failed in ${fmtS(e.durationS)}; run record: ${e.report}`);
          if (e.ok + e.failed > 1) {
            for (const f of e.failedClips) err(`  failed: ${f.clip}: ${f.error}`);
          }
          break;
      }
    },
    stop() {
      multi?.update();
      multi?.stop();
      multi = null;
    },
  };
}
