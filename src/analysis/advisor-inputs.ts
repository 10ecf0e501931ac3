import { formatDims, isNumeric, toFloat64, type Tensor } from '../core/tensor.js';
import type { Finding } from './advisor-finding.js';
import { cosine, list, num, q, spec } from './advisor-text.js';
import { ADVISOR_THRESHOLDS as T } from './advisor-thresholds.js';
import type { Metrics } from './metrics.js';

/**
 * Inputs differ: when two dump directories are compared, the graph inputs are compared first. A
 * difference there lies upstream of the model (preprocessing, layout, channel order, scale), and
 * every layer after it inherits it, so the finding names the simple transform that explains it
 * and blames no layer.
 */

export type TransformKind = 'channel-order' | 'layout' | 'scale' | 'offset' | 'normalization' | 'size';

export interface InputTransform {
  readonly kinds: readonly TransformKind[];
  /** What the test input is, said of the reference: "with its channels reversed (RGB vs BGR) and scaled by 255". */
  readonly text: string;
}

/** A graph input compared on both sides. */
export interface InputComparison {
  readonly tensor: string;
  readonly refShape: readonly number[];
  readonly testShape: readonly number[];
  /** Null when the two could not be compared element by element (sizes differ). */
  readonly metrics: Metrics | null;
  /** Whether the two are the same input (relative L2 within inputsEqualRelL2). */
  readonly same: boolean;
  /** The simple transform taking the reference to the test input; null when none explains it. */
  readonly transform: InputTransform | null;
}

/** A graph input known only by its manifests' sha256 (the dumps hold no tensor for it). */
export interface InputDigest {
  readonly tensor: string;
  readonly ref: { readonly source: string; readonly sha256: string };
  readonly test: { readonly source: string; readonly sha256: string };
}

interface View {
  readonly kinds: TransformKind[];
  readonly text: string[];
  /** Test element j holds reference element source[j]. */
  readonly source: Int32Array | null;
  /** Channel of test element j (for per-channel fits), and the channel count. */
  readonly channelOf: (j: number) => number;
  readonly channels: number;
}

/**
 * The rearrangements of a rank-4 image tensor worth trying: channel order reversed, layout
 * NCHW <-> NHWC, and both. The reference's layout is NCHW when dims[1] <= 4, else NHWC when
 * dims[3] <= 4; other tensors get the identity only (channels on axis 1).
 */
function viewsOf(dims: readonly number[], count: number): View[] {
  const inner = dims.length >= 2 ? count / Math.max(1, dims[0] * dims[1]) : count;
  const axis1 = dims.length >= 2 && dims[1] > 0 ? dims[1] : 1;
  const plain: View = { kinds: [], text: [], source: null, channelOf: (j) => Math.floor(j / inner) % axis1, channels: axis1 };
  if (dims.length !== 4 || count === 0) return [plain];
  const nchw = dims[1] <= 4;
  if (!nchw && dims[3] > 4) return [plain];
  const [N, C, H, W] = nchw ? dims : [dims[0], dims[3], dims[1], dims[2]];
  const hw = H * W;
  const identity: View = nchw ? plain : { kinds: [], text: [], source: null, channelOf: (j) => j % C, channels: C };
  // Flat index of (n, c, h, w) in the reference's own layout.
  const refIndex = nchw
    ? (n: number, c: number, p: number) => (n * C + c) * hw + p
    : (n: number, c: number, p: number) => (n * hw + p) * C + c;
  const views: View[] = [identity];
  const channelsText = C === 3 ? 'with its channels reversed (RGB vs BGR)' : `with its ${C} channels in reverse order`;
  const other = nchw ? 'NHWC' : 'NCHW';
  for (const reversed of [true, false]) {
    for (const transposed of [false, true]) {
      if (!reversed && !transposed) continue;
      if (reversed && C < 2) continue;
      const source = new Int32Array(count);
      // Test layout: the reference's own, or the other one when transposed.
      const testNchw = transposed ? !nchw : nchw;
      for (let n = 0, j = 0; n < N; n++) {
        if (testNchw) {
          for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) source[j++] = refIndex(n, reversed ? C - 1 - c : c, p);
        } else {
          for (let p = 0; p < hw; p++) for (let c = 0; c < C; c++) source[j++] = refIndex(n, reversed ? C - 1 - c : c, p);
        }
      }
      const kinds: TransformKind[] = [];
      const text: string[] = [];
      if (transposed) {
        kinds.push('layout');
        text.push(`laid out as ${other} where the reference is ${nchw ? 'NCHW' : 'NHWC'}`);
      }
      if (reversed) {
        kinds.push('channel-order');
        text.push(channelsText);
      }
      views.push({
        kinds,
        text,
        source,
        channels: C,
        channelOf: testNchw ? (j) => Math.floor(j / hw) % C : (j) => j % C,
      });
    }
  }
  return views;
}

