// A text file read as a stream of lines with their 1-based numbers: memory bounded by the longest line
// plus one read buffer. Every line is checked to be valid UTF-8 (a fatal decoder, so a bad byte is a
// reported problem, not a silent U+FFFD in the corpus).
import * as fs from 'node:fs';
import { report, type ReadOptions } from './types';

export interface Line {
  /** 1-based. */
  number: number;
  /** null when the bytes are not valid UTF-8. */
  text: string | null;
  /** Bytes read from the file so far (for progress). */
  bytesRead: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): string | null {
  try {
    return decoder.decode(bytes).replace(/\r$/, '');
  } catch {
    return null;
  }
}

export async function* readLines(file: string, highWaterMark = 1 << 20): AsyncGenerator<Line> {
  let carry: Buffer = Buffer.alloc(0);
  let number = 0;
  let bytesRead = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark }) as AsyncIterable<Buffer>) {
    bytesRead += chunk.length;
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      number++;
      yield { number, text: decode(buf.subarray(start, nl)), bytesRead };
      start = nl + 1;
    }
    // Copy the tail: a subarray would pin the whole read buffer.
    carry = Buffer.from(buf.subarray(start));
    buf = carry;
  }
  if (carry.length) {
    number++;
    yield { number, text: decode(carry), bytesRead };
  }
}

/** A readable, non-blank line, with `file:line`. */
export interface TextLine {
  at: string;
  number: number;
  text: string;
  bytesRead: number;
}

/** The non-blank lines of a file; each line that is not UTF-8 is one reported problem, and reading goes on. */
export async function* textLines(file: string, options?: ReadOptions): AsyncGenerator<TextLine> {
  for await (const line of readLines(file)) {
    const at = `${file}:${line.number}`;
    if (line.text === null) {
      report(options, { at, field: '(line)', message: 'not valid UTF-8' });
      continue;
    }
    if (line.text.trim() === '') continue;
    yield { at, number: line.number, text: line.text, bytesRead: line.bytesRead };
  }
}

/** The file's size, or null when it cannot be read (the reader reports that). */
export function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}
