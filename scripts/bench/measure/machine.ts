/** What the numbers were measured on, so a reader can judge them (and spot a busy machine). */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

/** The machine and how busy it was around the run. */
export interface Machine {
  cores: number;
  cpuModel: string;
  bun: string;
  node: string;
  /** The peers' versions, once the peers section installed them (else why not). */
  deno?: string;
  pm2?: string;
  /** 1-minute load average before the first and after the last measurement. */
  loadBefore: number;
  loadAfter: number;
  /** ISO times (UTC) of the start and the end of the run. */
  startedAt: string;
  finishedAt: string;
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
    startedAt: new Date().toISOString(),
    finishedAt: "",
  };
}

/** The same description with the load average and the time at the end of the run. */
export function finishMachine(machine: Machine): Machine {
  return { ...machine, loadAfter: loadavg()[0] ?? 0, finishedAt: new Date().toISOString() };
}

/** `2026-12-02 00:50–01:08 UTC` (the end's date too when the run crossed midnight). */
export function describeWhen(m: Machine): string {
  const [day, time] = m.startedAt.replace("Z", "").split("T");
  const [endDay, endTime] = (m.finishedAt || m.startedAt).replace("Z", "").split("T");
  const hm = (t: string | undefined) => (t ?? "").slice(0, 5);
  if (endDay === day && hm(endTime) === hm(time)) return `${day} ${hm(time)} UTC`;
  return `${day} ${hm(time)}–${endDay === day ? "" : `${endDay} `}${hm(endTime)} UTC`;
}

/**
 * The report's first two lines: what ran and when (a smoke run says so first), then the
 * machine: nproc, CPU model, the runtimes' versions, the load average at start and end.
 */
export function reportHeader(m: Machine, command: string, quick: boolean): string[] {
  const what = quick
    ? `SMOKE RUN, not a measurement: \`${command}\`, ${describeWhen(m)} (one short round of every section: the figures only show that each works)`
    : `\`${command}\`, ${describeWhen(m)}`;
  const peer = (v: string | undefined) => v ?? "not measured";
  return [
    `${what}.`,
    `Machine: nproc ${m.cores}, ${m.cpuModel}; Bun ${m.bun}, Node ${m.node}, Deno ${peer(m.deno)}, PM2 ${peer(m.pm2)}; load average (1 min) ${m.loadBefore.toFixed(2)} at start, ${m.loadAfter.toFixed(2)} at end.`,
  ];
}

/** One line for the report header. */
export function describeMachine(m: Machine): string {
  return `machine: ${m.cores} cores, ${m.cpuModel}; bun ${m.bun}, node ${m.node}; load avg ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after`;
}
