// Data shapes of the SVG charts.
export interface Bar {
  label: string;
  value: number;
  /** Tooltip (SVG <title>). */
  hint?: string;
}

export interface Point {
  x: number;
  y: number;
}
