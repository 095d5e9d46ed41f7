// `npm run stop`: ends the local Temporal dev server the demo left running (its SQLite file stays).
import { stopLocalTemporal } from '../platform/local-temporal';

console.log(stopLocalTemporal() ? 'stopped the local Temporal dev server' : 'no local Temporal dev server was running');
