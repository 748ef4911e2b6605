/**
 * Where a run is: a folder URL normalised to end with `/`, or the folders of a picked directory
 * that hold a `run.json`. Pure functions, used by the page before anything is downloaded.
 */

/** A folder URL with a trailing slash; a URL that names `run.json` itself becomes its folder. */
export function runFolderUrl(url: string, base?: string): string {
  const u = new URL(url, base);
  u.search = '';
  u.hash = '';
  if (u.pathname.endsWith('/run.json')) u.pathname = u.pathname.slice(0, -'run.json'.length);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/**
 * The folders inside a picked directory that hold a `run.json`, shallowest first, as prefixes of
 * `webkitRelativePath` (e.g. `out/export/`). A user may pick the run folder itself or any parent.
 */
export function findRunRoots(paths: readonly string[]): string[] {
  const roots = paths
    .filter((p) => p === 'run.json' || p.endsWith('/run.json'))
    .map((p) => p.slice(0, -'run.json'.length));
  return roots.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}
