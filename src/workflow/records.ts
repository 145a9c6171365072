/**
 * What runs leave behind besides cache entries, behind a small interface: the
 * explain state per clip (what `dub plan` compares against) and the run reports.
 * The folder implementation keeps them beside the cache (`state/`, `runs/`).
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { writeFileAtomic } from "../atomic.ts";
import { hashJson } from "./cache.ts";
import type { RunReportFile } from "./events.ts";
import type { ExplainState } from "./resolve.ts";

export interface RunRecords {
  /** The last recorded state of a clip of a workflow (empty if none or unreadable). */
  readState(workflow: string, clip: string): Promise<ExplainState>;
  writeState(workflow: string, clip: string, state: ExplainState): Promise<void>;
  /** Keep a run's report; returns where it went (for the summary line). */
  writeRun(report: RunReportFile): Promise<string>;
}

export class FolderRunRecords implements RunRecords {
  constructor(readonly root: string) {}

  #statePath(workflow: string, clip: string): string {
    return join(this.root, "state", `${hashJson([workflow, clip]).slice(0, 32)}.json`);
  }

  async readState(workflow: string, clip: string): Promise<ExplainState> {
    try {
      return JSON.parse(await Deno.readTextFile(this.#statePath(workflow, clip))) as ExplainState;
    } catch {
      return { steps: {} };
    }
  }

  async writeState(workflow: string, clip: string, state: ExplainState): Promise<void> {
    await writeFileAtomic(this.#statePath(workflow, clip), JSON.stringify(state, null, 2) + "\n", {
      mkdir: true,
    });
  }

  async writeRun(report: RunReportFile): Promise<string> {
    const file = join(
      this.root,
      "runs",
      `${report.startedAt.replace(/[:.]/g, "-")}-${
        basename(report.workflow, extname(report.workflow))
      }.json`,
    );
    await writeFileAtomic(file, JSON.stringify(report, null, 2) + "\n", { mkdir: true });
    return file;
  }
}
