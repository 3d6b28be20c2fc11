import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { CHART_README, renderChartReadme } from './chart-readme.js';
import { valuesSchema } from './chart-files.js';

describe('chart/README.md', () => {
  it('is current: generated from values.schema.json and values.yaml (run npm run chart:readme)', () => {
    expect(existsSync(CHART_README), 'chart/README.md is missing: run npm run chart:readme').to.equal(true);
    expect(readFileSync(CHART_README, 'utf8')).to.equal(renderChartReadme());
  });

  it('has a row for every top-level value of the schema', () => {
    const readme = renderChartReadme();
    for (const key of Object.keys(valuesSchema().properties as object)) {
      if (key !== 'global') expect(readme, key).to.include(`| \`${key}\` |`);
    }
  });
});
