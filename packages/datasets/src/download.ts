import { nodeBuiltins, parseOptions } from '@mmesid/core';
import { z } from 'zod';
import { AMAZON_2014_CATEGORIES, amazon2014FileNames } from './amazon2014.js';
import { ChecksumError, ConfigError, DownloadError, OfflineError } from './errors.js';
import { createProgressPrinter, type ProgressEvent, type ProgressStream } from './progress.js';

/** A file to fetch, and what it should be when it arrives (when known). */
export interface RemoteFile {
  /** File name inside the download directory. */
  readonly name: string;
  readonly url: string;
  /** Expected size in bytes, checked when given. */
  readonly bytes?: number;
  /** Expected sha256 (hex), checked when given. */
  readonly sha256?: string;
}

/**
 * Where the McAuley lab published the Amazon 2014 files. These are plain `http` URLs on the
 * publisher's server; pass `baseUrl` to use a mirror.
 */
export const AMAZON_2014_BASE_URL = 'http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/';

/**
 * The two files of an Amazon 2014 category (5-core reviews and metadata). No size or checksum is
 * pinned: they could not be verified from where this package was built, so pass `expected` to
 * {@link download} if you have trusted values.
 */
export function amazon2014Sources(category: string, baseUrl = AMAZON_2014_BASE_URL): RemoteFile[] {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const names = amazon2014FileNames(category);
  return [names.reviews, names.meta].map((name) => ({ name, url: `${base}${name}` }));
}

/** One progress report of {@link download}. */
export interface DownloadProgress extends ProgressEvent {
  /** The file being fetched. */
  readonly file: string;
}

/** The serialisable part of {@link DownloadOptions}, validated by zod. */
export const DownloadOptionsSchema = z.strictObject({
  /** The cache root; Amazon files land in `<cacheDir>/amazon2014/`. */
  cacheDir: z.string().min(1),
  /** A mirror to use instead of {@link AMAZON_2014_BASE_URL}. */
  baseUrl: z.url().optional(),
  /** Expected sizes / sha256 by file name; they override anything else known. */
  expected: z
    .record(
      z.string(),
      z.strictObject({
        bytes: z.number().int().min(0).optional(),
        sha256: z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/)
          .optional(),
      }),
    )
    .default({}),
  /** How many times a dropped connection is resumed before giving up (the partial file is kept). */
  retries: z.number().int().min(0).default(3),
});

/** Options of {@link download}. */
export interface DownloadOptions extends z.input<typeof DownloadOptionsSchema> {
  /** Fetch these files instead of the ones known for `name`. */
  readonly files?: readonly RemoteFile[];
  /**
   * Progress: a callback, `false` for silence, or (default) a bar on stderr when it is a
   * terminal and plain lines otherwise.
   */
  readonly onProgress?: ((event: DownloadProgress) => void) | false;
  /** The stream the default progress printer writes to (default `process.stderr`). */
  readonly progressStream?: ProgressStream;
  /** The fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

/** What {@link download} fetched or found in the cache. */
export interface DownloadedFile {
  readonly name: string;
  readonly url: string;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Already complete in the cache; nothing was fetched. */
  readonly cached: boolean;
  /** A partial file from an earlier attempt was continued with an HTTP Range request. */
  readonly resumed: boolean;
}

/** The result of {@link download}: the directory to load from and its files. */
export interface DownloadResult {
  readonly dir: string;
  readonly files: readonly DownloadedFile[];
}

const OFFLINE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'ECONNRESET',
]);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Fetches a dataset's public files into a cache and returns the directory to load from.
 * `name` is an Amazon 2014 category (`Beauty`, `Toys_and_Games`, `Sports_and_Outdoors`; any other
 * category name of that release works too) or anything else together with `files`.
 *
 * - A complete file in the cache is reused (after checking any expected size and sha256; a cached
 *   file that fails the check is deleted and fetched again).
 * - A partial file (`<name>.part`) is resumed with an HTTP `Range` request; a server that ignores
 *   the range is handled by starting over. A dropped connection is resumed up to `retries` times.
 * - Every file is checked against the expected size and sha256 when known
 *   ({@link ChecksumError} otherwise, and the bad bytes are deleted) and its sha256 is reported.
 * - Without network it throws {@link OfflineError} naming each missing file, its URL, the path it
 *   should have, and the `--data-dir` alternative.
 *
 * @example
 * const { dir } = await download('Beauty', { cacheDir: '.cache/mmesid' });
 * const data = await loadAmazon2014({ dir, category: 'Beauty' });
 */