/** A factor for people: 255, 1/255, 256 and 1/256 by name, else 4 significant digits. */
function factorText(a: number): string {
  for (const k of [255, 256, 127.5, 128]) {
    if (Math.abs(a / k - 1) < 1e-3) return String(k);
    if (Math.abs(a * k - 1) < 1e-3) return `1/${k}`;
  }
  return num(a);
}

/** Least-squares fits of y against z, from the simplest; returns the first within the residual tolerance. */
function fit(z: Float64Array, y: Float64Array, view: View, yy: number): { kinds: TransformKind[]; text: string[] } | null {
  const n = y.length;
  const tol2 = T.transformResidual * T.transformResidual * yy;
  let sz = 0,
    sy = 0,
    szz = 0,
    szy = 0,
    sdd = 0,
    sd = 0;
  for (let j = 0; j < n; j++) {
    const a = z[j],
      b = y[j],
      d = b - a;
    sz += a;
    sy += b;
    szz += a * a;
    szy += a * b;
    sdd += d * d;
    sd += d;
  }
  if (sdd <= tol2) return { kinds: [], text: [] };
  // y = a·z
  if (szz > 0) {
    const a = szy / szz;
    const res = yy - 2 * a * szy + a * a * szz;
    if (res <= tol2) return { kinds: ['scale'], text: [`scaled by ${factorText(a)}`] };
  }
  // y = z + b
  const b0 = sd / n;
  if (sdd - n * b0 * b0 <= tol2) return { kinds: ['offset'], text: [`shifted by ${num(b0)}`] };
  // y = a·z + b
  const vz = szz - (sz * sz) / n;
  if (vz > 0) {
    const a = (szy - (sz * sy) / n) / vz;
    const b = (sy - a * sz) / n;
    let res = 0;
    for (let j = 0; j < n; j++) {
      const e = y[j] - a * z[j] - b;
      res += e * e;
    }
    if (res <= tol2) return { kinds: ['scale', 'offset'], text: [`scaled by ${factorText(a)} and shifted by ${num(b)}`] };
  }
  // y = a_c·z + b_c per channel (a different mean/std normalisation)
  if (view.channels > 1) {
    const C = view.channels;
    const s = Array.from({ length: 5 }, () => new Float64Array(C));
    const [cn, cz, cy, czz, czy] = s;
    for (let j = 0; j < n; j++) {
      const c = view.channelOf(j);
      cn[c]++;
      cz[c] += z[j];
      cy[c] += y[j];
      czz[c] += z[j] * z[j];
      czy[c] += z[j] * y[j];
    }
    const a = new Float64Array(C);
    const b = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const v = czz[c] - (cz[c] * cz[c]) / Math.max(1, cn[c]);
      a[c] = v > 0 ? (czy[c] - (cz[c] * cy[c]) / cn[c]) / v : 0;
      b[c] = cn[c] > 0 ? (cy[c] - a[c] * cz[c]) / cn[c] : 0;
    }
    let res = 0;
    for (let j = 0; j < n; j++) {
      const c = view.channelOf(j);
      const e = y[j] - a[c] * z[j] - b[c];
      res += e * e;
    }
    if (res <= tol2) {
      const per = Array.from(a, (ac, c) => `channel ${c}: ×${num(ac)} ${b[c] < 0 ? '−' : '+'} ${num(Math.abs(b[c]))}`);
      return { kinds: ['normalization'], text: [`normalised with another mean and std per channel (${list(per)})`] };
    }
  }
  return null;
}

/**
 * How the test input relates to the reference: the same (relative L2 within inputsEqualRelL2),
 * or which simple transform explains it (a different size; channel order reversed; layout
 * NCHW <-> NHWC; a scale, an offset, both, or a per-channel mean/std), tried from the simplest;
 * `transform` null when none does. Non-finite values make any transform unexplained.
 */
