import * as core from '@actions/core';

/** The Action's side channels to the workflow run, behind an interface so commands test directly. */
export interface ActionIO {
  info(message: string): void;
  warning(message: string): void;
  setOutput(name: string, value: string): void;
  /** Appends Markdown to the job summary ($GITHUB_STEP_SUMMARY). */
  writeSummary(markdown: string): Promise<void>;
}

/** ActionIO on @actions/core. */
export function coreIO(): ActionIO {
  return {
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    setOutput: (name, value) => core.setOutput(name, value),
    writeSummary: async (markdown) => {
      await core.summary.addRaw(markdown, true).write();
    },
  };
}
