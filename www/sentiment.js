// Sentiment without a sentiment model: all-MiniLM-L6-v2 (real weights, 87 MiB, available offline
// where the hub's classifiers are not) embeds each text and a handful of labelled example
// sentences, and a text takes the label whose examples it is closer to (cosine similarity to
// the mean of each label's example embeddings). A nearest-centroid classifier: good on clearly
// positive or negative text, no match for a trained classifier (DistilBERT SST-2) on subtle text.

/** A few clear examples per label; short, product- and service-review style, like the demo text. */
export const EXAMPLES = {
  POSITIVE: [
    'I love it, this is wonderful.',
    'Excellent quality: it works perfectly and I am very happy with it.',
    'Great service, fast and friendly.',
    'The best purchase I have made, highly recommended.',
    'What a delightful, beautiful day.',
  ],
  NEGATIVE: [
    'I hate it, this is terrible.',
    'Poor quality: it broke after a day and I am very disappointed.',
    'Awful service, slow and rude.',
    'The worst purchase I have made, do not buy it.',
    'It arrived late and damaged, a frustrating experience.',
  ],
};

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

function unitMean(vectors) {
  const sum = vectors[0].map((_, j) => vectors.reduce((s, v) => s + v[j], 0));
  const norm = Math.hypot(...sum);
  return sum.map((x) => x / norm);
}

/**
 * An object with the classify(texts) of a text-classification engine, over an embedding engine.
 * Each text gets [{ label, score }, ...], best first; score is the softmax of the cosine
 * similarities scaled by 20 (so a similarity gap of 0.1 is about 0.88 against 0.12), which keeps
 * the demo's "LABEL (score)" display honest about how close the call was.
 */
export function similaritySentiment(embedder) {
  const labels = Object.keys(EXAMPLES);
  let centroids = null;
  const embed = async (input, signal) =>
    (await embedder.embeddings.create({ input }, { signal })).data.map((d) => Array.from(d.embedding));
  return {
    async classify(texts, { signal } = {}) {
      if (!centroids) centroids = await Promise.all(labels.map(async (l) => unitMean(await embed(EXAMPLES[l], signal))));
      const vectors = await embed(texts, signal);
      return vectors.map((v) => {
        const sims = centroids.map((c) => dot(v, c));
        const exp = sims.map((s) => Math.exp(20 * (s - Math.max(...sims))));
        const total = exp.reduce((a, b) => a + b, 0);
        return labels.map((label, i) => ({ label, score: exp[i] / total, similarity: sims[i] })).sort((a, b) => b.score - a.score);
      });
    },
  };
}
