// Perl POD → plain-text sections. Follows perlpodspec closely enough for Perl's own documentation:
// formatting codes (including C<< >> delimiters and nesting) are rendered the way pod2text reads,
// verbatim paragraphs are kept line-for-line, =begin/=for blocks for other formatters are dropped.
import { collapseWhitespace, dedent, DocSection, Paragraph, trimBlankLines } from './doc-section';

export interface PodParseOptions {
  /**
   * Start a new section at each first-level =item (perlfunc, perlvar: one entry per function or
   * variable). Consecutive items with nothing between them are one entry (`chomp VARIABLE / chomp`).
   */
  splitOnItems?: boolean;
}

const ENTITIES: Record<string, string> = {
  lt: '<', gt: '>', sol: '/', verbar: '|', quot: '"', amp: '&', apos: "'", nbsp: ' ', shy: '', zwj: '',
  zwnj: '', euro: '€', micro: 'µ', szlig: 'ß', eth: 'ð', eacute: 'é', aacute: 'á', auml: 'ä', ouml: 'ö',
  uuml: 'ü', euml: 'ë', Euml: 'Ë', yuml: 'ÿ', aring: 'å', Aring: 'Å', aelig: 'æ', AElig: 'Æ', oslash: 'ø',
  ocirc: 'ô', copy: '©', laquo: '«', raquo: '»',
};

function renderEntity(name: string): string {
  const n = name.trim();
  if (/^0x[0-9a-f]+$/i.test(n)) return String.fromCodePoint(parseInt(n.slice(2), 16));
  if (/^0[0-7]+$/.test(n)) return String.fromCodePoint(parseInt(n, 8));
  if (/^\d+$/.test(n)) return String.fromCodePoint(parseInt(n, 10));
  return ENTITIES[n] ?? n;
}

/** Finds where a formatting code's content ends; returns [contentStart, contentEnd, afterCode]. */
function scanCode(s: string, open: number): [number, number, number] {
  // `open` points at the first '<' after the code letter.
  let n = 0;
  while (s[open + n] === '<') n++;
  if (n >= 2 && /\s/.test(s[open + n] ?? '')) {
    // C<< content >>: ends at whitespace followed by the same number of '>'.
    const closer = new RegExp(`\\s>{${n}}`, 'g');
    closer.lastIndex = open + n;
    const m = closer.exec(s);
    // The whitespace just inside the delimiters is part of the delimiters.
    let start = open + n;
    while (/\s/.test(s[start] ?? '')) start++;
    if (m) return [start, Math.max(start, m.index), m.index + m[0].length];
    return [start, s.length, s.length];
  }
  // Single-bracket form: nested codes (a capital letter directly before '<') must balance.
  let depth = 1;
  let i = open + 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '<' && /[A-Z]/.test(s[i - 1] ?? '')) {
      depth++;
    } else if (c === '>') {
      depth--;
      if (depth === 0) return [open + 1, i, i + 1];
    }
    i++;
  }
  return [open + 1, s.length, s.length];
}

/** Splits L<text|target> at the first '|' that is not inside a nested code. */
function splitLinkText(raw: string): [string | null, string] {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '<' && /[A-Z]/.test(raw[i - 1] ?? '')) depth++;
    else if (c === '>' && depth > 0) depth--;
    else if (c === '|' && depth === 0) return [raw.slice(0, i), raw.slice(i + 1)];
  }
  return [null, raw];
}

function renderLink(raw: string): string {
  const [text, target] = splitLinkText(raw);
  if (text !== null) return renderPodInline(text);
  const t = target.trim();
  if (/^[a-z][a-z0-9+.-]*:[^:\s]\S*$/i.test(t)) return t; // a URL
  const slash = t.indexOf('/');
  if (slash < 0) return renderPodInline(t.replace(/^"(.*)"$/, '$1'));
  const page = renderPodInline(t.slice(0, slash).trim());
  const section = renderPodInline(t.slice(slash + 1).trim().replace(/^"(.*)"$/s, '$1'));
  return page ? `"${section}" in ${page}` : `"${section}"`;
}

