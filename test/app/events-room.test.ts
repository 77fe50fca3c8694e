import { expect, test } from "bun:test";
import { joinAcross, leave } from "../helpers/chat.ts";
import {
  fleetStatus,
  freshFetch,
  NO_EXTRAS,
  PROJECT_APP,
  startReadyFleet,
  waitFor,
} from "../helpers/fleet.ts";
import { openStream } from "../helpers/sse.ts";

test("the template's event stream carries a chat room said on another worker, counted in /admin/status while open", async () => {
  const fleet = await startReadyFleet({ env: { ...PROJECT_APP, ...NO_EXTRAS } });
  const clients = await joinAcross(fleet.port, "sse", 2, 1);
  try {
    expect((await freshFetch(fleet.url("/events?room=no%20spaces"))).status).toBe(400);
    const stream = await openStream(fleet, "/events?room=sse");
    const on = Number(/^event: hello\ndata: \{"worker":(\d+)/.exec(stream.text())?.[1]);
    const open = (await fleetStatus(fleet.url)).workers.map((p) => p.sseStreams);
    expect(open).toEqual([0, 1].map((w) => (w === on ? 1 : 0)));
    const other = clients.find((c) => c.worker !== on);
    if (!other) throw new Error("need a chat client on the other worker");
    other.ws.send("hello over SSE");
    await waitFor("the message on the stream", () => stream.text().includes("hello over SSE"));
    expect(stream.text()).toMatch(
      new RegExp(
        `\\n\\ndata: \\{"type":"message","from":"${other.name}","text":"hello over SSE","worker":${other.worker}\\}`,
      ),
    );
  } finally {
    await leave(clients);
    fleet.kill("SIGTERM");
  }
  expect(await fleet.exited).toBe(0);
});
