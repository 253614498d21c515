/** The bench table's row and the way its figures are written. */
import type { IdleMemory } from './memory';

export const mark = (met: boolean | null): string => (met === null ? '' : met ? '✓' : '✗');
export const ms = (value: number): string => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
export const times = (value: number | null): string => (value === null ? '–' : `${value.toFixed(2)}×`);
export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
export const mb = (value: number): string => `${value.toFixed(0)} MB`;

/** RSS by role: `npm 56 MB, sls offline 230 MB, environment ×2 90 MB`. */
export const roles = (memory: IdleMemory['median']): string =>
  Object.entries(memory.byRole)
    .map(([role, figures]) => `${role}${figures.count > 1 ? ` ×${figures.count}` : ''} ${mb(figures.rssMb)}`)
    .join(', ');

export interface Row {
  figure: string;
  value: string;
  floor: string;
  ratio: string;
  goal: string;
  met: boolean | null;
}
