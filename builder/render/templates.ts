// The handlebars templates under templates/, compiled once. Only the yaml/block helpers may
// interpolate in the YAML templates: a bare {{value}} would be HTML-escaped; templates.test.ts
// rejects one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { fromPackageRoot } from '../package-root.js';
import { yamlBlock, yamlValue } from './yaml-scalars.js';

/** The YAML templates: every value in them goes through {{yaml}} or {{block}}. */
export const YAML_TEMPLATES = ['user-data', 'meta-data', 'network-config', 'preseed'] as const;
export type TemplateName = (typeof YAML_TEMPLATES)[number] | 'firstboot.service' | 'install-firstboot.sh';

const handlebars = Handlebars.create();
handlebars.registerHelper('yaml', (value: unknown) => new handlebars.SafeString(yamlValue(value)));
handlebars.registerHelper('block', (text: string, indent: number) => new handlebars.SafeString(yamlBlock(text, indent)));

export const templatesDir = (): string => fromPackageRoot('templates');

const compiled = new Map<TemplateName, HandlebarsTemplateDelegate>();

export function renderTemplate(name: TemplateName, view: object): string {
  let template = compiled.get(name);
  if (!template) {
    const source = readFileSync(join(templatesDir(), `${name}.hbs`), 'utf8');
    // Not strict: optional keys are simply absent. A misspelt key is caught anyway, because
    // `yaml` refuses undefined and the tests parse every output back against its plan.
    template = handlebars.compile(source, { noEscape: false });
    compiled.set(name, template);
  }
  return template(view);
}
