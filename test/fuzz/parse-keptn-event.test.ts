import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  createFinishedEvent,
  createStartedEvent,
  parseKeptnEvent,
  parseTaskEventType,
  type ParseResult,
} from '../../lib/index.js';
import { fixturePath } from '../support/paths.js';
import { mutatedJson, mutatedText } from './mutations.js';

const REASONS = ['empty', 'invalid-json', 'not-an-object', 'missing-field', 'invalid-field'];
const STRING_FIELDS = [
  'id',
  'source',
  'specversion',
  'time',
  'contenttype',
  'datacontenttype',
  'shkeptncontext',
  'shkeptnspecversion',
  'triggeredid',
  'gitcommitid',
];
const fixtures = readdirSync(fixturePath('keptn'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => readFileSync(fixturePath('keptn', f), 'utf8'));

/** Throws unless `result` is a well-formed failure or an event whose fields have the promised types. */
function checkResult(result: ParseResult): void {
  if (!result.ok) {
    expect(REASONS).to.include(result.reason);
    expect(result.error).to.be.a('string').that.is.not.empty;
    return;
  }
  const event = result.event as unknown as Record<string, unknown>;
  expect(event.type).to.be.a('string').that.is.not.empty;
  for (const field of STRING_FIELDS)
    if (event[field] !== undefined && event[field] !== null) expect(event[field], field).to.be.a('string');
  expect(event.data).to.be.an('object').and.not.an('array');
  expect(event.data).to.not.equal(null);
}

const parseChecked = (input: string | Uint8Array) => {
  let result: ParseResult;
  expect(() => (result = parseKeptnEvent(input))).to.not.throw();
  checkResult(result!);
  return result!;
};

describe('parseKeptnEvent under fuzzing', () => {
  it('finds fixtures to mutate', () => {
    expect(fixtures.length).to.be.at.least(5);
    for (const text of fixtures) expect(parseChecked(text).ok).to.equal(true);
  });

  it('never throws on arbitrary strings and answers a failure with a reason and an error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite' }), (s) => void parseChecked(s)),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes, views into larger buffers included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat({ max: 16 }), (bytes, offset) => {
        parseChecked(bytes);
        const padded = new Uint8Array(bytes.length + offset * 2);
        padded.set(bytes, offset);
        parseChecked(padded.subarray(offset, offset + bytes.length));
      }),
      { numRuns: 500 },
    );
  });

  it('reads the same event from a string and from its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        expect(parseChecked(new TextEncoder().encode(text))).to.deep.equal(parseChecked(text));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a JSON object exactly when it has a string type and well-typed fields', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parseChecked(JSON.stringify(value) ?? 'null');
        const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
        if (!isObject) expect(result.ok).to.equal(false);
        if (result.ok) expect(result.event.type).to.equal((value as { type: unknown }).type);
      }),
      { numRuns: 500 },
    );
  });

  it('answers a mutated fixture event with a valid event or a well-formed failure', () => {
    const events = fixtures.map((t) => JSON.parse(t) as unknown);
    fc.assert(
      fc.property(
        fc.constantFrom(...events).chain((e) => mutatedJson(e)),
        (doc) => {
          const result = parseChecked(JSON.stringify(doc) ?? '');
          const raw = doc as Record<string, unknown> | null;
          if (result.ok) expect(result.event.type).to.equal(raw?.type);
          if (raw && typeof raw === 'object' && !Array.isArray(raw) && typeof raw.type !== 'string')
            expect(result.ok).to.equal(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers every accepted task trigger with a .started and a .finished the CloudEvents SDK validates', () => {
    const triggers = fixtures
      .map((t) => JSON.parse(t) as Record<string, unknown>)
      .filter((e) => parseTaskEventType(String(e.type))?.kind === 'triggered');
    expect(triggers).to.not.be.empty;
    fc.assert(
      fc.property(
        fc.constantFrom(...triggers).chain((e) => mutatedJson(e)),
        (doc) => {
          const result = parseChecked(JSON.stringify(doc) ?? '');
          if (!result.ok || parseTaskEventType(result.event.type)?.kind !== 'triggered') return;
          expect(() => createStartedEvent(result.event, 'gitops-service')).to.not.throw();
          expect(() =>
            createFinishedEvent(result.event, 'gitops-service', { message: 'done' }),
          ).to.not.throw();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on fixture text cut, spliced or with a character changed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fixtures).chain(mutatedText), (text) => void parseChecked(text)),
      { numRuns: 1000 },
    );
  });
});
