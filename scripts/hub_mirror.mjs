// A local hub mirror for the tests: under /hub/ the test server answers the hub's URL layout,
// /hub/<owner>/<name>/resolve/<commit>/<file>, with models/<catalogue id>/<file> (a GGUF:
// models/<file>, where scripts/fetch-models.sh puts it), for exactly the
// URLs the catalogue pins (another commit or file is a 404, as on a mirror of pinned files). So
// `hubUrl: origin + '/hub'` (JS) and `WEBSLM_HUB=origin/hub` (CLI) load catalogue ids from the
// copies fetched here (scripts/fetch-models.sh), checked against the catalogue's sizes and sha256.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

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
  if (!local) return null;
  // A folder per encoder (models/all-minilm-l6-v2/); a GGUF under its own name (models/X.gguf).
  const inFolder = join(root, 'models', local);
  return existsSync(inFolder) ? inFolder : join(root, 'models', basename(local));
}
