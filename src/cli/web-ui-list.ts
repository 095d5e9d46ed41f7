// The Temporal Web UI's workflows list as a bakeoff operator needs it. The list shows every finished
// bakeoff as "Completed" (the workflow completes normally whatever its outcome); the outcome is the
// BakeoffOutcome search attribute, which the list shows only as a column the operator adds. Both the
// column set and saved views live in the browser (localStorage of UI 2.x), so what can be shared is a
// link: `?query=` filters the list, and `&savedQuery=NAME` makes the UI save that filter as a view.
// Checked against the UI the dev server embeds (temporal CLI 1.8.2, UI 2.50.1).
import { SEARCH_ATTRIBUTE_OUTCOME, SEARCH_ATTRIBUTE_PHASE } from '../workflows/messages';

/** Every bakeoff, newest first (the UI's default order). */
export const BAKEOFFS_QUERY = 'WorkflowType = "bakeoff"';

/** The saved view docs/operations.md describes: name and columns. */
export const BAKEOFF_VIEW_NAME = 'Bakeoffs';
export const BAKEOFF_LIST_COLUMNS: readonly string[] = ['Status', 'Workflow ID', SEARCH_ATTRIBUTE_OUTCOME, SEARCH_ATTRIBUTE_PHASE, 'Start', 'End'];

/** Where UI 2.x keeps each namespace's workflow-table columns (its persistStore key). */
export const UI_COLUMNS_STORAGE_KEY = 'namespace-workflow-table-columns';

/** The list page filtered by `query`; with `savedView`, opening it also saves the filter as that view. */
export function workflowsListUrl(uiUrl: string, namespace: string, query: string, savedView?: string): string {
  const params = new URLSearchParams({ query });
  if (savedView) params.set('savedQuery', savedView);
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?${params.toString()}`;
}

/** The localStorage value that gives `namespace`'s list the outcome columns (what *Configure Workflows* stores). */
export function listColumnsStorage(namespace: string, columns: readonly string[] = BAKEOFF_LIST_COLUMNS): string {
  return JSON.stringify({ [namespace]: columns.map((label) => ({ label })) });
}
