/** The backend indicator: which backend runs inference, where, and why better ones were not used. */
import type { BackendInfo } from '../protocol.js';
import { h } from './dom.js';

const LABEL: Record<string, string> = { webgpu: 'WebGPU', wasm: 'WASM', cpu: 'CPU' };

/** Shows the chosen backend (`data-backend` holds its name) and each skipped backend's reason. */
export function renderBackend(el: HTMLElement, info: BackendInfo): void {
  const name = LABEL[info.name] ?? info.name;
  const fallback = info.name !== 'webgpu';
  el.dataset.backend = info.name;
  el.dataset.worker = String(info.inWorker);
  el.className = `badge ${fallback ? 'badge-fallback' : 'badge-ok'}`;
  const where = info.inWorker ? 'in a Web Worker' : 'on the page thread';
  const why = info.skipped.map((s) => h('li', {}, h('b', {}, LABEL[s.name] ?? s.name), `: ${s.reason}`));
  const parts: HTMLElement[] = [
    h('span', { class: 'badge-name' }, fallback ? `${name} (fallback)` : name),
    h('span', { class: 'badge-where' }, ` ${where}`),
  ];
  if (info.adapter) parts.push(h('span', { class: 'badge-adapter' }, ` · ${info.adapter}`));
  if (info.workerNote) why.push(h('li', {}, h('b', {}, 'worker'), `: ${info.workerNote}`));
  if (why.length) parts.push(h('ul', { class: 'badge-why' }, ...why));
  el.replaceChildren(...parts);
}

/** Shows that no backend could start. */
export function renderBackendError(el: HTMLElement, message: string): void {
  el.dataset.backend = 'none';
  el.className = 'badge badge-error';
  el.replaceChildren(
    h('span', { class: 'badge-name' }, 'no backend'),
    h('ul', { class: 'badge-why' }, h('li', {}, message)),
  );
}
