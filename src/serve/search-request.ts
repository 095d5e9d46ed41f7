// The /search request body, validated at the boundary. Unknown fields are refused (a misspelt "kay"
// must not silently route by the query text instead of the user).
import { z } from 'zod';

export const MAX_QUERY_CHARS = 2000;
export const MAX_RESULTS = 12;

export const SearchRequestSchema = z.strictObject({
  query: z
    .string({ error: (iss) => (iss.input === undefined ? 'query is required' : 'query must be a string') })
    .trim()
    .min(1, { error: 'query must not be empty' })
    .max(MAX_QUERY_CHARS, { error: `query must be at most ${MAX_QUERY_CHARS} characters` }),
  /** Sticky routing key (user or session id); the query text stands in when absent. */
  key: z
    .string({ error: 'key must be a string' })
    .min(1, { error: 'key must not be empty' })
    .max(256, { error: 'key must be at most 256 characters' })
    .optional(),
  k: z
    .int({ error: 'k must be an integer' })
    .min(1, { error: 'k must be at least 1' })
    .max(MAX_RESULTS, { error: `k must be at most ${MAX_RESULTS}` })
    .default(10),
});
export type SearchRequest = z.output<typeof SearchRequestSchema>;

/** Readable reasons, one per problem: `k: k must be at most 12`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: query, key, k)`;
    if (i.code === 'invalid_type' && i.path.length === 0) return 'the body must be a JSON object {"query": "...", "key"?: "...", "k"?: 1-12}';
    return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
  });
}
