/** A static file server on 127.0.0.1 for browser checks: URL prefixes mapped to folders. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

/** A running server and its origin (`http://127.0.0.1:<port>`). */
export interface StaticServer {
  origin: string;
  /** Every request so far, in order, as `<status> <path>` (to check what a page fetched). */
  log: string[];
  close(): Promise<void>;
}

/**
 * Serves `mounts` (`{ '/': distDir, '/models/x/': dir }`, longest prefix wins) on 127.0.0.1 with a
 * free port. Paths escaping their folder get 403, missing files 404; folders serve `index.html`.
 */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const log: string[] = [];
  const reply = (res: import('node:http').ServerResponse, status: number, path: string) => {
    log.push(`${status} ${path}`);
    res.writeHead(status).end();
  };
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (!prefix) return reply(res, 404, path);
    const root = normalize(mounts[prefix]!);
    let file = normalize(join(root, path.slice(prefix.length)));
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep))
      return reply(res, 403, path);
    try {
      let s = await stat(file);
      if (s.isDirectory()) {
        file = join(file, 'index.html');
        s = await stat(file);
      }
      log.push(`200 ${path}`);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': s.size,
      });
      createReadStream(file).pipe(res);
    } catch {
      reply(res, 404, path);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('serveStatic: the server has no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    log,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
