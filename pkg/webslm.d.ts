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
      task?: 'text-generation' | 'feature-extraction' | 'text-classification' | 'token-classification' | 'question-answering';
      configUrl?: string;
      tokenizerUrl?: string;
      tokenizerConfigUrl?: string;
    };

export interface Progress {
  file: string;
  loaded: number;
  total: number;
  bytesPerSecond: number;
  fromCache: boolean;
}

export interface EngineOptions {
  /** Run the model in a Web Worker (default true). */
  worker?: boolean;
  onProgress?: (p: Progress) => void;
  contextLength?: number;
}

export interface LoadInfo {
  weightBytes: number;
  largestTensorBytes: number;
  sha256: string;
  fromCache: boolean;
  fetchedBytes: number;
  seconds: number;
  totalSeconds: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerationRequest {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string | string[];
  stream?: boolean;
  /** Keep generating past end-of-text tokens (as llama.cpp's ignore_eos). */
  ignore_eos?: boolean;
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
  choices: { index: number; message: ChatMessage; finish_reason: 'stop' | 'length' | 'abort' }[];
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { content?: string }; finish_reason: string | null }[];
  usage?: Usage;
}

export interface Engine {
  model: string;
  chat: {
    completions: {
      create(req: GenerationRequest & { messages: ChatMessage[]; stream?: false }): Promise<ChatCompletion>;
      create(req: GenerationRequest & { messages: ChatMessage[]; stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(req: GenerationRequest & { prompt: string | number[]; stream?: false }): Promise<unknown>;
    create(req: GenerationRequest & { prompt: string | number[]; stream: true }): Promise<AsyncIterable<unknown>>;
  };
  loadInfo: LoadInfo;
  tokenize(text: string): Promise<number[]>;
  /** The ids chat.completions.create feeds the model for `messages`. */
  promptIds(messages: ChatMessage[]): Promise<number[]>;
  /** Forgets the KV cache, so the next prompt is prefilled in full (no prefix reuse). */
  resetCache(): Promise<void>;
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

export interface LabelScore { label: string; score: number }
export interface Entity { label: string; score: number; word: string; start: number; end: number }
export interface Answer { answer: string; score: number; start: number; end: number }

export interface TextModel {
  model: string;
  loadInfo: LoadInfo;
  wasmMemoryBytes(): Promise<number>;
  embeddings: { create(req: { input: string | string[] }): Promise<{ data: { index: number; embedding: number[] }[] }> };
  classify(texts: string | string[]): Promise<LabelScore[][]>;
  ner(texts: string | string[], aggregation?: 'none' | 'simple' | 'first' | 'average' | 'max'): Promise<Entity[][]>;
  qa(question: string, context: string, topK?: number): Promise<Answer[]>;
  unload(): Promise<void>;
}

export class WebslmError extends Error {
  constructor(name: string, message: string, extra?: object);
  name: 'NoWebGPU' | 'IntegrityError' | 'QuotaExceededError' | 'NetworkError' | 'UnknownModel' | 'UnsupportedModel' | 'ContextOverflow' | 'InputTooLong' | 'DeviceLost' | 'LoadError' | 'WorkerError' | string;
  /** QuotaExceededError: bytes the download still needs, and bytes the origin may still use. */
  needed?: number;
  available?: number;
}

export function createEngine(model: ModelSpec, options?: EngineOptions): Promise<Engine | TextModel>;
export function pipeline(task: string, model: ModelSpec, options?: EngineOptions): Promise<(...args: any[]) => Promise<any>>;
export function checkSupport(
  model: ModelSpec,
  options?: { contextLength?: number },
): Promise<{
  ok: boolean;
  reasons: string[];
  adapter?: { adapter: string; backend: string; software: boolean; shader_f16: boolean; max_storage_binding: number; max_buffer_size: number };
  estimate?: { weightBytes: number; kvCacheBytes: number; totalBytes: number; note?: string };
  architecture?: string;
}>;
export function wasmMemoryBytes(): Promise<number>;
export const CHUNK_BYTES: number;
export function hasModelInCache(model: ModelSpec): Promise<boolean>;
export function deleteModelFromCache(model: ModelSpec): Promise<void>;
export function resolveModel(model: ModelSpec): unknown;
export const catalogue: {
  version: number;
  models: { id: string; name: string; task: string; gpu_memory_mb: number; files: { path: string; url: string; size: number }[] }[];
};
