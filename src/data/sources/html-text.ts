// A small HTML → text extractor (no HTML parser is installed, and documentation pages need only this):
// drops <script>, <style>, <head>, <nav> and comments, turns block-level tags into line breaks,
// removes every other tag, and decodes character references (numeric, and the named ones such pages
// use). It is not a conforming HTML parser: malformed markup degrades to extra or missing breaks,
// never to lost text outside tags. The title is <title>, else the first <h1>.
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™', hellip: '…',
  mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', middot: '·',
  bull: '•', para: '¶', sect: '§', deg: '°', times: '×', divide: '÷', euro: '€', pound: '£', yen: '¥', cent: '¢',
  larr: '←', rarr: '→', uarr: '↑', darr: '↓', harr: '↔', le: '≤', ge: '≥', ne: '≠', minus: '−', shy: '',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

const BLOCK = /<\/?(?:p|div|br|hr|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|section|article|header|footer|pre|blockquote|figure|figcaption|main|aside)\b[^>]*>/gi;

function inlineText(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

export function htmlToText(html: string): { title: string | null; text: string } {
  const titleMatch = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html) ?? /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html);
  const body = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(script|style|head|nav|template|noscript)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(BLOCK, '\n');
  const lines = body.split('\n').map(inlineText).filter((l) => l.length > 0);
  const title = titleMatch ? inlineText(titleMatch[1]) : '';
  return { title: title || null, text: lines.join('\n') };
}
