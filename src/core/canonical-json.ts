import { compareText } from './ordering.js';

/**
 * Canonical JSON: object keys sorted, no whitespace, only JSON-safe values. Two configs that differ
 * only in key order or formatting serialize identically, so they hash to the same artifact key.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${where} is ${value}, not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${where}[${i}]`)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareText(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v, `${where}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${where} is a ${typeof value}, which JSON cannot carry`);
  }
}
