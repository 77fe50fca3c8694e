/**
 * Calibration of the CPU route: the bench picks one input size in Bun and hands it to every
 * server; each server reports what one call costs in its own runtime (`measureCpuMs`).
 */
import { cpuBytesFromEnv, cpuInput, cpuWork } from "./app.ts";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Median wall time of one `cpuWork` call over `bytes` bytes, in ms, after a short warm-up. */
export function timeCpuWork(bytes: number, samples = 21): number {
  const input = cpuInput(bytes);
  for (let i = 0; i < 5; i++) cpuWork(input);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    cpuWork(input);
    times.push(performance.now() - start);
  }
  return median(times);
}

/** What one call of the CPU route costs here, with the size from env. */
export function measureCpuMs(): number {
  return timeCpuWork(cpuBytesFromEnv(process.env));
}

/** The input size (a multiple of 1 KiB) that takes about `targetMs` per call here. */
export function calibrateCpuBytes(targetMs = 1): number {
  let bytes = 256 * 1024;
  for (let step = 0; step < 8; step++) {
    const ms = timeCpuWork(bytes);
    const next = Math.round((bytes * targetMs) / Math.max(ms, 0.001) / 1024) * 1024;
    if (Math.abs(next - bytes) / bytes < 0.03) return next;
    bytes = Math.min(Math.max(next, 1024), 1 << 30);
  }
  return bytes;
}