/** Renders POD formatting codes (B<>, C<>, I<>, L<>, E<>, F<>, S<>, X<>, Z<>) as plain text. */
export function renderPodInline(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/[A-Z]/.test(c) && s[i + 1] === '<') {
      const [start, end, after] = scanCode(s, i + 1);
      const content = s.slice(start, end);
      switch (c) {
        case 'X': case 'Z': break;
        case 'E': out += renderEntity(content); break;
        case 'L': out += renderLink(content); break;
        default: out += renderPodInline(content); // B, C, I, F, S and unknown codes: their text
      }
      i = after;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function expandTabs(line: string): string {
  let out = '';
  for (const ch of line) {
    if (ch === '\t') out += ' '.repeat(8 - (out.length % 8));
    else out += ch;
  }
  return out;
}

/** POD paragraphs are separated by lines that are empty or hold only whitespace. */
function podParagraphs(source: string): string[] {
  return source.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/).map((p) => p.replace(/^\n+|\n+$/g, '')).filter((p) => p !== '');
}

/**
 * Parses a POD file into sections at =head1..=head4 (levels 0..3; item entries are level 4).
 * Text before the first heading is dropped (POD files start with =head1 NAME).
 */
export function parsePod(source: string, options: PodParseOptions = {}): DocSection[] {
  const sections: DocSection[] = [];
  const headingStack: string[] = []; // heading text per level 0..3
  let current: DocSection | null = null;
  let overDepth = 0;
  let skipUntilEnd: string | null = null; // inside =begin X ... =end X for another formatter
  let pendingBullet: string | null = null; // "- " or "1. " waiting for the item's text
  let itemSectionOpen = false; // the current section is an =item entry still waiting for its body

  const push = (p: Paragraph): void => {
    if (!current) return;
    if (pendingBullet !== null && p.kind === 'prose') {
      p = { kind: 'prose', text: pendingBullet + p.text };
      pendingBullet = null;
    }
    current.paragraphs.push(p);
    itemSectionOpen = false;
  };

  for (const para of podParagraphs(source)) {
    const command = /^=([a-zA-Z]\w*)\s*([\s\S]*)$/.exec(para);
    if (skipUntilEnd !== null) {
      if (command && command[1] === 'end' && command[2].trim().split(/\s+/)[0] === skipUntilEnd) skipUntilEnd = null;
      continue;
    }
    if (command) {
      const [, name, rest] = command;
      const headLevel = /^head([1-4])$/.exec(name);
      if (headLevel) {
        const level = Number(headLevel[1]) - 1;
        const heading = collapseWhitespace(renderPodInline(rest));
        headingStack.length = level;
        const ancestors = headingStack.slice(0, level).filter((h) => h !== undefined);
        headingStack[level] = heading;
        current = { level, heading, ancestors, paragraphs: [] };
        sections.push(current);
        overDepth = 0;
        pendingBullet = null;
        itemSectionOpen = false;
        continue;
      }
      switch (name) {
        case 'over': overDepth++; break;
        case 'back': overDepth = Math.max(0, overDepth - 1); pendingBullet = null; break;
        case 'begin': {
          const format = rest.trim().split(/\s+/)[0] ?? '';
          if (!/^:?text$/.test(format)) skipUntilEnd = format;
          break;
        }
        case 'item': {
          const label = collapseWhitespace(renderPodInline(rest));
          if (options.splitOnItems && overDepth === 1 && current && !/^(\*|\d+\.?)?$/.test(label) && !label.startsWith('* ')) {
            if (itemSectionOpen) {
              current.heading += ` / ${label}`; // another spelling of the same entry
            } else {
              const ancestors = headingStack.filter((h) => h !== undefined);
              current = { level: 4, heading: label, ancestors, paragraphs: [] };
              sections.push(current);
              itemSectionOpen = true;
            }
            break;
          }
          const bullet = /^(\*|\d+\.?)(?:\s+([\s\S]*))?$/.exec(label);
          if (bullet) {
            const marker = bullet[1] === '*' ? '- ' : `${bullet[1].replace(/\.?$/, '.')} `;
            if (bullet[2]) push({ kind: 'prose', text: marker + bullet[2] });
            else pendingBullet = marker;
          } else if (label) {
            push({ kind: 'prose', text: label });
          }
          break;
        }
        default: break; // =pod, =cut, =encoding, =for (other formatters), unknown commands
      }
      continue;
    }
    if (/^[ \t]/.test(para)) {
      const lines = trimBlankLines(dedent(para.split('\n').map(expandTabs)));
      if (lines.length > 0) push({ kind: 'verbatim', text: lines.join('\n') });
      continue;
    }
    const text = collapseWhitespace(renderPodInline(para));
    if (text) push({ kind: 'prose', text });
  }
  return sections;
}

/** The one-line description from "=head1 NAME" ("perlfaq4 - Data Manipulation"), if present. */
export function podTitle(sections: DocSection[]): string | null {
  const name = sections.find((s) => s.level === 0 && s.heading === 'NAME');
  const first = name?.paragraphs[0];
  return first ? first.text : null;
}
