const w = new Worker(new URL('./w.ts', import.meta.url), { type: 'module' });
w.onmessage = (e) => { document.getElementById('out')!.textContent = JSON.stringify(e.data); };
w.onerror = (e) => { document.getElementById('out')!.textContent = 'ERR ' + e.message; };
w.postMessage('go');