export async function download(name: string, options: DownloadOptions): Promise<DownloadResult> {
  const { files: customFiles, onProgress, progressStream, fetch: fetchImpl, signal, ...rest } = options;
  const opts = parseOptions(DownloadOptionsSchema, rest, 'download options');
  const { fs, fsp, path, crypto } = await nodeBuiltins();

  let files: readonly RemoteFile[];
  let dir: string;
  if (customFiles !== undefined) {
    files = customFiles;
    dir = path.join(opts.cacheDir, name);
  } else {
    if (!/^[A-Za-z_]+$/.test(name)) {
      throw new ConfigError(
        `download: unknown dataset ${JSON.stringify(name)}; use an Amazon 2014 category ` +
          `(${AMAZON_2014_CATEGORIES.join(', ')}) or pass files`,
      );
    }
    files = amazon2014Sources(name, opts.baseUrl);
    dir = path.join(opts.cacheDir, 'amazon2014');
  }
  await fsp.mkdir(dir, { recursive: true });
  const doFetch = fetchImpl ?? globalThis.fetch;

  const printer =
    onProgress === false || onProgress !== undefined
      ? undefined
      : createProgressPrinter(progressStream ?? (process.stderr as ProgressStream));
  const report = (e: DownloadProgress, final = false) => {
    if (typeof onProgress === 'function') onProgress(e);
    else if (printer) (final ? printer.finish : printer.update)(e);
  };

  const sha256Of = async (p: string): Promise<string> => {
    const h = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(p)) h.update(chunk as Uint8Array);
    return h.digest('hex');
  };
  const sizeOf = (p: string): Promise<number | undefined> =>
    fsp.stat(p).then(
      (s) => s.size,
      () => undefined,
    );

  const results: DownloadedFile[] = [];
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const want = { bytes: file.bytes, sha256: file.sha256, ...opts.expected[file.name] };
    const finalPath = path.join(dir, file.name);
    const partPath = `${finalPath}.part`;

    // A complete file in the cache.
    const cachedSize = await sizeOf(finalPath);
    if (cachedSize !== undefined) {
      const sha = await sha256Of(finalPath);
      const okSize = want.bytes === undefined || want.bytes === cachedSize;
      const okSha = want.sha256 === undefined || want.sha256.toLowerCase() === sha;
      if (okSize && okSha) {
        results.push({
          name: file.name,
          url: file.url,
          path: finalPath,
          bytes: cachedSize,
          sha256: sha,
          cached: true,
          resumed: false,
        });
        continue;
      }
      await fsp.rm(finalPath, { force: true });
    }

    let resumed = false;
    let attempt = 0;
    for (;;) {
      let offset = (await sizeOf(partPath)) ?? 0;
      if (want.bytes !== undefined && offset > want.bytes) {
        await fsp.rm(partPath, { force: true });
        offset = 0;
      }
      let response: Response;
      try {
        response = await doFetch(file.url, {
          headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
          ...(signal ? { signal } : {}),
        });
      } catch (cause) {
        if (signal?.aborted) throw cause;
        const code = errorCode(cause);
        if (code !== undefined && !OFFLINE_CODES.has(code)) {
          throw new DownloadError(`${file.url}: ${(cause as Error).message} (${code})`, { cause });
        }
        const missing = files.slice(f).map((x) => ({ url: x.url, path: path.join(dir, x.name) }));
        throw new OfflineError(
          `Cannot reach ${new URL(file.url).host}${code ? ` (${code})` : ''}; these files are missing:\n` +
            missing.map((m) => `  ${m.url}\n    -> ${m.path}`).join('\n') +
            `\nEither fetch them some other way into ${dir} (a partial ${path.basename(partPath)} is resumed ` +
            'next time), or point the tool at a directory that already holds them with --data-dir <dir> ' +
            '(in code: loadAmazon2014({ dir, category })).',
          missing,
          { cause },
        );
      }

      let writeFrom: number;
      let total: number | undefined;
      if (response.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          await response.body?.cancel();
          await fsp.rm(partPath, { force: true });
          continue; // an answer we cannot splice in: start over
        }
        writeFrom = offset;
        total = m[3] === '*' ? undefined : Number(m[3]);
        resumed = true;
      } else if (response.status === 200) {
        writeFrom = 0;
        const len = response.headers.get('content-length');
        total = len === null ? undefined : Number(len);
      } else if (response.status === 416 && offset > 0) {
        await response.body?.cancel();
        const m = /^bytes \*\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
        if (m && Number(m[1]) === offset) break; // the partial file was already complete
        await fsp.rm(partPath, { force: true });
        continue;
      } else {
        await response.body?.cancel();
        throw new DownloadError(`${file.url}: HTTP ${response.status} ${response.statusText}`);
      }
      if (total === undefined && want.bytes !== undefined) total = want.bytes;

      const out = fs.createWriteStream(partPath, { flags: writeFrom === 0 ? 'w' : 'a' });
      let received = writeFrom;
      try {
        if (!response.body) throw new DownloadError(`${file.url}: the response has no body`);
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
          received += chunk.byteLength;
          report({
            file: file.name,
            label: file.name,
            done: received,
            ...(total !== undefined ? { total } : {}),
          });
        }
        await new Promise<void>((resolve, reject) =>
          out.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
      } catch (cause) {
        await new Promise<void>((r) => out.end(() => r()));
        if (signal?.aborted) throw cause;
        if (attempt++ < opts.retries) continue;
        throw new DownloadError(
          `${file.url}: the connection dropped after ${received} bytes (${opts.retries} resume attempts). ` +
            `The partial file ${partPath} is kept; run again to resume.`,
          { cause },
        );
      }
      if (total !== undefined && received < total) {
        if (attempt++ < opts.retries) continue;
        throw new DownloadError(
          `${file.url}: got ${received} of ${total} bytes; the partial file ${partPath} is kept, run again to resume`,
        );
      }
      report(
        { file: file.name, label: file.name, done: received, ...(total !== undefined ? { total } : {}) },
        true,
      );
      break;
    }

    const bytes = (await sizeOf(partPath)) ?? 0;
    if (want.bytes !== undefined && bytes !== want.bytes) {
      await fsp.rm(partPath, { force: true });
      throw new ChecksumError(finalPath, 'size', `${want.bytes} bytes`, `${bytes} bytes`);
    }
    const sha = await sha256Of(partPath);
    if (want.sha256 !== undefined && want.sha256.toLowerCase() !== sha) {
      await fsp.rm(partPath, { force: true });
      throw new ChecksumError(finalPath, 'sha256', want.sha256.toLowerCase(), sha);
    }
    await fsp.rename(partPath, finalPath);
    results.push({
      name: file.name,
      url: file.url,
      path: finalPath,
      bytes,
      sha256: sha,
      cached: false,
      resumed,
    });
  }
  return { dir, files: results };
}
