// Types of pkg/webslm.js (hand-written; the generated wasm glue has its own in generated/).

export type ModelSpec =
  | string
  | {
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
  onProgress?: (p: Progress) => void;
  contextLength?: number;
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
      create(req: GenerationRequest & { messages: ChatMessage[]; stream: true }): AsyncIterable<ChatCompletionChunk>;
    };
  };
  completions: { create(req: GenerationRequest & { prompt: string }): Promise<unknown> };
  tokenize(text: string): number[];
  interrupt(): void;
  unload(): Promise<void>;
}

export interface LabelScore { label: string; score: number }
export interface Entity { label: string; score: number; word: string; start: number; end: number }
export interface Answer { answer: string; score: number; start: number; end: number }

export interface TextModel {
  model: string;
  embeddings: { create(req: { input: string | string[] }): Promise<{ data: { index: number; embedding: number[] }[] }> };
  classify(texts: string | string[]): Promise<LabelScore[][]>;
  ner(texts: string | string[], aggregation?: 'none' | 'simple' | 'first' | 'average' | 'max'): Promise<Entity[][]>;
  qa(question: string, context: string, topK?: number): Promise<Answer[]>;
  unload(): Promise<void>;
}

export class WebslmError extends Error {
  name: 'NoWebGPU' | 'IntegrityError' | 'QuotaExceededError' | 'NetworkError' | 'UnknownModel' | 'UnsupportedModel' | string;
}

export function createEngine(model: ModelSpec, options?: EngineOptions): Promise<Engine | TextModel>;
export function pipeline(task: string, model: ModelSpec, options?: EngineOptions): Promise<(...args: any[]) => Promise<any>>;
export function checkSupport(model: ModelSpec): Promise<{ ok: boolean; reasons: string[]; adapter?: unknown }>;
export function hasModelInCache(model: ModelSpec): Promise<boolean>;
export function deleteModelFromCache(model: ModelSpec): Promise<void>;
export function resolveModel(model: ModelSpec): unknown;
export const catalogue: { version: number; models: { id: string; name: string; task: string; gpu_memory_mb: number }[] };
