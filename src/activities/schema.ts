// The schema bootstrap moved to src/store/schema.ts; kept importable from here for older callers.
export { ensurePlatformSchema } from '../store/schema';
