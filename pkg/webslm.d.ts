// Types of pkg/webslm.js (hand-written; the generated wasm glue has its own in generated/).

export type ModelSpec =
  | string
  | {
      id?: string;
      url?: string;
      urls?: string[];
      sha256?: string;
      size?: number;
      format?: 'gguf' | 'safetensors';
      /**
       * Without it a pipeline runs its own task, and createEngine reads config.json's
       * `architectures` (a .gguf is text-generation) before any weight byte; a checkpoint that
       * cannot run the task is an UnsupportedModel error before the download.
       */
      task?: 'text-generation' | 'feature-extraction' | 'text-classification' | 'token-classification' | 'question-answering';
      configUrl?: string;
      tokenizerUrl?: string;
      tokenizerConfigUrl?: string;
      /** A BERT vocab.txt, for encoders whose repo has no tokenizer.json (with tokenizerConfigUrl). */
      vocabUrl?: string;
      specialTokensMapUrl?: string;
    };

/**
 * A LoRA adapter (issue 19), fetched, sha256-checked and cached like a model's files:
 * llama.cpp's GGUF adapter (`url` ending in .gguf), a PEFT folder (`url` of
 * adapter_model.safetensors with `configUrl` of adapter_config.json), or a catalogue-like `files`
 * list naming either by `path`.
 */
export interface AdapterSpec {
  /** What requests name it by (`adapters: [{ id }]`). */
  id: string;
  url?: string;
  sha256?: string;
  size?: number;
  /** A PEFT adapter's adapter_config.json. */
  configUrl?: string;
  configSha256?: string;
  /**
   * An encoder adapter with a classification head for other labels than the base model's: the
   * fine-tuned task model's config.json (its `id2label`), which PEFT does not save itself. In a
   * `files` list, the file whose path is `config.json`.
   */
  taskConfigUrl?: string;
  taskConfigSha256?: string;
  files?: { path: string; url: string; sha256?: string; size?: number }[];
  /** Which format, when a URL does not say. */
  format?: 'gguf' | 'peft';
  /** The scale a request naming it without one gets (default 1; 0 is the base model). */
  scale?: number;
}

/** An adapter spec checked and resolved to its files. */
export interface ResolvedAdapter {
  id: string;
  scale: number;
  format: 'gguf' | 'peft';
  weights: ModelFile;
  /** PEFT's adapter_config.json. */
  config?: ModelFile;
  /** The task model's config.json, for a head's labels (PEFT only). */
  taskConfig?: ModelFile;
}

/** An adapter attached to an engine. */
export interface LoadedAdapter {
  id: string;
  format: 'gguf' | 'peft';
  /** Its default scale. */
  scale: number;
  /** GPU memory the adapter added: its own tensors' bytes, nothing of the base model's. */
  gpuBytes: number;
}

/** One adapter of a request's active set (`scale` default: the spec's). */
export interface ActiveAdapter {
  id: string;
  scale?: number;
}

export interface Progress {
  file: string;
  loaded: number;
  total: number;
  bytesPerSecond: number;
  fromCache: boolean;
}

/** The options every async call takes last: `signal` aborts it. */
export interface CallOptions {
  /**
   * Aborts the call: a download stops (the pieces already finished stay cached) and rejects with
   * AbortError; a generation stops and resolves with finish_reason 'abort'; any other call
   * rejects with AbortError.
   */
  signal?: AbortSignal;
}

/** Which download of a catalogue id, and from where. */
export interface CatalogueOptions {
  /** A variant id of the catalogue entry (`q8_0`, `bf16`, ...); default: the entry's own download. */
  variant?: string;
  /** A mirror's base URL, replacing `https://huggingface.co` in catalogue URLs (sizes and sha256 stay). */
  hubUrl?: string;
}

/**
 * The kernel family a device runs: `software` (few, long-running invocations: the optimum on
 * CPU-emulated adapters such as SwiftShader), `gpu` (wide workgroups and cooperative reductions:
 * the optimum on real GPUs), or `auto` (the default: software adapters get `software`).
 */
export type KernelPath = 'auto' | 'software' | 'gpu';

/** The kernel path a device runs, and why it was chosen. */
export interface KernelChoice {
  path: 'software' | 'gpu';
  reason: string;
}

export interface EngineOptions extends CallOptions, CatalogueOptions {
  /** Run the model in a Web Worker (default true). */
  worker?: boolean;
  onProgress?: (p: Progress) => void;
  contextLength?: number;
  /** Force a kernel path (default 'auto'); another value is a GpuError before any download. */
  kernels?: KernelPath;
}

