import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Dataset,
  datasetReport,
  generateSynthetic,
  leaveOneOut,
  loadAuthorsDataset,
  loadDataDir,
  loadEmbedding,
  type Matrix,
  saveAuthorsDataset,
  saveEmbedding,
  splitReport,
} from '@mmesid/datasets';
import type { StageContext } from '../cache.js';
import type { Options } from '../options.js';

export interface DataConfig {
  dataset: Options['dataset'];
  source: string;
  synthetic?: { numUsers: number; numItems: number; seed: number };
}

export interface DataSummary {
  name: string;
  users: number;
  items: number;
  interactions: number;
  density: number;
  trainPairs: number;
  testPairs: number;
  hasVisualFeatures: boolean;
  source: string;
}

const CATEGORY: Record<string, string> = {
  toys: 'Toys_and_Games',
  sports: 'Sports_and_Outdoors',
  beauty: 'Beauty',
};

/** The synthetic default: small enough for minutes on 2 cores, large enough to rank meaningfully. */
export function syntheticConfig(seed: number, bench: boolean) {
  return bench ? { numUsers: 2000, numItems: 800, seed } : { numUsers: 600, numItems: 300, seed };
}

/** Loads (or generates) the dataset and stores it in the authors' layout inside the stage folder. */
export async function runData(ctx: StageContext, cfg: DataConfig): Promise<DataSummary> {
  let ds: Dataset;
  let visual: Matrix | null = null;
  if (cfg.dataset === 'synthetic') {
    const syn = generateSynthetic(cfg.synthetic);
    ds = syn;
    visual = syn.visual;
  } else {
    ds = await loadDataDir(cfg.source, { category: CATEGORY[cfg.dataset] });
  }
  await saveAuthorsDataset(ctx.workDir, ds);
  if (visual)
    await saveEmbedding(resolve(ctx.workDir, 'visual.f32'), visual, { source: 'synthetic visual features' });
  const rep = datasetReport(ds);
  const split = leaveOneOut(ds);
  const sr = splitReport(split);
  ctx.log(
    `${ds.name}: ${rep.users} users, ${rep.items} items, ${rep.interactions} interactions; ${split.train.length} training pairs`,
  );
  return {
    name: ds.name,
    users: rep.users,
    items: rep.items,
    interactions: rep.interactions,
    density: rep.density,
    trainPairs: split.train.length,
    testPairs: sr.testPairs,
    hasVisualFeatures: visual !== null,
    source: cfg.source,
  };
}

/** Reads the stored dataset back (and the synthetic visual features when there are any). */
export async function loadStoredData(
  dir: string,
  name: string,
): Promise<{ dataset: Dataset; visual: Matrix | null }> {
  const dataset = await loadAuthorsDataset(dir, { name });
  const visualFile = resolve(dir, 'visual.f32');
  const visual = existsSync(visualFile) ? await loadEmbedding(visualFile) : null;
  return { dataset, visual };
}
