import { inspect } from 'node:util';

/**
 * A credential read from the environment. It prints as `[redacted]` everywhere (logs, JSON, errors,
 * util.inspect) so that a token cannot leak by accident; `reveal()` is the one way to read it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}
