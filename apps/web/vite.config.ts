// The page's build: workspace packages resolve to their TypeScript source (the "source" export
// condition), the inference worker is an ES module worker, and the output works from any folder.
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, sourcemap: true },
  optimizeDeps: {
    // Only the page: test builds under test-artifacts/ hold HTML files too.
    entries: ['index.html'],
    include: [
      'zod',
      '@mmesid/llama > @huggingface/jinja',
      '@mmesid/llama > @huggingface/tokenizers',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgpu',
    ],
  },
});
