// Jest test environment for suites that run onnxruntime-node (the real embedding model).
// Jest gives each suite its own VM realm, but onnxruntime's native addon returns typed arrays from
// Node's main realm; onnxruntime-common (loaded inside the suite's realm) then rejects its own output
// with "A float32 tensor's data must be type of Float32Array". Sharing the main realm's typed-array
// constructors makes both sides agree. Plain Node (the product) never needs this.
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxEnvironment;
