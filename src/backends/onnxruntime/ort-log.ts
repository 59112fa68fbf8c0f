/**
 * How much of ONNX Runtime's own logging reaches stderr. ORT writes it natively (coloured, before
 * kiln's one line), and the Node binding cannot route it through kiln, so kiln picks its severity:
 * errors only by default, warnings too with `--verbose` (ORT severities: 0 verbose … 4 fatal).
 */
import ort from 'onnxruntime-node';

const ERROR = 3;
const WARNING = 2;

let severity: 2 | 3 = ERROR;
// The environment's logger (used before and outside any session) starts quiet too.
ort.env.logLevel = 'error';

/** Lets ORT's warnings through (`--verbose`), or keeps it to errors. */
export function setOrtVerbose(verbose: boolean): void {
  severity = verbose ? WARNING : ERROR;
  ort.env.logLevel = verbose ? 'warning' : 'error';
}

/** The `logSeverityLevel` for every session kiln creates. */
export function ortLogSeverity(): 2 | 3 {
  return severity;
}
