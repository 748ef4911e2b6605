// Two small chart kinds for the report, written as plain SVG so the report needs no browser.

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#17becf',
];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Series {
  name: string;
  values: number[];
}

/** Line chart of several series over their index (e.g. normalised singular values, log10 y). */
export function lineChart(
  series: Series[],
  opts: { title: string; xLabel: string; yLabel: string; logY?: boolean },
): string {
  const W = 640;
  const H = 400;
  const m = { l: 70, r: 180, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const tr = (v: number) => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = series.flatMap((s) => s.values.map(tr)).filter(Number.isFinite);
  const yMin = Math.min(...all);
  const yMax = Math.max(...all);
  const xMax = Math.max(1, ...series.map((s) => s.values.length - 1));
  const x = (i: number) => m.l + (i / xMax) * pw;
  const y = (v: number) => m.t + ph - ((tr(v) - yMin) / (yMax - yMin || 1)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="20" font-size="14">${esc(opts.title)}</text>`,
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text x="15" y="${m.t + ph / 2}" transform="rotate(-90 15 ${m.t + ph / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    const yy = m.t + ph - (ph * k) / 4;
    parts.push(
      `<text x="${m.l - 6}" y="${yy + 4}" text-anchor="end">${opts.logY ? `1e${v.toFixed(1)}` : v.toFixed(3)}</text>`,
    );
  }
  parts.push(`<text x="${m.l}" y="${m.t + ph + 16}" text-anchor="middle">0</text>`);
  parts.push(`<text x="${m.l + pw}" y="${m.t + ph + 16}" text-anchor="middle">${xMax}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.values.map((v, j) => `${x(j).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
    parts.push(`<rect x="${m.l + pw + 15}" y="${m.t + i * 18}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${m.l + pw + 32}" y="${m.t + i * 18 + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Grouped bar chart: one group per label, one bar per series. */
export function barChart(
  labels: string[],
  series: Series[],
  opts: { title: string; yLabel: string },
): string {
  const W = Math.max(480, 120 + labels.length * (series.length * 22 + 30) + 160);
  const H = 380;
  const m = { l: 70, r: 160, t: 40, b: 80 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const yMax = Math.max(1e-9, ...series.flatMap((s) => s.values.filter(Number.isFinite))) * 1.1;
  const groupW = pw / labels.length;
  const barW = Math.min(22, (groupW - 10) / series.length);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="20" font-size="14">${esc(opts.title)}</text>`,
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`,
    `<text x="15" y="${m.t + ph / 2}" transform="rotate(-90 15 ${m.t + ph / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const yy = m.t + ph - (ph * k) / 4;
    parts.push(`<text x="${m.l - 6}" y="${yy + 4}" text-anchor="end">${((yMax * k) / 4).toFixed(3)}</text>`);
  }
  labels.forEach((label, g) => {
    const gx = m.l + g * groupW + 5;
    series.forEach((s, i) => {
      const v = s.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const h = (v / yMax) * ph;
      parts.push(
        `<rect x="${(gx + i * barW).toFixed(1)}" y="${(m.t + ph - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"><title>${esc(s.name)} ${esc(label)}: ${v.toFixed(4)}</title></rect>`,
      );
    });
    const cx = gx + (series.length * barW) / 2;
    parts.push(
      `<text x="${cx}" y="${m.t + ph + 14}" text-anchor="end" transform="rotate(-30 ${cx} ${m.t + ph + 14})">${esc(label)}</text>`,
    );
  });
  series.forEach((s, i) => {
    parts.push(
      `<rect x="${m.l + pw + 15}" y="${m.t + i * 18}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
    );
    parts.push(`<text x="${m.l + pw + 32}" y="${m.t + i * 18 + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
