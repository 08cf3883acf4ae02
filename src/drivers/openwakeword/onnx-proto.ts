/**
 * Just enough of the ONNX file format (protocol buffers, onnx.proto3) to take a model apart
 * into its nodes and weights and to write new graphs from them: the streaming form of the
 * embedding model (embedding-graphs.ts) is built this way at start-up, in memory, from the
 * installed model file. Nodes and initializers are kept as their encoded bytes and written back
 * unchanged; only what the new graphs add (nodes, int64 constants, inputs and outputs) is
 * encoded here.
 *
 * Field numbers (onnx.proto3): ModelProto.graph 7, opset_import 8 (OperatorSetIdProto domain 1,
 * version 2); GraphProto node 1, name 2, initializer 5,
 * input 11, output 12; NodeProto input 1, output 2, name 3, op_type 4, attribute 5;
 * AttributeProto name 1, i 3, ints 8, type 20; TensorProto dims 1, data_type 2, name 8,
 * raw_data 9; ValueInfoProto name 1, type 2; TypeProto.tensor_type 1; Tensor elem_type 1,
 * shape 2; TensorShapeProto.dim 1; Dimension dim_value 1, dim_param 2.
 */

/** One decoded field: its number, wire type, and value (a varint, or the bytes of a length-delimited or fixed field). */
interface Field {
  no: number;
  wire: number;
  int: bigint;
  bytes: Uint8Array;
  /** The whole field as encoded (key included). */
  raw: Uint8Array;
}

/** Thrown for bytes that are not a protocol buffer of the expected shape. */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

function readVarint(b: Uint8Array, at: { p: number }): bigint {
  let r = 0n;
  let shift = 0n;
  for (;;) {
    if (at.p >= b.length || shift > 63n) throw new OnnxFormatError('truncated varint');
    const x = b[at.p++]!;
    r |= BigInt(x & 0x7f) << shift;
    if ((x & 0x80) === 0) return r;
    shift += 7n;
  }
}

function decode(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const at = { p: 0 };
  while (at.p < b.length) {
    const start = at.p;
    const key = Number(readVarint(b, at));
    const no = key >>> 3;
    const wire = key & 7;
    let int = 0n;
    let bytes = b.subarray(0, 0);
    if (wire === 0) int = readVarint(b, at);
    else if (wire === 2) {
      const len = Number(readVarint(b, at));
      if (at.p + len > b.length) throw new OnnxFormatError('truncated field');
      bytes = b.subarray(at.p, at.p + len);
      at.p += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (at.p + len > b.length) throw new OnnxFormatError('truncated field');
      bytes = b.subarray(at.p, at.p + len);
      at.p += len;
    } else throw new OnnxFormatError(`unsupported wire type ${wire}`);
    out.push({ no, wire, int, bytes, raw: b.subarray(start, at.p) });
  }
  return out;
}

const utf8 = new TextDecoder();
const text = (b: Uint8Array): string => utf8.decode(b);

/** The varints of a repeated integer field, packed or not. */
function ints(fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === 0) out.push(Number(BigInt.asIntN(64, f.int)));
    else if (f.wire === 2) {
      const at = { p: 0 };
      while (at.p < f.bytes.length) out.push(Number(BigInt.asIntN(64, readVarint(f.bytes, at))));
    }
  }
  return out;
}

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer and integer-list attributes by name (others are kept in `raw` only). */
  attrs: Map<string, number[]>;
  /** The encoded NodeProto. */
  raw: Uint8Array;
}

export interface OnnxInitializer {
  dims: number[];
  /** The encoded TensorProto. */
  raw: Uint8Array;
}

export interface OnnxModel {
  /** ModelProto's fields other than the graph (IR version, opset imports, producer), encoded. */
  header: Uint8Array[];
  nodes: OnnxNode[];
  initializers: Map<string, OnnxInitializer>;
  inputs: string[];
  outputs: string[];
  /** The operator sets the model imports, by domain ('' is the default ONNX domain) -> version. */
  opsets: Map<string, number>;
}

/** The float32 values of an initializer stored as raw data (TensorProto data_type 1, raw_data), or null. */
export function initializerFloats(init: OnnxInitializer): Float32Array | null {
  const fields = decode(init.raw);
  const type = fields.find((f) => f.no === 2 && f.wire === 0);
  const raw = fields.find((f) => f.no === 9 && f.wire === 2);
  if (type?.int !== 1n || !raw || raw.bytes.length % 4 !== 0) return null;
  // A copy: the bytes may be a view into a larger (Node Buffer) pool, at any alignment.
  return new Float32Array(Uint8Array.from(raw.bytes).buffer);
}

