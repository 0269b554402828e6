// The model registry: every shipped model by name, with its options and the presets that reproduce
// the Knossos and Porcupine conventions. Workers rebuild models from a ModelSpec through it.

import type { AnyModel, ModelSpec } from "./model.ts";
import { kvModel } from "./models/kv.ts";
import { multiRegisterModel } from "./models/multi-register.ts";
import { mutexModel } from "./models/mutex.ts";
import { type RegisterOptions, registerModel } from "./models/register.ts";

export interface ModelFactory {
  name: string;
  summary: string;
  /** Option name → what it means (for --help and docs). */
  options: Readonly<Record<string, string>>;
  create(options: Record<string, unknown>): AnyModel;
}

export class ModelError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ModelError";
    this.code = code;
  }
}

const REGISTER_OPTIONS = {
  initial: "the value before any write (JSON; default null = absent)",
  nilRead: '"absent" (a null read saw an absent register; default) or "unknown" (always legal)',
} as const;
const CAS_OPTIONS = {
  ...REGISTER_OPTIONS,
  failedCas:
    '"ignore" (a failed cas did not happen; default) or "observation" (it saw another value)',
} as const;

function pick<T extends string>(
  model: string,
  options: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ModelError(
    "bad-model-option",
    `model ${model}: option ${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`,
  );
}

function registerOptions(model: string, o: Record<string, unknown>): RegisterOptions {
  const out: RegisterOptions = {};
  if ("initial" in o) out.initial = o.initial;
  const nilRead = pick(model, o, "nilRead", ["absent", "unknown"] as const);
  if (nilRead) out.nilRead = nilRead;
  const failedCas = pick(model, o, "failedCas", ["ignore", "observation"] as const);
  if (failedCas) out.failedCas = failedCas;
  return out;
}

const FACTORIES: ModelFactory[] = [
  {
    name: "register",
    summary: "read/write register per key",
    options: REGISTER_OPTIONS,
    create: (o) => registerModel(registerOptions("register", o), false),
  },
  {
    name: "cas-register",
    summary: "read/write/cas register per key (cas value [expected, new])",
    options: CAS_OPTIONS,
    create: (o) => registerModel(registerOptions("cas-register", o), true),
  },
  {
    name: "etcd",
    summary:
      "Porcupine's etcd model: cas-register, initially absent, a failed cas observed a mismatch",
    options: CAS_OPTIONS,
    create: (o) => registerModel({ failedCas: "observation", ...registerOptions("etcd", o) }, true),
  },
  {
    name: "knossos-cas-register",
    summary:
      "Knossos' (cas-register 0): initial 0, a nil read is unknown, a failed cas did not happen",
    options: CAS_OPTIONS,
    create: (o) =>
      registerModel(
        { initial: 0, nilRead: "unknown", ...registerOptions("knossos-cas-register", o) },
        true,
      ),
  },
  {
    name: "kv",
    summary: "Porcupine's kv: get/put/append of strings per key, initially empty",
    options: { initial: 'the value of a key never written (default "")' },
    create: (o) => {
      const initial = o.initial;
      if (initial !== undefined && typeof initial !== "string") {
        throw new ModelError("bad-model-option", "model kv: option initial must be a string");
      }
      return initial === undefined ? kvModel() : kvModel({ initial });
    },
  },
  {
    name: "multi-register",
    summary: "transactions [[read|write, register, value], ...] over named registers",
    options: {
      initial: 'initial register values as a JSON object, e.g. {"x":0,"y":0}',
      nilRead: REGISTER_OPTIONS.nilRead,
    },
    create: (o) => multiRegisterModel(multiOptions("multi-register", o)),
  },
  {
    name: "knossos-multi-register",
    summary: "Knossos' (multi-register {:x 0 :y 0}): nil reads are unknown",
    options: { initial: 'initial register values (default {"x":0,"y":0})' },
    create: (o) =>
      multiRegisterModel({
        initial: { x: 0, y: 0 },
        nilRead: "unknown",
        ...multiOptions("knossos-multi-register", o),
      }),
  },
  {
    name: "mutex",
    summary: "a lock: acquire when free, release when held",
    options: {},
    create: () => mutexModel(),
  },
];

function multiOptions(model: string, o: Record<string, unknown>) {
  const out: { initial?: Record<string, unknown>; nilRead?: "absent" | "unknown" } = {};
  if (o.initial !== undefined) {
    if (typeof o.initial !== "object" || o.initial === null || Array.isArray(o.initial)) {
      throw new ModelError(
        "bad-model-option",
        `model ${model}: option initial must be a JSON object`,
      );
    }
    out.initial = o.initial as Record<string, unknown>;
  }
  const nilRead = pick(model, o, "nilRead", ["absent", "unknown"] as const);
  if (nilRead) out.nilRead = nilRead;
  return out;
}

export const MODELS: ReadonlyMap<string, ModelFactory> = new Map(FACTORIES.map((f) => [f.name, f]));

export function modelNames(): string[] {
  return [...MODELS.keys()];
}

/** Builds a registered model; the result carries its spec so workers can rebuild it. */
export function createModel(spec: ModelSpec | string): AnyModel {
  const { name, options = {} } = typeof spec === "string" ? { name: spec } : spec;
  const factory = MODELS.get(name);
  if (!factory) {
    throw new ModelError(
      "unknown-model",
      `unknown model "${name}"; known models: ${modelNames().join(", ")}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (!(k in factory.options)) {
      const known = Object.keys(factory.options);
      throw new ModelError(
        "bad-model-option",
        `model ${name} has no option "${k}"${known.length ? ` (it has ${known.join(", ")})` : ""}`,
      );
    }
  }
  const model = factory.create(options);
  return { ...model, spec: { name, options: { ...options } } };
}
