// reStructuredText (Sphinx flavour, as in CPython's docs) → plain-text sections. Handles what the
// Python documentation uses: section adornments, Sphinx roles (:func:`x` → x()), hyperlinks, literal
// blocks after '::', doctest blocks, lists, tables kept as text, and directives: admonitions keep their
// text with a label, API signatures stay as lines, code blocks stay verbatim, index/toctree/labels go.
import { collapseWhitespace, dedent, DocSection, Paragraph, trimBlankLines } from './doc-section';

const ADORNMENT = /^([=\-`:'"~^_*+#<>])\1{2,}\s*$/;
const TRANSITION = /^([=\-`:'"~^_*+#<>])\1{3,}\s*$/;

/** Directives whose whole block carries nothing a reader of the text needs. */
const DROPPED = new Set([
  'index', 'toctree', 'contents', 'highlight', 'sectionauthor', 'moduleauthor', 'codeauthor', 'module',
  'currentmodule', 'testsetup', 'testcleanup', 'image', 'figure', 'tabularcolumns', 'raw', 'include',
  'literalinclude', 'audit-event', 'audit-event-table', 'program', 'default-role', 'role', 'c:namespace',
  'c:namespace-push', 'c:namespace-pop', 'py:module', 'py:currentmodule', 'toctree-glob', 'autosummary',
  'limited-api-list', 'miscnews', 'git_changelog', 'include-literal',
]);
/** Directives whose content is code or output, kept line for line. */
const LITERAL = new Set([
  'code-block', 'code', 'sourcecode', 'doctest', 'testcode', 'testoutput', 'productionlist', 'parsed-literal',
]);
const ADMONITION_LABELS: Record<string, string> = {
  note: 'Note:', warning: 'Warning:', important: 'Important:', tip: 'Tip:', caution: 'Caution:',
  attention: 'Attention:', danger: 'Danger:', error: 'Error:', hint: 'Hint:', seealso: 'See also:',
  'impl-detail': 'CPython implementation detail:',
};
/** API description directives: their argument lines are signatures. */
const SIGNATURE = new Set([
  'function', 'method', 'class', 'attribute', 'data', 'exception', 'decorator', 'decoratormethod',
  'classmethod', 'staticmethod', 'coroutinefunction', 'coroutinemethod', 'abstractmethod', 'opcode',
  'envvar', 'option', 'cmdoption', 'describe', 'pdbcommand', 'object', 'awaitablefunction',
  'awaitablemethod', 'property', 'type', 'exception-class', 'monitoring-event',
]);

function renderRole(role: string | undefined, content: string): string {
  const name = role ? role.slice(1, -1).replace(/^py:|^c:/, '') : '';
  const titled = /^([\s\S]*?)\s*<([^<>]+)>$/.exec(content);
  if (name === 'pep' || name === 'rfc') {
    const number = titled ? titled[1] : content.replace(/#.*$/, '');
    return titled ? number : `${name.toUpperCase()} ${number}`;
  }
  if (titled && titled[1] !== '') return titled[1];
  let target = content.trim();
  if (target.startsWith('!')) target = target.slice(1);
  if (target.startsWith('~')) target = target.slice(1).split('.').pop() ?? target;
  // Sphinx appends "()" to function and method references (add_function_parentheses).
  if ((name === 'func' || name === 'meth') && !target.endsWith(')')) target += '()';
  return target;
}

/** Renders inline markup: ``literal``, :role:`x`, `link <url>`_, *emphasis*, **strong**, |subst|. */
export function renderRstInline(s: string): string {
  const token =
    /``([\s\S]+?)``(?!`)|(:[\w:.+-]+:)?`((?:[^`\\]|\\.)+)`(:[\w:.+-]+:)?(?:__?)?|(?<![\w*])\*\*(\S(?:[\s\S]*?\S)?)\*\*(?![\w*])|(?<![\w*])\*([^*\s](?:[^*]*[^*\s])?)\*(?![\w*])|(?<!\w)\|([\w .-]+)\|_{0,2}(?!\w)|\s?\[(?:#\w*|\d+|\*)\]_/g;
  let out = '';
  let last = 0;
  for (let m = token.exec(s); m !== null; m = token.exec(s)) {
    out += unescape(s.slice(last, m.index));
    if (m[1] !== undefined) out += m[1];
    else if (m[3] !== undefined) out += renderRole(m[2] ?? m[4], m[3].replace(/\\(.)/g, '$1'));
    else if (m[5] !== undefined) out += unescape(m[5]);
    else if (m[6] !== undefined) out += unescape(m[6]);
    else if (m[7] !== undefined) out += m[7];
    last = m.index + m[0].length;
  }
  return out + unescape(s.slice(last));
}

function unescape(s: string): string {
  return s.replace(/\\(\s)/g, '').replace(/\\(.)/g, '$1');
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

const isBlank = (line: string | undefined): boolean => line === undefined || line.trim() === '';

/** Index just past the block of lines indented at least `min`, allowing blank lines inside it. */
function endOfIndented(lines: string[], from: number, min: number): number {
  let j = from;
  let lastContent = from;
  while (j < lines.length && (isBlank(lines[j]) || indentOf(lines[j]) >= min)) {
    if (!isBlank(lines[j])) lastContent = j + 1;
    j++;
  }
  return Math.max(lastContent, from);
}

function prefixFirstProse(paragraphs: Paragraph[], label: string): Paragraph[] {
  if (paragraphs[0]?.kind === 'prose') {
    return [{ kind: 'prose', text: `${label} ${paragraphs[0].text}` }, ...paragraphs.slice(1)];
  }
  return [{ kind: 'prose', text: label }, ...paragraphs];
}

function directiveLabel(name: string, arg: string): string | null {
  const admonition = ADMONITION_LABELS[name];
  if (admonition) return arg ? `${admonition} ${arg}` : admonition;
  const version = /^(\S+)\s*([\s\S]*)$/.exec(arg);
  const [v, rest] = version ? [version[1], version[2]] : ['', ''];
  const tail = rest ? ` ${rest}` : '';
  switch (name) {
    case 'versionadded': return `New in version ${v}.${tail}`;
    case 'versionchanged': return `Changed in version ${v}:${tail}`;
    case 'deprecated': return `Deprecated since version ${v}:${tail}`;
    case 'deprecated-removed': {
      const [since, removed, ...more] = arg.split(/\s+/);
      return `Deprecated since version ${since}, will be removed in version ${removed}:${more.length ? ` ${more.join(' ')}` : ''}`;
    }
    case 'availability': return `Availability: ${arg}`;
    case 'admonition': case 'topic': case 'sidebar': case 'rubric': case 'centered': return arg || null;
    default: return null;
  }
}

/** Converts one explicit-markup block (".. name:: arg" plus its indented body) into paragraphs. */
function convertDirective(first: string, body: string[]): Paragraph[] {
  const m = /^\.\.\s+([\w:.-]+)::(?:\s+(.*))?$/.exec(first.trimEnd());
  if (!m) return []; // a comment, a hyperlink target (.. _x:), a footnote or a substitution definition
  const name = m[1].toLowerCase();
  if (DROPPED.has(name)) return [];
  const lines = dedent(body);
  // Header = argument continuation and :options:, up to the first blank line; then the content.
  const blank = lines.findIndex((l) => l.trim() === '');
  const headerEnd = blank < 0 ? lines.length : blank;
  const header = lines.slice(0, headerEnd).filter((l) => !/^:[\w-]+:/.test(l.trim()));
  const content = trimBlankLines(lines.slice(headerEnd));
  const arg = m[2]?.trim() ?? '';

  if (LITERAL.has(name)) {
    const code = trimBlankLines(dedent(name === 'productionlist' ? [...header, ...content] : content));
    return code.length ? [{ kind: 'verbatim', text: code.join('\n') }] : [];
  }
  const baseName = name.replace(/^(py|c|cpp|std|rst):/, '');
  if (SIGNATURE.has(baseName) || name.includes(':')) {
    const signatures = [arg, ...header.map((l) => l.trim())].filter((l) => l !== '').map(renderRstInline);
    const out: Paragraph[] = signatures.length ? [{ kind: 'verbatim', text: signatures.join('\n') }] : [];
    return [...out, ...convertRstBlocks(content)];
  }
  if (name === 'only') return convertRstBlocks(lines); // ".. only:: html" keeps its content
  const label = directiveLabel(name, renderRstInline(collapseWhitespace([arg, ...header].join(' '))));
  const inner = convertRstBlocks(name === 'rubric' ? [] : content);
  // Unknown directives keep their content (and argument, which is usually a title).
  if (label === null) return arg ? [{ kind: 'prose', text: renderRstInline(arg) }, ...inner] : inner;
  return prefixFirstProse(inner, label);
}

const BULLET = /^([*+\-•]|#\.|\d+[.)]|\(\d+\))(\s+)(\S.*)$/;
const TABLE_BORDER = /^(\+[-=+]+\+|=+( +=+)+)\s*$/;

/** Converts a run of body lines (a section's text, or a directive's content) into paragraphs. */
export function convertRstBlocks(lines: string[]): Paragraph[] {
  const out: Paragraph[] = [];
  let literalNext = false; // the previous paragraph ended with '::'
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }
    if (indentOf(line) > 0) {
      const j = endOfIndented(lines, i, 1);
      const block = trimBlankLines(dedent(lines.slice(i, j)));
      if (literalNext) out.push({ kind: 'verbatim', text: block.join('\n') });
      else out.push(...convertRstBlocks(block)); // a block quote or a definition
      literalNext = false;
      i = j;
      continue;
    }
    literalNext = false;
    if (line.startsWith('..') && (line.length === 2 || /\s/.test(line[2]))) {
      const j = endOfIndented(lines, i + 1, 1);
      out.push(...convertDirective(line, lines.slice(i + 1, j)));
      i = j;
      continue;
    }
    if (TRANSITION.test(line) && isBlank(lines[i + 1])) { i++; continue; }
    if (line.startsWith('>>>')) {
      let j = i;
      while (j < lines.length && !isBlank(lines[j])) j++;
      out.push({ kind: 'verbatim', text: lines.slice(i, j).map((l) => l.trimEnd()).join('\n') });
      i = j;
      continue;
    }
    if (TABLE_BORDER.test(line)) {
      let j = i;
      while (j < lines.length && !isBlank(lines[j])) j++;
      const rows = lines.slice(i, j).filter((l) => !TABLE_BORDER.test(l) && !/^[-=+ ]+$/.test(l));
      // Cells are rendered one by one: markup never spans a cell border.
      const text = rows.map((row) => row.split('|').map((cell) => renderRstInline(cell.trim()))
        .filter((cell) => cell !== '' && cell !== '_').join(' | ')).filter((row) => row !== '').join('\n');
      if (text) out.push({ kind: 'verbatim', text });
      i = j;
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet) {
      const width = bullet[1].length + bullet[2].length;
      const j = endOfIndented(lines, i + 1, width);
      const item = [bullet[3], ...lines.slice(i + 1, j).map((l) => l.slice(Math.min(width, indentOf(l))))];
      const marker = /^[*+\-•]$/.test(bullet[1]) ? '-' : bullet[1];
      out.push(...prefixFirstProse(convertRstBlocks(item), marker));
      i = j;
      continue;
    }
    // An ordinary paragraph: ends at a blank line, or where indentation starts (a definition).
    let j = i;
    while (j < lines.length && !isBlank(lines[j]) && indentOf(lines[j]) === 0) j++;
    let text = collapseWhitespace(renderRstInline(lines.slice(i, j).join('\n')));
    if (/::$/.test(text)) {
      literalNext = true;
      text = text === '::' ? '' : text.replace(/\s::$/, '').replace(/::$/, ':');
    }
    if (text) out.push({ kind: 'prose', text });
    i = j;
  }
  return out;
}

interface Heading { line: number; span: number; style: string; text: string }

function findHeadings(lines: string[]): Heading[] {
  const headings: Heading[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const text = lines[i];
    if (isBlank(text) || indentOf(text) > 0 || ADORNMENT.test(text)) continue;
    const under = ADORNMENT.exec(lines[i + 1]);
    if (!under || lines[i + 1].trim().length < Math.min(3, text.trim().length)) continue;
    const over = i > 0 ? ADORNMENT.exec(lines[i - 1]) : null;
    if (over && over[1] === under[1]) {
      if (i - 1 === 0 || isBlank(lines[i - 2])) headings.push({ line: i - 1, span: 3, style: `o${under[1]}`, text: text.trim() });
    } else if (i === 0 || isBlank(lines[i - 1])) {
      headings.push({ line: i, span: 2, style: `u${under[1]}`, text: text.trim() });
    }
  }
  return headings;
}

/**
 * Parses a reST file into sections. Levels follow the order in which adornment styles first appear
 * (the reST rule), so level 0 is the document title. Text before the first heading is dropped.
 */
export function parseRst(source: string): DocSection[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/\t/g, '        '));
  const headings = findHeadings(lines);
  const styleLevels = new Map<string, number>();
  const stack: string[] = [];
  const sections: DocSection[] = [];
  headings.forEach((h, k) => {
    if (!styleLevels.has(h.style)) styleLevels.set(h.style, styleLevels.size);
    const level = styleLevels.get(h.style) ?? 0;
    const heading = collapseWhitespace(renderRstInline(h.text));
    stack.length = level;
    const ancestors = stack.filter((s) => s !== undefined);
    stack[level] = heading;
    const bodyEnd = k + 1 < headings.length ? headings[k + 1].line : lines.length;
    sections.push({ level, heading, ancestors, paragraphs: convertRstBlocks(lines.slice(h.line + h.span, bodyEnd)) });
  });
  return sections;
}
