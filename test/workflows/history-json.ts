// Loads a JSON workflow history (as `temporal workflow show --output json` writes it) into the
// History proto Worker.runReplayHistories wants. The SDK's own historyFromJSON fails in this install
// ("type must be a Type"): npm put two copies of protobufjs 8 under @temporalio/common and
// @temporalio/proto (the root holds grpc's protobufjs 7), and the JSON codec of one rejects the
// types of the other. Resolving the codec next to @temporalio/proto keeps both on one copy.
import * as path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  fromJson(type: unknown, json: unknown, opts: { ignoreUnknownFields: boolean }): unknown;
}

const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyFromCliJson(json: unknown): History {
  const events = (json as { events?: unknown })?.events;
  if (!Array.isArray(events) || events.length === 0) throw new TypeError('not a workflow history: expected {"events": [...]}');
  const loaded = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('invalid workflow history JSON');
  return loaded as History;
}
