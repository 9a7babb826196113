// The catalogue as build-pkg.sh writes it to pkg/generated/catalogue.js.
import { readFileSync } from 'node:fs';

export default JSON.parse(readFileSync(new URL('../../../src/catalogue/models.json', import.meta.url), 'utf8'));