/** Decodes a model file's bytes. Throws OnnxFormatError when they are not an ONNX model. */
export function parseOnnx(bytes: Uint8Array): OnnxModel {
  const model = decode(bytes);
  const graph = model.find((f) => f.no === 7 && f.wire === 2);
  if (!graph) throw new OnnxFormatError('no graph in the model');
  const g = decode(graph.bytes);
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, OnnxInitializer>();
  const names = (no: number): string[] => g.filter((f) => f.no === no && f.wire === 2).map((f) => text(decode(f.bytes).find((x) => x.no === 1)?.bytes ?? new Uint8Array()));
  for (const f of g) {
    if (f.wire !== 2) continue;
    if (f.no === 1) {
      const n = decode(f.bytes);
      const attrs = new Map<string, number[]>();
      for (const a of n.filter((x) => x.no === 5 && x.wire === 2)) {
        const af = decode(a.bytes);
        const name = af.find((x) => x.no === 1);
        if (name) attrs.set(text(name.bytes), [...ints(af, 3), ...ints(af, 8)]);
      }
      nodes.push({
        op: text(n.find((x) => x.no === 4)?.bytes ?? new Uint8Array()),
        inputs: n.filter((x) => x.no === 1 && x.wire === 2).map((x) => text(x.bytes)),
        outputs: n.filter((x) => x.no === 2 && x.wire === 2).map((x) => text(x.bytes)),
        attrs,
        raw: f.bytes,
      });
    } else if (f.no === 5) {
      const t = decode(f.bytes);
      const name = t.find((x) => x.no === 8);
      if (name) initializers.set(text(name.bytes), { dims: ints(t, 1), raw: f.bytes });
    }
  }
  const opsets = new Map<string, number>();
  for (const f of model.filter((x) => x.no === 8 && x.wire === 2)) {
    const o = decode(f.bytes);
    opsets.set(text(o.find((x) => x.no === 1)?.bytes ?? new Uint8Array()), Number(o.find((x) => x.no === 2)?.int ?? 0n));
  }
  return { header: model.filter((f) => f.no !== 7).map((f) => f.raw), nodes, initializers, inputs: names(11), outputs: names(12), opsets };
}

// ---- encoding ----

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let x = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) x |= 0x80;
    out.push(x);
  } while (v !== 0n);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const utf8e = new TextEncoder();
const intField = (no: number, n: number | bigint): Uint8Array => Uint8Array.from([...varint(no << 3), ...varint(n)]);
const bytesField = (no: number, b: Uint8Array): Uint8Array => concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(b.length)]), b]);
const strField = (no: number, s: string): Uint8Array => bytesField(no, utf8e.encode(s));

/** A tensor dimension: a size, or a symbolic name. */
export type OnnxDim = number | string;

/** A float32 graph input or output. */
export function valueInfo(name: string, dims: readonly OnnxDim[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : strField(2, d))));
  const tensor = concat([intField(1, 1), bytesField(2, shape)]);
  return concat([strField(1, name), bytesField(2, bytesField(1, tensor))]);
}

/** A constant int64 tensor (1-D) as a TensorProto. */
export function int64Tensor(name: string, values: readonly number[]): Uint8Array {
  const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
  return concat([intField(1, values.length), intField(2, 7), strField(8, name), bytesField(9, raw)]);
}

/** A NodeProto with integer attributes. */
export function nodeProto(op: string, inputs: readonly string[], outputs: readonly string[], name: string, intAttrs: Record<string, number> = {}): Uint8Array {
  const attrs = Object.entries(intAttrs).map(([k, v]) => bytesField(5, concat([strField(1, k), intField(20, 2), intField(3, v)])));
  return concat([...inputs.map((i) => strField(1, i)), ...outputs.map((o) => strField(2, o)), strField(3, name), strField(4, op), ...attrs]);
}

/** `node` with its inputs replaced (attributes and name kept). */
export function withInputs(node: OnnxNode, inputs: readonly string[]): Uint8Array {
  const rest = decode(node.raw).filter((f) => f.no !== 1);
  return concat([...inputs.map((i) => strField(1, i)), ...rest.map((f) => f.raw)]);
}

export interface GraphSpec {
  /** Encoded NodeProtos, in topological order. */
  nodes: readonly Uint8Array[];
  /** Initializers of `model` the nodes read. */
  initializers: readonly string[];
  /** Encoded TensorProtos added (int64Tensor). */
  constants?: readonly Uint8Array[];
  inputs: readonly (readonly [string, readonly OnnxDim[]])[];
  outputs: readonly (readonly [string, readonly OnnxDim[]])[];
}

/** A new model file (bytes) with `model`'s header and weights and the graph `spec`. */
export function buildOnnx(model: OnnxModel, spec: GraphSpec): Uint8Array {
  const inits = spec.initializers.map((n) => {
    const t = model.initializers.get(n);
    if (!t) throw new OnnxFormatError(`no initializer ${n}`);
    return bytesField(5, t.raw);
  });
  const graph = concat([
    ...spec.nodes.map((n) => bytesField(1, n)),
    strField(2, 'speaker-agent'),
    ...inits,
    ...(spec.constants ?? []).map((c) => bytesField(5, c)),
    ...spec.inputs.map(([n, d]) => bytesField(11, valueInfo(n, d))),
    ...spec.outputs.map(([n, d]) => bytesField(12, valueInfo(n, d))),
  ]);
  return concat([...model.header, bytesField(7, graph)]);
}
