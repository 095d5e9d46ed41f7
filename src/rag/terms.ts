// Query terms for the lexical signals outside PostgreSQL: the reranker's term-overlap feature, the
// reader's sentence scoring and the OR-query handed to websearch_to_tsquery. One small definition so
// all three agree on what a "term" is.

/** English function words that carry no topic (a superset of what PostgreSQL's english config drops). */
const STOPWORDS = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers herself him ' +
    'himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other ' +
    'our ours ourselves out over own same she should so some such than that the their theirs them themselves then there ' +
    'these they this those through to too under until up very was we were what when where which while who whom why will ' +
    'with would you your yours yourself yourselves get got use using used way want make one also may might must shall'
  ).split(' '),
);

/** Crude suffix stripping: enough that "files"/"file" and "sorting"/"sort" meet, never emptying a word. */
export function stem(word: string): string {
  for (const suffix of ['ing', 'ies', 'es', 'ed', 's']) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
      if (suffix === 'ies') return word.slice(0, -3) + 'y';
      if (suffix === 's' && word.endsWith('ss')) return word;
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

/** Lower-cased words (letters, digits, underscore) of at least two characters. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9_]{2,}/g) ?? [];
}

/** Distinct stemmed content terms of a text, in first-occurrence order. */
export function contentTerms(text: string): string[] {
  const seen = new Set<string>();
  for (const w of words(text)) {
    if (STOPWORDS.has(w)) continue;
    seen.add(stem(w));
  }
  return [...seen];
}

/** Fraction of the query's content terms that occur in the text (0 when the query has none). */
export function termOverlap(queryTerms: readonly string[], text: string): number {
  if (queryTerms.length === 0) return 0;
  const present = new Set(words(text).map(stem));
  let n = 0;
  for (const t of queryTerms) if (present.has(t)) n++;
  return n / queryTerms.length;
}

/**
 * A matcher for the share of query terms present in a text, built once per query: a term counts when
 * some word of the text starts with it (stems are word prefixes: "sort" meets "sorts", "sorting").
 * One regex pass per term over the lower-cased text, no tokenisation of the text: fast enough to run
 * on every candidate of a snapshot inside the reranker's latency budget.
 */
export function termPrefixMatcher(queryTerms: readonly string[]): (text: string) => number {
  const patterns = queryTerms.map((t) => new RegExp(`(?:^|[^a-z0-9_])${t.replace(/[^a-z0-9_]/g, '')}`));
  return (text) => {
    if (patterns.length === 0) return 0;
    const lower = text.toLowerCase();
    let n = 0;
    for (const p of patterns) if (p.test(lower)) n++;
    return n / patterns.length;
  };
}

/**
 * A websearch_to_tsquery string that ORs the question's words. websearch syntax ANDs bare words, so a
 * natural-language question would only match chunks holding every word; BM25-style retrieval wants
 * any of them, ranked. Only [a-z0-9_] survive, so no query syntax can be injected.
 */
export function orQuery(text: string): string {
  const ws = [...new Set(words(text).filter((w) => !STOPWORDS.has(w) && w !== 'or'))];
  return ws.join(' or ');
}
