import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { waitFor } from "../../scripts/lib/procs.ts";
import { PubSubMesh } from "../../workers/child/pubsub-mesh.ts";
import {
  FleetPubSub,
  type MeshMember,
  sweepMeshFolders,
} from "../../workers/primary/pubsub/index.ts";
import type { Publication } from "../../workers/protocol.ts";

function recordingLog() {
  const lines: string[] = [];
  const line = (m: string) => lines.push(m);
  return { lines, log: { info: line, warn: line, error: line, debug: line } };
}

const meshes: PubSubMesh[] = [];
afterEach(() => {
  for (const mesh of meshes.splice(0)) mesh.close();
});

/** A mesh member in this process, recording what it delivers. */
function member(index: number, maxLagBytes = 1 << 20) {
  const got: Publication[] = [];
  const { lines, log } = recordingLog();
  const mesh = new PubSubMesh(
    index,
    (p) => got.push(p),
    () => {},
    log,
  );
  mesh.maxLagBytes = maxLagBytes;
  meshes.push(mesh);
  const path = mesh.listen();
  return { mesh, got, lines, path, peer: { index, pid: process.pid, path } };
}

/** Polls `done` (a 3 s deadline, every 2 ms): the kit's waitFor, with this file's pace. */
const until = (what: string, done: () => boolean) => waitFor(what, done, 3000, 2);

const pub = (data: string, topic = "t"): Publication => ({ topic, data, binary: false });

describe("pub/sub mesh", () => {
  test("a joining worker and those before it exchange publications both ways, once, in order", async () => {
    const [a, b, c] = [member(0), member(1), member(2)];
    await b.mesh.join([a.peer], 2000);
    await c.mesh.join([a.peer, b.peer], 2000);
    expect([a.mesh.size, b.mesh.size, c.mesh.size]).toEqual([2, 2, 2]);
    for (let i = 0; i < 500; i++) {
      a.mesh.publish(pub(`a${i}`));
      c.mesh.publish({ topic: "bytes", data: "AAE=", binary: true });
    }
    b.mesh.publish(pub("ünïcödé\nline"));
    await until("every message", () => a.got.length === 501 && b.got.length === 1000);
    expect(b.got.filter((p) => p.topic === "t").map((p) => p.data)).toEqual(
      Array.from({ length: 500 }, (_, i) => `a${i}`),
    );
    expect(b.got.find((p) => p.topic === "bytes")).toEqual({
      topic: "bytes",
      data: "AAE=",
      binary: true,
    });
    expect(a.got.find((p) => p.topic === "t")?.data).toBe("ünïcödé\nline");
    await until("c", () => c.got.length === 501);
    expect(a.mesh.counts).toEqual({ relayed: 1000, dropped: 0 });
  });

  test("a sibling that does not ack is cut off at the lag budget, counted and warned; a socket speaking nonsense is closed", async () => {
    const a = member(0, 1000);
    // A raw socket that says hello and then never reads or acks: a stalled worker.
    const stalled = await Bun.connect({
      unix: a.path,
      socket: {
        data() {},
        open: (s) => void s.write(`h${JSON.stringify({ index: 9, pid: 1 })}\n`),
      },
    });
    await until("the hello", () => a.mesh.size === 1);
    for (let i = 0; i < 100; i++) a.mesh.publish(pub("x".repeat(100)));
    expect(a.mesh.counts.relayed).toBe(6); // 165 bytes each against a 1000-byte budget
    expect(a.mesh.counts.dropped).toBe(94);
    expect(a.lines.filter((l) => l.includes("worker 9 (pid 1) is"))).toHaveLength(1);
    stalled.write("a990\n"); // acks all six
    await until("the ack", () => {
      a.mesh.publish(pub("y"));
      return a.mesh.counts.relayed > 6;
    });
    const caughtUp = a.lines.join("\n").match(/worker 9 \(pid 1\) caught up; (\d+) message/);
    expect(Number(caughtUp?.[1])).toBe(a.mesh.counts.dropped); // 94, and the y's sent meanwhile
    stalled.end();

    const closed = Promise.withResolvers<void>();
    const rogue = await Bun.connect({
      unix: a.path,
      socket: { data() {}, close: () => closed.resolve(), open: (s) => void s.write("p[1,2]\n") },
    });
    await closed.promise;
    expect(
      a.lines.some((l) => l.includes("closed a mesh socket that sent an unexpected line")),
    ).toBe(true);
    rogue.end();
  });

  test("close removes the socket's folder", () => {
    const a = member(0);
    expect(existsSync(a.path)).toBe(true);
    a.mesh.close();
    expect(existsSync(dirname(a.path))).toBe(false);
  });
});

describe("the primary's introductions", () => {
  const worker = (index: number): MeshMember => ({
    index,
    pid: 100 + index,
    name: `worker ${index}`,
    relay: () => {},
  });
  const config = { pubsubUrl: null, pubsubMaxLagBytes: 4096 };

  test("each worker gets those that listened before it; one that left is not handed out", () => {
    const pubsub = new FleetPubSub(config, recordingLog().log);
    const [w0, w1, w2] = [worker(0), worker(1), worker(2)];
    const path = (i: number) => `/tmp/bun-fleet-mesh-abc12${i}/${100 + i}.sock`;
    expect(pubsub.listening(w0, path(0))).toEqual({ peers: [], remote: false, maxLagBytes: 4096 });
    expect(pubsub.listening(w1, path(1))?.peers).toEqual([{ index: 0, pid: 100, path: path(0) }]);
    pubsub.left(w0);
    expect(pubsub.listening(w2, path(2))?.peers.map((p) => p.index)).toEqual([1]);
  });

  test("a path that is not a mesh socket's is refused (the primary removes its folder later)", () => {
    const { lines, log } = recordingLog();
    const pubsub = new FleetPubSub(config, log);
    for (const bad of [
      "relative/bun-fleet-mesh-abc123/100.sock",
      "/home/me",
      "/tmp/bun-fleet-mesh-abc123/../x/100.sock",
      "/tmp/bun-fleet-mesh-abc123/101.sock", // another worker's pid
      "/etc/100.sock",
    ]) {
      expect(pubsub.listening(worker(0), bad)).toBeNull();
    }
    expect(lines).toHaveLength(5);
  });

  test("at start, socket folders of workers killed with their primary are swept; live ones stay", () => {
    const tmp = mkdtempSync(`${tmpdir()}/sweep-`);
    try {
      const folder = (name: string, socket?: number) => {
        mkdirSync(`${tmp}/${name}`);
        if (socket) writeFileSync(`${tmp}/${name}/${socket}.sock`, "");
      };
      folder("bun-fleet-mesh-dead01", 99_999_999); // above any pid_max: no such process
      folder("bun-fleet-mesh-live01", process.pid);
      folder("bun-fleet-mesh-empty1"); // a worker between making it and listening
      folder("bun-fleet-other1", 99_999_999);
      expect(sweepMeshFolders(tmp)).toBe(1);
      expect(existsSync(`${tmp}/bun-fleet-mesh-dead01`)).toBe(false);
      for (const kept of ["bun-fleet-mesh-live01", "bun-fleet-mesh-empty1", "bun-fleet-other1"]) {
        expect(existsSync(`${tmp}/${kept}`)).toBe(true);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
