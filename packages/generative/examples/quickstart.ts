// The README's example, runnable: pnpm --filter @mmesid/generative exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs examples/quickstart.ts

import {
  evaluateGenerative,
  GenerativeRecommender,
  SidVocabulary,
  trainGenerative,
} from '@mmesid/generative';
import { fromPretrained, Llama2cTokenizer } from '@mmesid/llama';
import { initBackend, Rng } from '@mmesid/tensor';

await initBackend({ prefer: 'wasm' });
const dir = '../../../shared/models/stories260k';
const N = 200;
const rng = new Rng(0);
const ids = new Int32Array((N + 1) * 3); // row 0 = padding
for (let i = 3; i < ids.length; i++) ids[i] = rng.int(8);
const vocab = SidVocabulary.build({ collaborative: { ids, levels: 3, codebookSize: 8 } });
console.log(vocab.collisions); // { collidingItems: ..., maxGroupSize: ..., disambiguationSize: ... }

const tok = await Llama2cTokenizer.load(`${dir}/tokenizer.llama2c.json`);
const gen = await GenerativeRecommender.create({
  lm: await fromPretrained(dir),
  vocab,
  prompt: { prefix: tok.encode('History:', { bos: true }), suffix: tok.encode(' Next:', { bos: false }) },
});
const examples = Array.from({ length: 64 }, () => {
  const h = [1 + rng.int(N), 1 + rng.int(N)];
  return { history: h, target: (h[1]! % N) + 1 };
});
await trainGenerative(gen, examples, { epochs: 2, batchSize: 16, lr: 1e-3 });
const [top] = await gen.recommend([[5, 17]], { beamWidth: 20 }); // items best first, log-prob scores
console.log(top!.items, top!.scores);
const ev = await evaluateGenerative(gen, examples.slice(0, 16), { beamWidth: 20 });
console.log(ev.metrics.ndcg[10], ev.found);
gen.dispose();
