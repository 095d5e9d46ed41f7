// Labelled cases, in one shape for both formats bakeoff reads:
//  - BEIR: queries.jsonl ({_id, text}) and qrels/<split>.tsv (query-id, corpus-id, score; an optional
//    header line; TREC's 4-column form with an ignored iteration column too). Several relevant
//    documents per query, graded relevance (score ≥ 1 relevant, 0 judged not relevant); the split is
//    the qrels file's name.
//  - extractive JSONL (the FAQ's format): {case_id?, question, gold_doc_id, gold_answer?,
//    answer_start?, answer_end?, split?} — or `relevant: {doc_id: grade}` instead of gold_doc_id for
//    several relevant documents. Without a split the deterministic hash rule of src/data/dataset.ts
//    assigns train/dev. A gold answer is a span of its document's text (checked once the corpus is read).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { sha256Hex, splitFor } from '../dataset';
import { jsonlRecords } from './jsonl-records';
import { textLines } from './lines';
import { report, type ReadOptions } from './types';

export interface LabelledCase {
  case_id: string;
  question: string;
  split: string;
  /** doc id → graded relevance (≥ 1 relevant). */
  relevant: Record<string, number>;
  /** The extractive gold answer: doc.text.slice(start, end) === text. */
  answer?: { doc_id: string; text: string; start: number; end: number };
  /** file:line of the case (the qrels line of its first judgement, for BEIR). */
  at: string;
}

export const SPLIT_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

const Grade = z.number().int().min(0).max(1000);

