/**
 * Reading custom-header fields (extFields) with the checks Java's decodeCommandCustomHeader makes:
 * a missing required field is an error naming the field (Java: "the custom field <x> is null").
 */
export class HeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderError';
  }
}

export class RequestHeader {
  constructor(private readonly ext: Record<string, string> | undefined) {}

  str(name: string): string {
    const v = this.ext?.[name];
    if (v === undefined) throw new HeaderError(`the custom field <${name}> is null`);
    return v;
  }

  optStr(name: string): string | undefined {
    return this.ext?.[name];
  }

  int(name: string): number {
    return this.parseInt(name, this.str(name));
  }

  optInt(name: string, fallback?: number): number | undefined {
    const v = this.ext?.[name];
    if (v === undefined || v === '') return fallback;
    return this.parseInt(name, v);
  }

  /** Java booleans: Boolean.parseBoolean, so anything but "true" is false. */
  bool(name: string, fallback = false): boolean {
    const v = this.ext?.[name];
    if (v === undefined) return fallback;
    return v.toLowerCase() === 'true';
  }

  private parseInt(name: string, v: string): number {
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n)) throw new HeaderError(`the custom field <${name}> is not an integer: "${v}"`);
    return n;
  }
}

/** First of several field names present (SEND_MESSAGE_V2 uses one-letter aliases). */
export function pick(ext: Record<string, string> | undefined, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = ext?.[n];
    if (v !== undefined) return v;
  }
  return undefined;
}