export function explainInputDifference(ref: Tensor, test: Tensor): { same: boolean; transform: InputTransform | null } {
  if (!isNumeric(ref) || !isNumeric(test)) return { same: false, transform: null };
  if (ref.data.length !== test.data.length) {
    return {
      same: false,
      transform: {
        kinds: ['size'],
        text: `another size, ${formatDims(test.dims)} where the reference is ${formatDims(ref.dims)} (a different resize or crop)`,
      },
    };
  }
  const x = toFloat64(ref);
  const y = toFloat64(test);
  let xx = 0,
    yy = 0,
    dd = 0;
  for (let j = 0; j < y.length; j++) {
    const d = y[j] - x[j];
    xx += x[j] * x[j];
    yy += y[j] * y[j];
    dd += d * d;
  }
  if (!Number.isFinite(xx) || !Number.isFinite(yy) || !Number.isFinite(dd)) return { same: false, transform: null };
  if (dd <= T.inputsEqualRelL2 * T.inputsEqualRelL2 * xx) return { same: true, transform: null };
  const views = viewsOf(ref.dims, x.length);
  const mapped = views.map((v) => {
    if (!v.source) return x;
    const z = new Float64Array(x.length);
    for (let j = 0; j < z.length; j++) z[j] = x[v.source[j]];
    return z;
  });
  // Simplest model first, then the simplest view: a pure reordering beats a reordering plus a scale.
  let best: { kinds: TransformKind[]; text: string[]; rank: number } | null = null;
  views.forEach((v, i) => {
    const f = fit(mapped[i], y, v, yy);
    if (!f) return;
    const rank = f.kinds.length * 10 + (f.kinds.includes('normalization') ? 30 : 0) + v.kinds.length;
    if (best === null || rank < best.rank) best = { kinds: [...v.kinds, ...f.kinds], text: [...v.text, ...f.text], rank };
  });
  if (best === null) return { same: false, transform: null };
  const found = best as { kinds: TransformKind[]; text: string[] };
  return { same: false, transform: { kinds: found.kinds, text: list(found.text) } };
}

const ADVICE: Record<TransformKind, string> = {
  'channel-order': 'the same channel order on both sides (--preprocess order=RGB or order=BGR)',
  layout: 'the same layout (--preprocess layout=NCHW or layout=NHWC)',
  scale: 'the same scale (for example 0..1 against 0..255: --preprocess scale=1/255)',
  offset: 'the same mean subtraction (--preprocess mean=...)',
  normalization: 'the same per-channel mean and std (--preprocess mean=R:G:B,std=R:G:B)',
  size: 'the same size and resize mode (--preprocess size=HxW,resize=fill|cover|contain)',
};

/** The inputs-differ finding: null when every compared input is the same on both sides. */
export function inputsDifferRule(inputs: readonly InputComparison[], digests: readonly InputDigest[] = []): Finding | null {
  const differing = inputs.filter((i) => !i.same);
  const byDigest = digests.filter((d) => d.ref.sha256 !== d.test.sha256 && !inputs.some((i) => i.tensor === d.tensor));
  if (differing.length === 0 && byDigest.length === 0) return null;
  const sentences: string[] = [];
  const kinds = new Set<TransformKind>();
  for (const i of differing) {
    const m = i.metrics;
    const how = m ? ` (cosine ${cosine(m.cosine)}, relative L2 ${num(m.relL2)}, max abs ${num(m.maxAbs)})` : '';
    if (i.transform) {
      for (const k of i.transform.kinds) kinds.add(k);
      const what = i.transform.kinds.includes('size')
        ? `the test input has ${i.transform.text}`
        : `the test input is the reference ${i.transform.text}`;
      sentences.push(`Graph input ${q(i.tensor)} differs between the two sides before any layer runs${how}: ${what}.`);
    } else {
      sentences.push(
        `Graph input ${q(i.tensor)} differs between the two sides before any layer runs${how}, and no simple transform (channel order, layout, scale, offset, per-channel mean/std) explains it: the pipelines decode, resize or convert colours differently.`,
      );
    }
  }
  for (const d of byDigest) {
    const same = d.ref.source === d.test.source ? `both from ${q(d.ref.source)}` : `from ${q(d.ref.source)} and ${q(d.test.source)}`;
    sentences.push(
      `Graph input ${q(d.tensor)} was fed differently to the two runs (${same}; sha256 ${d.ref.sha256.slice(0, 12)}… against ${d.test.sha256.slice(0, 12)}…); the dumps hold no tensor for it, so the transform cannot be named.`,
    );
  }
  sentences.push(
    'The difference is upstream of the model, in preprocessing; every layer inherits it, so the layer-by-layer results blame no layer.',
  );
  const what = [...kinds].map((k) => ADVICE[k]);
  const suggestion =
    what.length > 0
      ? `Make the two pipelines preprocess alike: ${list(what)}; then compare again.`
      : `Compare the two preprocessing pipelines step by step (decode, resize, channel order, layout, scale, mean/std)${
          byDigest.length > 0
            ? `, and dump the inputs too (--taps ${byDigest
                .map((d) => spec(d.tensor))
                .slice(0, T.namedInMessage)
                .join(' ')}) so the difference can be named`
            : ''
        }; then compare again.`;
  return {
    rule: 'inputs-differ',
    severity: 'error',
    tensors: [...differing.map((i) => i.tensor), ...byDigest.map((d) => d.tensor)],
    message: sentences.join(' '),
    suggestion,
  };
}
