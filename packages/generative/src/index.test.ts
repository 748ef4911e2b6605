import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public entry point', () => {
  it('exports every public function and class', () => {
    for (const name of [
      'SidVocabulary',
      'SidTrie',
      'beamSearch',
      'GenerativeRecommender',
      'LlamaSidDecoder',
      'reorderCache',
      'trainGenerative',
      'evaluateGenerative',
      'saveGenerative',
      'loadGenerative',
      'tigerMmVocabulary',
      'segmentsFromExports',
      'LetterTokenizer',
      'trainLetter',
      'letterSemanticIds',
      'collaborativeAlignmentLoss',
      'diversityLoss',
      'balancedClusters',
      'samplePositives',
      'MotorModel',
      'trainMotor',
    ])
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
  });
});
