import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { templatesDir, YAML_TEMPLATES } from './templates.js';

describe('YAML templates', () => {
  it.each(YAML_TEMPLATES)('%s interpolates only through {{yaml}} and {{block}}', (name) => {
    const source = readFileSync(join(templatesDir(), `${name}.hbs`), 'utf8');
    const mustaches = source.match(/\{\{[^}]*\}\}/g) ?? [];
    expect(mustaches.length).toBeGreaterThan(0);
    const unsafe = mustaches.filter((m) => !/^\{\{(yaml|block) [^}]+\}\}$|^\{\{[#/](if|each)\b[^}]*\}\}$|^\{\{else\}\}$/.test(m));
    expect(unsafe).toEqual([]);
  });
});
