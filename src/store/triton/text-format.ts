/**
 * A tiny protobuf text-format writer, enough for Triton's `config.pbtxt`: strings, integers,
 * booleans, enum names, repeated integers in `[a, b]` form and nested messages. Triton parses the
 * file with protobuf's C++ TextFormat, so every string is escaped the way that parser reads it.
 */

/** An enum value: printed as its bare name (`TYPE_FP32`), never quoted. */
export interface TextEnum {
  enum: string;
}

/** A repeated integer field printed in list form: `dims: [1, 3, 48, 192]`. */
export interface TextIntList {
  list: readonly number[];
}

/** A nested message: fields in print order. A repeated field is several fields with one name. */
export interface TextMessage {
  fields: readonly TextField[];
}

/** One field value of a text-format message. */
export type TextValue = string | number | boolean | TextEnum | TextIntList | TextMessage;

/** `[name, value]`: one field of a text-format message. */
export type TextField = readonly [name: string, value: TextValue];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDENT = '  ';
const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x09: '\\t',
  0x0a: '\\n',
  0x0d: '\\r',
  0x22: '\\"',
  0x27: "\\'",
  0x5c: '\\\\',
};

/**
 * A string literal protobuf's text-format tokenizer reads back as `text`: the UTF-8 bytes, with
 * quotes, backslashes and the usual control characters as C escapes and every other byte outside
 * printable ASCII as a three-digit octal escape (what C++ `CEscape` writes), so the file is plain
 * ASCII whatever the tensor or release names hold.
 */
export function quoteTextString(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    const escape = NAMED_ESCAPES[byte];
    if (escape !== undefined) out += escape;
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

function checkIdentifier(name: string, what: string): string {
  // Names come from this module's callers, never from users: a bad one is a programming error.
  if (!IDENTIFIER.test(name)) throw new Error(`text format: ${what} '${name}' is not an identifier`);
  return name;
}

function formatInteger(value: number, field: string): string {
  if (!Number.isSafeInteger(value)) throw new Error(`text format: ${field}: ${value} is not an integer`);
  return String(value);
}

function formatScalar(name: string, value: Exclude<TextValue, TextMessage>): string {
  if (typeof value === 'string') return quoteTextString(value);
  if (typeof value === 'number') return formatInteger(value, name);
  if (typeof value === 'boolean') return String(value);
  if ('enum' in value) return checkIdentifier(value.enum, 'enum value');
  return `[${value.list.map((v) => formatInteger(v, name)).join(', ')}]`;
}

function formatFields(fields: readonly TextField[], depth: number, lines: string[]): void {
  const pad = INDENT.repeat(depth);
  for (const [name, value] of fields) {
    checkIdentifier(name, 'field name');
    if (typeof value === 'object' && 'fields' in value) {
      lines.push(`${pad}${name} {`);
      formatFields(value.fields, depth + 1, lines);
      lines.push(`${pad}}`);
    } else {
      lines.push(`${pad}${name}: ${formatScalar(name, value)}`);
    }
  }
}

/**
 * `message` in text format, one field per line, nested messages indented; `header` lines are
 * written first as `#` comments.
 */
export function formatTextMessage(message: TextMessage, header: readonly string[] = []): string {
  // A line break inside a comment would end it and turn the rest into fields.
  const lines = header.map((line) => `# ${line.replace(/[\r\n]+/g, ' ')}`.trimEnd());
  formatFields(message.fields, 0, lines);
  return `${lines.join('\n')}\n`;
}
