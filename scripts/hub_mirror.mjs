// A local hub mirror for the tests: under /hub/ the test server answers the hub's URL layout,
// /hub/<owner>/<name>/resolve/<commit>/<file>, with models/<catalogue id>/<file>, for exactly the
// URLs the catalogue pins (another commit or file is a 404, as on a mirror of pinned files). So
// `hubUrl: origin + '/hub'` (JS) and `WEBSLM_HUB=origin/hub` (CLI) load catalogue ids from the
// copies fetched here (scripts/fetch-models.sh), checked against the catalogue's sizes and sha256.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const HUB = 'https://huggingface.co';

/** @type {Map<string, string> | null} catalogue URL -> `<id>/<path>` */
let pinned = null;

function pinnedUrls(root) {
  if (pinned) return pinned;
  const catalogue = JSON.parse(readFileSync(join(root, 'src/catalogue/models.json'), 'utf8'));
  pinned = new Map();
  for (const m of catalogue.models) {
    for (const v of [m, ...(m.variants ?? [])]) {
      for (const f of v.files) pinned.set(f.url, `${m.id}/${f.path}`);
    }
  }
  return pinned;
}

/**
 * The local file for `rest` (`/<owner>/<name>/resolve/<commit>/<file>`, the path after /hub), or
 * null when the catalogue pins no such URL.
 * @param {string} root  the repository root
 * @param {string} rest
 */
export function mirrorPath(root, rest) {
  const local = pinnedUrls(root).get(HUB + rest);
  return local ? join(root, 'models', local) : null;
}
