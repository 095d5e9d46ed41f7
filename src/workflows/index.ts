// Every workflow type the worker registers. Workflow code runs in Temporal's deterministic sandbox:
// no I/O, clocks or randomness except through @temporalio/workflow (eslint enforces it).
export * from './smoke';
export * from './bakeoff';
export * from './scheduled-evaluation';
