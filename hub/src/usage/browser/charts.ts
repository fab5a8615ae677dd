import type uPlot from 'uplot';
import type { UsageReport } from '../../core/browser/api-types.js';
import { figure, groupWords } from './common.js';

/**
 * The Usage page's charts, drawn with uPlot (served by the hub at
 * /hub/static/vendor/uplot/, as published: the page scripts are compiled,
 * not bundled). uPlot styles its elements from script, which the CSP allows;
 * its stylesheet comes from the page's <link>.
 */
type UPlot = typeof uPlot;
let loading: Promise<UPlot> | undefined;

export function loadUPlot(): Promise<UPlot> {
  loading ??= (import('/hub/static/vendor/uplot/uPlot.esm.js' as string) as Promise<{ default: UPlot }>).then((m) => m.default);
  return loading;
}

/** Colours of the groups (stroke, fill), readable on white and for the common colour-vision deficiencies as far as eight allow. */
const PALETTE: [string, string][] = [
  ['#2d6cc0', '#b9d0ef'],
  ['#1b8a7a', '#b3e0d8'],
  ['#8a5cc2', '#d9c8ef'],
  ['#c2410c', '#f6cdb5'],
  ['#5b7f1b', '#d3e4b5'],
  ['#b0356f', '#efc2d6'],
  ['#7a6a3a', '#e2dac2'],
  ['#4b5563', '#d5d9df'],
];
const OTHERS: [string, string] = ['#8a94a6', '#e6e9ee'];
const USED = '#1d2430';
const IDLE: [string, string] = ['#b45309', '#f5c98a'];
/** More groups than this are drawn as one "everyone else" band. */
const MAX_BANDS = 7;

const HOUR = 3_600_000;

interface Drawn {
  plot: uPlot;
  observer: ResizeObserver;
}
let drawn: Drawn[] = [];

/** Remove the charts drawn before (the report is about to be replaced). */
export function destroyCharts(): void {
  for (const d of drawn) {
    d.observer.disconnect();
    d.plot.destroy();
  }
  drawn = [];
}

function keepWidth(plot: uPlot, box: HTMLElement, height: number): void {
  const observer = new ResizeObserver(() => {
    const width = box.clientWidth;
    if (width > 0 && width !== plot.width) plot.setSize({ width, height });
  });
  observer.observe(box);
  drawn.push({ plot, observer });
}

/** x values in seconds (uPlot's unit), with one more point at the end of the last bucket so a stepped line covers it. */
function xs(report: UsageReport): number[] {
  const width = report.step === 'hour' ? HOUR : 24 * HOUR;
  const out = report.buckets.map((b) => b / 1000);
  const last = report.buckets[report.buckets.length - 1];
  if (last !== undefined) out.push((last + width) / 1000);
  return out;
}
const extend = (values: number[]): number[] => [...values, values[values.length - 1] ?? 0];

/** Axis ticks exactly (figure() would round 1.25 to 1.3 and mislabel the grid). */
const tick = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });
const axisValues = (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? '' : tick.format(v)));

const axes = (label: string): uPlot.Axis[] => [
  { stroke: '#5b6678', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#dfe4ec' } },
  { stroke: '#5b6678', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#dfe4ec' }, label, labelSize: 20, size: 56, values: axisValues },
];

/**
 * CPU-hours requested in each bucket, stacked by group (largest group on top,
 * as the legend lists them), and the CPU-hours used by all of them as a line.
 * The stack is drawn as filled outlines from the top down, each group's
 * outline the sum of it and the groups below; the legend shows each group's
 * own figure.
 */
export async function drawUsageChart(box: HTMLElement, legend: HTMLElement, report: UsageReport, measured: boolean): Promise<void> {
  const U = await loadUPlot();
  if (!box.isConnected) return;
  const x = xs(report);
  const ranked = [...report.series].sort((a, b) => sum(b.requestedCpuHours) - sum(a.requestedCpuHours));
  const bands: { label: string; values: number[]; colour: [string, string] }[] = ranked.slice(0, MAX_BANDS).map((s, k) => ({ label: groupWords(s.group, report.groupBy), values: s.requestedCpuHours, colour: PALETTE[k % PALETTE.length]! }));
  const rest = ranked.slice(MAX_BANDS);
  if (rest.length) bands.push({ label: `${rest.length} more`, values: report.buckets.map((_, b) => rest.reduce((t, s) => t + (s.requestedCpuHours[b] ?? 0), 0)), colour: OTHERS });
  // Band k's outline: its own figure plus every band below it (the bands after it).
  const outlines = bands.map((_, k) => report.buckets.map((_, b) => bands.slice(k).reduce((t, band) => t + (band.values[b] ?? 0), 0)));
  const used = report.buckets.map((_, b) => report.series.reduce((t, s) => t + (s.usedCpuHours[b] ?? 0), 0));
  const stepped = U.paths.stepped!({ align: 1 });
  const own = (k: number) => (_u: uPlot, _v: number | null, _s: number, i: number | null) => (i === null ? '–' : figure(bands[k]!.values[Math.min(i, bands[k]!.values.length - 1)] ?? 0));

  const series: uPlot.Series[] = [
    { label: 'When' },
    ...bands.map((band, k): uPlot.Series => ({ label: `${band.label} (requested)`, stroke: band.colour[0], fill: band.colour[1], width: 1, paths: stepped, points: { show: false }, value: own(k) })),
  ];
  const values: (number | null)[][] = [x, ...outlines.map(extend)];
  if (measured) {
    series.push({ label: 'Used, in total', stroke: USED, width: 2, paths: stepped, points: { show: false }, value: (_u, v) => (v === null ? '–' : figure(v)) });
    values.push(extend(used));
  }
  const height = 280;
  const plot = new U(
    {
      width: Math.max(320, box.clientWidth),
      height,
      series,
      axes: axes(report.step === 'hour' ? 'CPU-hours per hour' : 'CPU-hours per day'),
      scales: { x: { time: true, range: [report.from / 1000, report.to / 1000] }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      legend: { mount: (_u, el) => legend.replaceChildren(el) },
      cursor: { drag: { x: false, y: false } },
    },
    values as uPlot.AlignedData,
    box,
  );
  keepWidth(plot, box, height);
}

/** Idle hours in each bucket: running work that used almost no CPU. */
export async function drawIdleChart(box: HTMLElement, report: UsageReport): Promise<void> {
  const U = await loadUPlot();
  if (!box.isConnected) return;
  const idle = report.buckets.map((_, b) => report.series.reduce((t, s) => t + (s.idleHours[b] ?? 0), 0));
  const height = 150;
  const plot = new U(
    {
      width: Math.max(320, box.clientWidth),
      height,
      series: [
        { label: 'When' },
        { label: 'Idle hours', stroke: IDLE[0], fill: IDLE[1], width: 1, paths: U.paths.bars!({ align: 1, size: [0.9, 48] }), points: { show: false }, value: (_u, v) => (v === null ? '–' : figure(v)) },
      ],
      axes: axes('Idle hours'),
      scales: { x: { time: true, range: [report.from / 1000, report.to / 1000] }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
    },
    [report.buckets.map((b) => b / 1000), idle] as uPlot.AlignedData,
    box,
  );
  keepWidth(plot, box, height);
}

const sum = (values: number[]) => values.reduce((t, v) => t + v, 0);

/** A y axis that starts at 0 and ends a little above the highest value (at least 1, so an all-zero chart has an axis). */
function niceMax(max: number | null): number {
  if (max === null || !(max > 0)) return 1;
  return max * 1.1;
}