const ExtractiveCase = z
  .object({
    case_id: z.union([z.string().regex(/^[\w.:/#-]+$/, 'may hold only letters, digits and ._:/#-'), z.number().int().transform(String)]).optional(),
    question: z.string().refine((q) => q.trim().length > 0, 'must not be empty'),
    gold_doc_id: z.union([z.string().min(1), z.number().int().transform(String)]).optional(),
    relevant: z.record(z.string(), Grade).optional(),
    gold_answer: z.string().min(1).optional(),
    answer_start: z.number().int().nonnegative().optional(),
    answer_end: z.number().int().positive().optional(),
    split: z.string().regex(SPLIT_NAME, 'must be a lower-case name like train, dev or test').optional(),
  })
  .refine((c) => c.gold_doc_id !== undefined || (c.relevant && Object.values(c.relevant).some((g) => g > 0)), { message: 'missing (give gold_doc_id, or relevant with a grade ≥ 1)', path: ['gold_doc_id'] })
  .refine((c) => c.gold_answer === undefined || (c.gold_doc_id !== undefined && c.answer_start !== undefined && c.answer_end !== undefined), { message: 'a gold_answer needs gold_doc_id, answer_start and answer_end', path: ['gold_answer'] })
  .refine((c) => c.answer_start === undefined || c.answer_end === undefined || c.answer_end > c.answer_start, { message: 'must be greater than answer_start', path: ['answer_end'] });

/** Reads an extractive cases file; problems name file:line and field. */
export async function readExtractiveCases(file: string, options?: ReadOptions): Promise<LabelledCase[]> {
  if (!fs.existsSync(file)) {
    report(options, { at: file, field: '(file)', message: 'does not exist' });
    return [];
  }
  const cases: LabelledCase[] = [];
  const firstSeen = new Map<string, number>();
  for await (const rec of jsonlRecords(file, ExtractiveCase, options)) {
    const at = rec.at;
    const c = rec.value;
    // Without an id the question names the case: stable under reordering, so the hash split is too.
    const caseId = c.case_id ?? `q-${sha256Hex(c.question).slice(0, 16)}`;
    const first = firstSeen.get(caseId);
    if (first !== undefined) {
      report(options, { at, field: c.case_id !== undefined ? 'case_id' : 'question', message: `duplicate case ${JSON.stringify(caseId)} (first at line ${first})` });
      continue;
    }
    firstSeen.set(caseId, rec.line);
    const relevant = c.relevant ?? {};
    if (c.gold_doc_id !== undefined) relevant[c.gold_doc_id] = Math.max(relevant[c.gold_doc_id] ?? 0, 1);
    cases.push({
      case_id: caseId,
      question: c.question,
      split: c.split ?? splitFor(caseId),
      relevant,
      ...(c.gold_answer !== undefined ? { answer: { doc_id: c.gold_doc_id!, text: c.gold_answer, start: c.answer_start!, end: c.answer_end! } } : {}),
      at,
    });
  }
  return cases;
}

const Query = z.object({
  _id: z.union([z.string().min(1), z.number().int().transform(String)]),
  text: z.string().refine((q) => q.trim().length > 0, 'must not be empty'),
});

/** The qrels files of a BEIR directory, split name → path, in name order. */
export function qrelsFiles(dir: string): Map<string, string> {
  const qdir = path.join(dir, 'qrels');
  const out = new Map<string, string>();
  if (!fs.existsSync(qdir)) return out;
  for (const name of fs.readdirSync(qdir).sort()) if (name.endsWith('.tsv')) out.set(name.slice(0, -'.tsv'.length), path.join(qdir, name));
  return out;
}

/** Cases of a BEIR directory: queries.jsonl joined with every qrels/<split>.tsv. */
export async function readBeirCases(dir: string, options?: ReadOptions): Promise<LabelledCase[]> {
  const queriesFile = path.join(dir, 'queries.jsonl');
  const queries = new Map<string, { text: string; at: string }>();
  if (!fs.existsSync(queriesFile)) report(options, { at: queriesFile, field: '(file)', message: 'does not exist' });
  else {
    for await (const { value: q, at } of jsonlRecords(queriesFile, Query, options)) {
      if (queries.has(q._id)) report(options, { at, field: '_id', message: `duplicate query id ${JSON.stringify(q._id)} (first at ${queries.get(q._id)!.at})` });
      else queries.set(q._id, { text: q.text, at });
    }
  }
  const files = qrelsFiles(dir);
  if (files.size === 0) report(options, { at: path.join(dir, 'qrels'), field: '(dir)', message: 'no qrels/<split>.tsv files' });
  const byId = new Map<string, LabelledCase>();
  for (const [split, file] of files) {
    if (!SPLIT_NAME.test(split)) {
      report(options, { at: file, field: '(file)', message: `split name ${JSON.stringify(split)} must be a lower-case name like train, dev or test` });
      continue;
    }
    let positives = 0;
    for await (const line of textLines(file, options)) {
      const at = line.at;
      const cols = line.text.split('\t');
      if (line.number === 1 && /^query[-_]?id$/i.test(cols[0])) continue; // header
      if (cols.length !== 3 && cols.length !== 4) {
        report(options, { at, field: '(line)', message: `expected 3 tab-separated columns (query-id, corpus-id, score), found ${cols.length}` });
        continue;
      }
      const [qid, docId, score] = cols.length === 3 ? cols : [cols[0], cols[2], cols[3]];
      const grade = Number(score);
      if (!Number.isInteger(grade) || grade < 0) {
        report(options, { at, field: 'score', message: `${JSON.stringify(score)} is not a whole number ≥ 0` });
        continue;
      }
      const query = queries.get(qid);
      if (!query) {
        report(options, { at, field: 'query-id', message: `unknown query ${JSON.stringify(qid)} (not in queries.jsonl)` });
        continue;
      }
      if (docId === '') {
        report(options, { at, field: 'corpus-id', message: 'missing' });
        continue;
      }
      let c = byId.get(qid);
      if (c && c.split !== split) {
        report(options, { at, field: 'query-id', message: `query ${JSON.stringify(qid)} is already judged in split ${c.split} (${c.at})` });
        continue;
      }
      if (!c) {
        c = { case_id: qid, question: query.text, split, relevant: {}, at };
        byId.set(qid, c);
      }
      c.relevant[docId] = grade;
      if (grade > 0) positives++;
    }
    if (positives === 0) report(options, { at: file, field: '(file)', message: `split ${split} has no cases (no judgement with score ≥ 1)` });
  }
  // A query judged only with grade 0 has nothing to find: not a case.
  return [...byId.values()].filter((c) => Object.values(c.relevant).some((g) => g > 0));
}

/** Which metrics a case set supports, for the manifest and the evaluation report. */
export interface CaseSetSupport {
  retrieval: string[];
  /** Whether any judgement has a grade above 1 (nDCG then uses the grades as gains). */
  graded: boolean;
  /** Reader F1 / precision need a gold answer on every case. */
  reader: boolean;
  casesWithAnswers: number;
  multiRelevant: boolean;
}

export function caseSetSupport(cases: readonly LabelledCase[]): CaseSetSupport {
  const withAnswers = cases.filter((c) => c.answer).length;
  return {
    retrieval: ['hit_rate', 'mrr', 'ndcg', 'recall'],
    graded: cases.some((c) => Object.values(c.relevant).some((g) => g > 1)),
    reader: cases.length > 0 && withAnswers === cases.length,
    casesWithAnswers: withAnswers,
    multiRelevant: cases.some((c) => Object.values(c.relevant).filter((g) => g > 0).length > 1),
  };
}

export function supportedMetricNames(s: CaseSetSupport): string[] {
  return [...s.retrieval, ...(s.reader ? ['f1', 'precision'] : [])];
}
