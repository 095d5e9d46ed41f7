// Which documents ingest accepts, and the reason it gives for the ones it skips.
import { classifyDoc, corpusFingerprint } from '../../src/rag/ingest';

const PROSE = 'On decoding, invalid bytes are replaced with a marker and the rest of the text is kept as it was. '.repeat(30);

function reason(doc: unknown, maxBytes = 10_000, seen = new Set<string>()): string {
  const c = classifyDoc(doc, 0, maxBytes, seen);
  return c.ok ? 'ok' : c.reason;
}

test.each([
  ['plain prose', { doc_id: 'a', title: 'T', text: PROSE.slice(0, 500) }, 'ok'],
  ['no title (defaults to empty)', { doc_id: 'a', text: 'some text' }, 'ok'],
  ['valid UTF-8 bytes', { doc_id: 'a', title: 'T', text: new TextEncoder().encode('naïve café 日本') }, 'ok'],
  ['documentation that mentions U+FFFD once or twice', { doc_id: 'a', title: 'T', text: `${PROSE} use \uFFFD (U+FFFD) … or \uFFFD` }, 'ok'],
  ['tabs, form feeds and CRLF are text', { doc_id: 'a', title: 'T', text: 'a\tb\fc\r\nd\ve' }, 'ok'],
  ['empty', { doc_id: 'a', title: 'T', text: '' }, 'empty'],
  ['whitespace only', { doc_id: 'a', title: 'T', text: ' \n\u00A0\t' }, 'empty'],
  ['NUL byte', { doc_id: 'a', title: 'T', text: `${PROSE}\u0000` }, 'binary'],
  ['many control characters', { doc_id: 'a', title: 'T', text: `${'\u0001\u0002\u0003'.repeat(20)}${PROSE.slice(0, 1000)}` }, 'binary'],
  ['invalid UTF-8 bytes', { doc_id: 'a', title: 'T', text: Uint8Array.from([0x61, 0xff, 0x62]) }, 'invalid_utf8'],
  ['truncated multi-byte sequence', { doc_id: 'a', title: 'T', text: Uint8Array.from([0x61, 0xe6, 0x97]) }, 'invalid_utf8'],
  ['lossy decode: replacement characters in a short text', { doc_id: 'a', title: 'T', text: 'caf\uFFFD cr\uFFFDme' }, 'invalid_utf8'],
  ['lossy decode: a run of replacement characters', { doc_id: 'a', title: 'T', text: `${PROSE}\uFFFD\uFFFD${PROSE}` }, 'invalid_utf8'],
  ['lone surrogate', { doc_id: 'a', title: 'T', text: 'x\uDC00y' }, 'invalid_utf8'],
  ['over the byte limit (multi-byte characters counted as bytes)', { doc_id: 'a', title: 'T', text: '日'.repeat(3400) }, 'too_large'],
  ['no doc_id', { title: 'T', text: 'x' }, 'malformed'],
  ['text is a number', { doc_id: 'a', title: 'T', text: 5 }, 'malformed'],
  ['null', null, 'malformed'],
  ['a string', 'just a string', 'malformed'],
])('%s → %s', (_name, doc, expected) => {
  expect(reason(doc)).toBe(expected);
});

test('a second document with the same doc_id is skipped, the first kept', () => {
  const seen = new Set<string>();
  expect(reason({ doc_id: 'x', text: 'one' }, 10_000, seen)).toBe('ok');
  expect(reason({ doc_id: 'x', text: 'two' }, 10_000, seen)).toBe('duplicate_doc_id');
  expect(reason({ doc_id: 'y', text: '' }, 10_000, seen)).toBe('empty');
  expect(reason({ doc_id: 'y', text: 'now with text' }, 10_000, seen)).toBe('ok'); // a skipped doc does not claim its id
});

test('the corpus fingerprint changes with any document, its order, or its bytes', () => {
  const docs = [{ doc_id: 'a', title: 'A', text: 'x' }, { doc_id: 'b', title: 'B', text: new TextEncoder().encode('y') }];
  const f = corpusFingerprint(docs);
  expect(corpusFingerprint(docs.map((d) => ({ ...d })))).toBe(f);
  expect(corpusFingerprint([...docs].reverse())).not.toBe(f);
  expect(corpusFingerprint([docs[0], { ...docs[1], text: new TextEncoder().encode('z') }])).not.toBe(f);
  expect(corpusFingerprint([{ ...docs[0], title: 'A2' }, docs[1]])).not.toBe(f);
  expect(corpusFingerprint(docs.slice(0, 1))).not.toBe(f);
});
