// A directory tree of documents: .md, .markdown, .txt, .rst, .html, .htm (other files are skipped).
// doc id = path relative to the root (with '/'), title = the first heading (Markdown '#', a reST
// section title, HTML <title>/<h1>) or else the file name. Text: Markdown and plain text as written,
// reST through src/data/rst-to-text.ts, HTML through html-text.ts. Files are visited in sorted order,
// one at a time; a file that is not valid UTF-8 or has no text is a problem naming the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sectionText } from '../doc-section';
import { parseRst } from '../rst-to-text';
import { documentContentHash } from '../../rag/corpus-fingerprint';
import { htmlToText } from './html-text';
import { report, type CorpusSource, type ReadOptions, type SourceDoc } from './types';

export const TREE_EXTENSIONS = ['.md', '.markdown', '.txt', '.rst', '.html', '.htm'];
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Relative paths of the files to read, sorted (deterministic order on every file system). */
function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // .git, editor files
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else if (e.isFile() && TREE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(r);
  }
  return out;
}

function markdownTitle(text: string): string | null {
  const atx = /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(text);
  if (atx) return atx[1].trim();
  const setext = /^(\S[^\n]*)\n(=+|-+)[ \t]*$/m.exec(text);
  return setext ? setext[1].trim() : null;
}

export function extractFile(rel: string, content: string): { title: string; text: string } {
  const ext = path.extname(rel).toLowerCase();
  const fallback = path.basename(rel, path.extname(rel));
  if (ext === '.html' || ext === '.htm') {
    const h = htmlToText(content);
    return { title: h.title ?? fallback, text: h.text };
  }
  if (ext === '.rst') {
    const sections = parseRst(content);
    if (sections.length === 0) return { title: fallback, text: content.trim() };
    return { title: sections[0].heading || fallback, text: sections.map((s) => [s.heading, sectionText(s.paragraphs)].filter(Boolean).join('\n\n')).join('\n\n') };
  }
  const text = content.replace(/\r\n?/g, '\n').trim();
  return { title: (ext === '.txt' ? null : markdownTitle(text)) ?? fallback, text };
}

export class TreeSource implements CorpusSource {
  readonly kind = 'dir' as const;
  readonly location: string;

  constructor(dir: string) {
    this.location = path.resolve(dir);
  }

  async *docs(options?: ReadOptions): AsyncGenerator<SourceDoc> {
    if (!fs.existsSync(this.location) || !fs.statSync(this.location).isDirectory()) {
      report(options, { at: this.location, field: '(dir)', message: 'is not a directory' });
      return;
    }
    const files = listFiles(this.location);
    let docs = 0;
    let bytes = 0;
    for (const rel of files) {
      const file = path.join(this.location, rel);
      const raw = await fs.promises.readFile(file);
      bytes += raw.length;
      const at = `${file}:1`;
      let content: string;
      try {
        content = decoder.decode(raw);
      } catch {
        report(options, { at, field: '(file)', message: 'not valid UTF-8' });
        continue;
      }
      const { title, text } = extractFile(rel, content);
      if (text.trim() === '') {
        report(options, { at, field: 'text', message: 'no text in the file' });
        continue;
      }
      const doc = { id: rel, title, text, metadata: { path: rel } };
      docs++;
      yield { ...doc, at, sha256: documentContentHash(doc.title, doc.text) };
      options?.onProgress?.({ docs, bytes, totalBytes: null });
    }
    if (docs === 0 && files.length === 0) report(options, { at: this.location, field: '(dir)', message: `empty corpus: no ${TREE_EXTENSIONS.join(' ')} files` });
  }
}