/** A pipeline's options: the engine's, and LoRA adapters loaded once for every call. */
export interface PipelineOptions extends EngineOptions {
  /**
   * Adapter specs, for every task (an encoder's PEFT adapter may bring its own task head); each
   * call runs with all of them at their scales.
   */
  adapter?: AdapterSpec | AdapterSpec[];
}

/** A catalogue id's downloads, as checkSupport reports them. */
export interface CatalogueSizes {
  /** The variant the options picked. */
  variant: string;
  variants: { id: string; format: string; downloadBytes: number | null; gpuMemoryBytes: number; verified: boolean }[];
}

export interface ModelFile {
  url: string;
  size?: number;
  sha256?: string;
}

export interface ResolvedModel {
  id: string;
  /** The catalogue variant, for a catalogue id. */
  variant?: string;
  /** A gated catalogue model's licence page (a refused download names it). */
  licenseUrl?: string;
  task: string;
  format: 'gguf' | 'safetensors' | string;
  weights: ModelFile;
  config?: ModelFile;
  tokenizer?: ModelFile;
  tokenizerConfig?: ModelFile;
  /** vocab.txt, where the model has no tokenizer.json. */
  vocab?: ModelFile;
  specialTokensMap?: ModelFile;
}

export interface LoadInfo {
  weightBytes: number;
  largestTensorBytes: number;
  sha256: string;
  fromCache: boolean;
  fetchedBytes: number;
  seconds: number;
  totalSeconds: number;
  /** The kernel path the model's device runs. */
  kernels: KernelChoice;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Sampling options; an option left out takes the Rust default (SAMPLING_DEFAULTS). */
export interface GenerationRequest {
  /** Default 256. */
  max_tokens?: number;
  /** Default 0.8; 0 is greedy. */
  temperature?: number;
  /** Default 0.95. */
  top_p?: number;
  /** Default 40. */
  top_k?: number;
  /** Drops tokens less likely than min_p times the likeliest (default 0.05; 0 turns it off). */
  min_p?: number;
  /** Divides the logits of recently generated tokens (default 1: off). */
  repeat_penalty?: number;
  /** -2..2: logit -= frequency_penalty * count, over the last 64 generated tokens (default 0). */
  frequency_penalty?: number;
  /** -2..2: logit -= presence_penalty if the token was among the last 64 generated (default 0). */
  presence_penalty?: number;
  /** Token id -> -100..100 added to its logit before penalties and sampling. */
  logit_bias?: Record<string, number>;
  /** Each token's log-probability (log-softmax of the raw logits, before temperature, penalties
   * and bias). completions also takes a count here, meaning `top_logprobs`. */
  logprobs?: boolean | number;
  /** 0..20 likeliest alternatives per token (needs `logprobs`). */
  top_logprobs?: number;
  /** 1..128 choices, choice i sampled with seed + i (default 1). */
  n?: number;
  /** With `stream`: `include_usage` ends the stream with a chunk of `choices: []` and `usage`. */
  stream_options?: { include_usage?: boolean };
  /** Default: a fresh random seed per call (as OpenAI's API). */
  seed?: number;
  stop?: string | string[];
  stream?: boolean;
  /** Keep generating past end-of-text tokens (as llama.cpp's ignore_eos). */
  ignore_eos?: boolean;
  /** Structured output (llguidance): any JSON object, or JSON following a schema. */
  response_format?: ResponseFormat;
  /** Extension: output following a Lark grammar (llguidance's syntax). */
  grammar?: string;
  /** Extension: output matching a regular expression. */
  regex?: string;
  /**
   * LoRA adapters this request runs with, each loaded by `loadAdapter` (absent or empty: the
   * base model). Switching between requests uploads no weights.
   */
  adapters?: ActiveAdapter[];
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name?: string; schema: object; strict?: boolean } };

export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's own bytes (it may hold part of a UTF-8 character). */
  bytes: number[];
}

export interface Logprobs {
  content: (TokenLogprob & { top_logprobs: TokenLogprob[] })[];
}

/**
 * The legacy completions endpoint's logprobs, which `completions.create` returns when the request
 * gives `logprobs` as a count (as that endpoint takes it); `logprobs: true` gets `Logprobs`.
 * `text_offset` counts characters of the completion text (the prompt is not echoed).
 */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: ChatMessage; logprobs: Logprobs | null; finish_reason: 'stop' | 'length' | 'abort' }[];
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { content?: string }; logprobs?: Logprobs; finish_reason: string | null }[];
  usage?: Usage;
}

