/**
 * What a build job that failed says about itself, uploaded with its results as `failure.json`, so
 * the report's line for that target carries the job's own reason instead of "produced no results".
 */
export interface BuildFailure {
  schema: 'kiln.build-failure/v1';
  target: string;
  /** The model of the job; '' when the job built every model of the target. */
  model: string;
  /** 1: a gate failed (the results say which); 2: kiln could not build or bench. */
  exitCode: number;
  reason: string;
}

export const BUILD_FAILURE_FILE = 'failure.json';

/** A failure record read back, or undefined when the JSON is not one (never trusted further). */
export function asBuildFailure(data: unknown): BuildFailure | undefined {
  const d = data as Partial<BuildFailure> | null;
  if (
    d?.schema !== 'kiln.build-failure/v1' ||
    typeof d.target !== 'string' ||
    typeof d.model !== 'string' ||
    typeof d.exitCode !== 'number' ||
    typeof d.reason !== 'string'
  ) {
    return undefined;
  }
  const clip = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);
  return { ...d, target: clip(d.target), model: clip(d.model), reason: clip(d.reason) } as BuildFailure;
}
