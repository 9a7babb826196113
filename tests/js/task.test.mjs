// Which task a checkpoint serves (pkg/task.js): config.json's architectures to a task, which
// pipeline task a checkpoint can run, and the typed errors, without a browser.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canServe, PIPELINE_TASKS, requireTask, taskFromConfig } from '../../pkg/task.js';

const config = (architectures) => new TextEncoder().encode(JSON.stringify({ architectures }));

test('architectures name the task', () => {
  const cases = {
    LlamaForCausalLM: 'text-generation',
    Gemma3ForConditionalGeneration: 'text-generation',
    GPT2LMHeadModel: 'text-generation',
    DistilBertForSequenceClassification: 'text-classification',
    BertForTokenClassification: 'token-classification',
    MobileBertForQuestionAnswering: 'question-answering',
    BertModel: 'feature-extraction',
    BertForMaskedLM: 'feature-extraction',
  };
  for (const [arch, task] of Object.entries(cases)) assert.equal(taskFromConfig(config([arch]), 'c'), task, arch);
  assert.equal(taskFromConfig(config(['WhisperForAudioClassification']), 'c'), undefined);
  assert.equal(taskFromConfig(config(undefined), 'c'), undefined);
  assert.throws(() => taskFromConfig(new TextEncoder().encode('{ not json'), 'c'), { name: 'FormatError' });
});

test('every encoder embeds; every other task needs its own head', () => {
  assert.ok(canServe('text-classification', 'feature-extraction'));
  assert.ok(!canServe('text-generation', 'feature-extraction'));
  assert.ok(!canServe('feature-extraction', 'text-generation'));
  assert.ok(!canServe('text-classification', 'question-answering'));
  assert.throws(() => requireTask('m', 'text-generation', 'question-answering'), {
    name: 'UnsupportedModel',
    message: /m is a text-generation checkpoint and cannot run question-answering/,
  });
  assert.equal(PIPELINE_TASKS['sentiment-analysis'], 'text-classification');
  assert.equal(PIPELINE_TASKS.ner, 'token-classification');
});
