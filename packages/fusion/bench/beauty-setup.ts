// The Beauty-scale inputs the fusion benchmarks share (fusion.bench.ts, step-profile.ts): the
// authors' Beauty sequences and SASRec table, and seeded random stand-ins for the text/visual
// tables (64-wide) and semantic IDs (L 4, K 256, eDim 64), whose values do not change the cost.
import { itemFrequency, leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { Rng } from '@mmesid/tensor';
import { type ItemTable, type ModalitySemanticIds, randomSemanticIds } from '../src/index.js';

export async function beautySetup(dataDir: string) {
  const dataset = await loadAuthorsDataset(dataDir);
  const N = dataset.numItems;
  const split = leaveOneOut(dataset);
  const sasrec = await loadEmbedding(`${dataDir}/sasrec_item_emb.f32`);
  const rng = new Rng('fusion-bench');
  const standIn = (cols: number): ItemTable => ({
    rows: N + 1,
    cols,
    data: rng.fillNormal(new Float32Array((N + 1) * cols), 0, 0.1),
  });
  const tables = { collaborative: sasrec, visual: standIn(64), text: standIn(64) };
  const sids = randomSemanticIds(Object.keys(tables), N, { levels: 4, codebookSize: 256, dim: 64, seed: 1 });
  const semanticIds: Record<string, ModalitySemanticIds> = Object.fromEntries(
    Object.entries(sids).map(([m, s]) => [
      m,
      { ...s, codebooks: rng.fillNormal(new Float32Array(4 * 256 * 64), 0, 0.1) },
    ]),
  );
  return { dataset, N, split, tables, semanticIds, frequency: itemFrequency(split.train, N) };
}
