/** What the numbers were measured on, so a reader can judge them (and spot a busy machine). */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

/** The machine and how busy it was around the run. */
export interface Machine {
  cores: number;
  cpuModel: string;
  bun: string;
  node: string;
  /** 1-minute load average before the first and after the last measurement. */
  loadBefore: number;
  loadAfter: number;
}

function cpuModel(): string {
  try {
    const match = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    return match?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Describes this machine; `loadAfter` is filled in by `finishMachine`. */
export async function startMachine(node: string): Promise<Machine> {
  const version = Bun.spawn([node, "--version"], { stdio: ["ignore", "pipe", "ignore"] });
  const nodeVersion = (await new Response(version.stdout).text()).trim();
  await version.exited;
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: cpuModel(),
    bun: Bun.version,
    node: nodeVersion,
    loadBefore: loadavg()[0] ?? 0,
    loadAfter: Number.NaN,
  };
}

/** The same description with the load average at the end of the run. */
export function finishMachine(machine: Machine): Machine {
  return { ...machine, loadAfter: loadavg()[0] ?? 0 };
}

/** One line for the report header. */
export function describeMachine(m: Machine): string {
  return `machine: ${m.cores} cores, ${m.cpuModel}; bun ${m.bun}, node ${m.node}; load avg ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after`;
}
