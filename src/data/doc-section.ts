// The plain-text shape both markup converters (POD, reST) produce: a document split into sections,
// each a list of paragraphs whose kind says whether it is running prose (answer spans are taken from
// prose only) or text kept line-for-line (code, signatures, tables).

export type ParagraphKind = 'prose' | 'verbatim';

export interface Paragraph {
  kind: ParagraphKind;
  text: string;
}

export interface DocSection {
  /** 0 = the outermost heading style found in the file. */
  level: number;
  /** The section's own heading, as plain text. */
  heading: string;
  /** Headings of the enclosing sections, outermost first. */
  ancestors: string[];
  paragraphs: Paragraph[];
}

/** Paragraphs are separated by one blank line; answer offsets are computed against this exact join. */
export const PARAGRAPH_SEPARATOR = '\n\n';

export function sectionText(paragraphs: Paragraph[]): string {
  return paragraphs.map((p) => p.text).join(PARAGRAPH_SEPARATOR);
}

/** Runs of whitespace (including the line breaks of a reflowed paragraph) become one space. */
export function collapseWhitespace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Removes the common leading indentation of a block, keeping relative indentation (code stays readable). */
export function dedent(lines: string[]): string[] {
  let min = Infinity;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    if (indent < min) min = indent;
  }
  if (!Number.isFinite(min) || min === 0) return lines.map((l) => l.trimEnd());
  return lines.map((l) => (l.trim() === '' ? '' : l.slice(min).trimEnd()));
}

/** Drops blank lines at either end of a block. */
export function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === '') start++;
  while (end > start && lines[end - 1].trim() === '') end--;
  return lines.slice(start, end);
}
