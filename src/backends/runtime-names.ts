import { renameTensors, tensorNames, type OnnxModel } from '../onnx/index.js';

/**
 * The names onnxruntime sees. onnxruntime-node hands input and output names to C as NUL-terminated
 * UTF-8, so a name with a NUL is cut there, and a name with an unpaired UTF-16 surrogate (a name
 * built in JavaScript, or what protobufjs decodes some invalid UTF-8 to) is converted to U+FFFD and
 * no longer matches the model's bytes: either fails as a different name, or matches another tensor. Every such tensor gets an
 * alias in the model a session is built from, and the session maps names in (feeds, fetches) and
 * out (results) so that everything above the backends sees the model's own names. Names that are
 * already safe are left as they are, so messages quote them unchanged.
 */

const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** What in `name` onnxruntime cannot take as an input or output name, or undefined when nothing. */
export function runtimeNameProblem(name: string): string | undefined {
  if (name.includes('\0')) return 'a NUL character';
  if (UNPAIRED_SURROGATE.test(name)) return 'an unpaired UTF-16 surrogate';
  return undefined;
}

/**
 * The readable base of an alias: NUL shown as U+2400 (SYMBOL FOR NULL) and an unpaired surrogate
 * as U+FFFD, so onnxruntime's messages about the tensor stay recognizable.
 */
function aliasBase(name: string): string {
  return name.replace(/\0/g, '\u2400').replace(/\p{Cs}/gu, '\uFFFD');
}

/** A two-way map between a model's tensor names and the names onnxruntime is given. */
export class RuntimeNames {
  static readonly identity = new RuntimeNames(new Map());
  private readonly toOriginal: ReadonlyMap<string, string>;

  private constructor(private readonly toAlias: ReadonlyMap<string, string>) {
    this.toOriginal = new Map([...toAlias].map(([original, alias]) => [alias, original]));
  }

  /**
   * Aliases for the unsafe names among `names`: `aliasBase(name)`, with `~2`, `~3`, ... appended
   * until it collides with no name of the model and no other alias.
   */
  static for(names: ReadonlySet<string>): RuntimeNames {
    const unsafe = [...names].filter((name) => runtimeNameProblem(name) !== undefined);
    if (unsafe.length === 0) return RuntimeNames.identity;
    const aliases = new Map<string, string>();
    const taken = new Set(names);
    for (const name of unsafe) {
      const base = aliasBase(name);
      let alias = base;
      for (let k = 2; taken.has(alias); k++) alias = `${base}~${k}`;
      taken.add(alias);
      aliases.set(name, alias);
    }
    return new RuntimeNames(aliases);
  }

  get aliases(): ReadonlyMap<string, string> {
    return this.toAlias;
  }

  /** The name onnxruntime knows a model tensor by. */
  runtime(name: string): string {
    return this.toAlias.get(name) ?? name;
  }

  /** The model's own name of a tensor onnxruntime names. */
  original(runtimeName: string): string {
    return this.toOriginal.get(runtimeName) ?? runtimeName;
  }
}

/** The model as onnxruntime must be given it (unsafe tensor names aliased), with the map between the two. */
export function runtimeModel(model: OnnxModel): { model: OnnxModel; names: RuntimeNames } {
  const names = RuntimeNames.for(tensorNames(model));
  return { model: renameTensors(model, names.aliases), names };
}