export interface Engine {
  model: string;
  chat: {
    completions: {
      create(
        req: GenerationRequest & { messages: ChatMessage[]; stream?: false },
        options?: CallOptions,
      ): Promise<ChatCompletion>;
      create(
        req: GenerationRequest & { messages: ChatMessage[]; stream: true },
        options?: CallOptions,
      ): Promise<AsyncIterable<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(req: GenerationRequest & { prompt: string | number[]; stream?: false }, options?: CallOptions): Promise<unknown>;
    create(
      req: GenerationRequest & { prompt: string | number[]; stream: true },
      options?: CallOptions,
    ): Promise<AsyncIterable<unknown>>;
  };
  loadInfo: LoadInfo;
  tokenize(text: string, options?: CallOptions): Promise<number[]>;
  /** The ids chat.completions.create feeds the model for `messages`. */
  promptIds(messages: ChatMessage[], options?: CallOptions): Promise<number[]>;
  /** Forgets the KV cache, so the next prompt is prefilled in full (no prefix reuse). */
  resetCache(options?: CallOptions): Promise<void>;
  /**
   * Fetches (or reads from the cache), verifies and attaches a LoRA adapter; an adapter that
   * does not fit the model (architecture, targets, shapes) is an AdapterError naming the tensor.
   */
  loadAdapter(spec: AdapterSpec, options?: CallOptions): Promise<LoadedAdapter>;
  /** Frees an adapter's GPU memory. */
  unloadAdapter(id: string, options?: CallOptions): Promise<void>;
  /** The adapters loaded, in load order. */
  adapters(): Promise<LoadedAdapter[]>;
  /**
   * After a GPU device loss the running call rejects with a `DeviceLost` error and the next call
   * reopens the model on a new device (weights from the Cache API): how many times that happened.
   */
  deviceRecoveries(): Promise<number>;
  /** Destroys the GPU device now, even mid-generation, to test recovery (as WEBGL_lose_context). */
  loseDeviceForTest(): Promise<void>;
  wasmMemoryBytes(): Promise<number>;
  /** Stops the running generation (finish_reason 'abort'). */
  interrupt(): void;
  unload(): Promise<void>;
}

export interface LabelScore {
  label: string;
  score: number;
}
export interface Entity {
  label: string;
  score: number;
  word: string;
  start: number;
  end: number;
}
export interface Answer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

/** Options of a text model's call: its signal, and the LoRA adapters it runs with. */
export interface AnalysisOptions extends CallOptions {
  /** Adapters loaded by `loadAdapter`, each at its scale (absent or empty: the base model). */
  adapters?: ActiveAdapter[];
}

export interface TextModel {
  model: string;
  loadInfo: LoadInfo;
  wasmMemoryBytes(): Promise<number>;
  embeddings: {
    create(
      req: { input: string | string[]; adapters?: ActiveAdapter[] },
      options?: CallOptions,
    ): Promise<{ object: 'list'; model: string; data: { object: 'embedding'; index: number; embedding: number[] }[] }>;
  };
  classify(texts: string | string[], options?: AnalysisOptions): Promise<LabelScore[][]>;
  ner(
    texts: string | string[],
    aggregation?: 'none' | 'simple' | 'first' | 'average' | 'max',
    options?: AnalysisOptions,
  ): Promise<Entity[][]>;
  qa(question: string, context: string, topK?: number, options?: AnalysisOptions): Promise<Answer[]>;
  /**
   * Fetches (or reads from the cache), verifies and attaches a PEFT adapter: LoRA pairs on the
   * encoder's projections and the task head it saved (`modules_to_save`), which replaces the
   * base head while the adapter is active. One that does not fit is an AdapterError.
   */
  loadAdapter(spec: AdapterSpec, options?: CallOptions): Promise<LoadedAdapter>;
  /** Frees an adapter's GPU memory. */
  unloadAdapter(id: string, options?: CallOptions): Promise<void>;
  /** The adapters loaded, in load order. */
  adapters(): Promise<LoadedAdapter[]>;
  unload(): Promise<void>;
}

/** The kinds of WebslmError (errors.js ERROR_KINDS; README and src/web.rs list the same). */
export type ErrorKind =
  | 'NoWebGPU'
  | 'DeviceLost'
  | 'OutOfMemory'
  | 'GpuError'
  | 'ContextOverflow'
  | 'InputTooLong'
  | 'FormatError'
  | 'UnsupportedModel'
  | 'TokenizerError'
  | 'InvalidConstraint'
  | 'AdapterError'
  | 'InvalidRequest'
  | 'ModelError'
  | 'LoadError'
  | 'UnknownModel'
  | 'UnknownTask'
  | 'NetworkError'
  | 'IntegrityError'
  | 'QuotaExceededError'
  | 'WorkerError'
  | 'AbortError'
  | 'InternalError';

export const ERROR_KINDS: readonly ErrorKind[];

export class WebslmError extends Error {
  constructor(name: string, message: string, extra?: { needed?: number; available?: number });
  name: ErrorKind | string;
  /** QuotaExceededError: bytes the download still needs, and bytes the origin may still use. */
  needed?: number;
  available?: number;
}

export function createEngine(model: ModelSpec, options?: EngineOptions): Promise<Engine | TextModel>;
/** transformers.js-style pipelines; each function takes a `signal` in its options. */
export function pipeline(
  task: 'sentiment-analysis' | 'text-classification',
  model: ModelSpec,
  options?: PipelineOptions,
): Promise<(text: string | string[], options?: CallOptions) => Promise<LabelScore[]>>;
export function pipeline(
  task: 'feature-extraction',
  model: ModelSpec,
  options?: PipelineOptions,
): Promise<(text: string | string[], options?: CallOptions) => Promise<number[][]>>;
export function pipeline(
  task: 'token-classification' | 'ner',
  model: ModelSpec,
  options?: PipelineOptions,
): Promise<
  (
    text: string | string[],
    options?: CallOptions & { aggregation_strategy?: 'none' | 'simple' | 'first' | 'average' | 'max' },
  ) => Promise<Entity[] | Entity[][]>
>;
export function pipeline(
  task: 'question-answering',
  model: ModelSpec,
  options?: PipelineOptions,
): Promise<
  (input: { question: string; context: string }, options?: CallOptions & { top_k?: number }) => Promise<Answer | Answer[] | null>
>;
export function pipeline(
  task: 'text-generation',
  model: ModelSpec,
  options?: PipelineOptions,
): Promise<(prompt: string, req?: GenerationRequest & CallOptions) => Promise<{ generated_text: string }[]>>;
export function checkSupport(
  model: ModelSpec,
  options?: { contextLength?: number; signal?: AbortSignal; kernels?: KernelPath } & CatalogueOptions,
): Promise<{
  ok: boolean;
  reasons: string[];
  /** For a catalogue id: every variant's download bytes and GPU memory. */
  catalogue?: CatalogueSizes;
  adapter?: {
    adapter: string;
    backend: string;
    software: boolean;
    shader_f16: boolean;
    max_storage_binding: number;
    max_buffer_size: number;
    kernels: KernelChoice;
  };
  /** The kernel path this adapter gets (with the `kernels` option), and why. */
  kernels?: KernelChoice;
  estimate?: { weightBytes: number; kvCacheBytes: number; totalBytes: number; note?: string };
  architecture?: string;
}>;
export function wasmMemoryBytes(): Promise<number>;
/** The values the `kernels` option takes. */
export const KERNEL_PATHS: readonly KernelPath[];
export const CHUNK_BYTES: number;
export function hasModelInCache(model: ModelSpec, options?: CallOptions & CatalogueOptions): Promise<boolean>;
export function deleteModelFromCache(model: ModelSpec, options?: CallOptions & CatalogueOptions): Promise<void>;
export function resolveModel(model: ModelSpec, options?: CatalogueOptions): ResolvedModel;
/** The sampling a request gets for the options it leaves out (the Rust defaults). */
export const SAMPLING_DEFAULTS: Readonly<{
  temperature: number;
  top_k: number;
  top_p: number;
  min_p: number;
  repeat_penalty: number;
}>;
/** A catalogue file: `url` is pinned to a hub commit; `unverified` where a size or hash could not be found. */
export interface CatalogueFile {
  path: string;
  url: string;
  size?: number;
  sha256?: string;
  unverified?: boolean;
}
export interface CatalogueVariant {
  id: string;
  format: 'gguf' | 'safetensors' | string;
  dtype: string;
  gpu_memory_mb: number;
  files: CatalogueFile[];
  unverified?: boolean;
}
/** src/catalogue/models.json (schema 2): an entry's own fields are its default download, named by `variant`. */
export const catalogue: {
  version: number;
  note: string;
  models: (Omit<CatalogueVariant, 'id'> & {
    id: string;
    name: string;
    task: string;
    model_type: string;
    license: string;
    license_url?: string;
    gated: boolean;
    context_length: number;
    default_context: number;
    repo: string;
    note: string;
    variant: string;
    variants: CatalogueVariant[];
  })[];
};
