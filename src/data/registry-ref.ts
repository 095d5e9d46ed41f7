// Case-set references: `NAME:split` (a split of a dataset's labelled cases, or `all`). `faq` is the
// bundled dataset (faq:dev, faq:train, faq:all); any other name is a registered one.
import { z } from 'zod';
import { BUNDLED_DATASET } from './registry-manifest';

export const CASE_SET_REF = /^([a-z][a-z0-9_-]{0,39}):([a-z][a-z0-9_-]{0,31})$/;

export interface CaseSetRef {
  dataset: string;
  /** A split name, or 'all'. */
  split: string;
  bundled: boolean;
}

export const CaseSetRefSchema = z.string().regex(CASE_SET_REF, { error: (iss) => `case set ${JSON.stringify(iss.input)} must be NAME:split (e.g. faq:dev, mydocs:test, mydocs:all)` });

export function parseCaseSetRef(ref: string): CaseSetRef {
  const m = CASE_SET_REF.exec(ref);
  if (!m) throw new Error(`case set ${JSON.stringify(ref)} must be NAME:split (e.g. faq:dev, mydocs:test, mydocs:all)`);
  return { dataset: m[1], split: m[2], bundled: m[1] === BUNDLED_DATASET };
}
